"""What a benchmark is: how its rows become samples, how a model is prompted, how answers are scored."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from horizon.registry import Registry

SINGLE_WORD = "\nAnswer the question using a single word or phrase."
LETTER = "\nAnswer with the option's letter from the given choices directly."


class DatasetFormatError(ValueError):
    """A local dataset does not have the layout its benchmark expects (names the file and column)."""


@dataclass(frozen=True)
class Sample:
    """One benchmark item, decoupled from its file layout."""

    id: str
    image: bytes = field(repr=False)  # the encoded image as stored
    question: str
    target: Any  # the gold answer(s): str, list of str, or a choice index
    group: str  # items that must stay together in a subset (MME image pairs, MMBench circular groups)
    fields: Mapping[str, Any] = field(default_factory=dict)  # category, choices, hint, options, ...

    def pil(self) -> Image.Image:
        with Image.open(io.BytesIO(self.image)) as img:
            return img.convert("RGB")


@dataclass(frozen=True)
class ImageSource:
    """Images kept apart from the questions (GQA): joined on ``key_column`` = the image table's ``id_column``."""

    name: str  # the folder name under $HORIZON_DATA
    config: str  # the Hugging Face config holding the images
    id_column: str
    key_column: str


@dataclass(frozen=True)
class Benchmark:
    name: str
    dataset_id: str  # the Hugging Face dataset the layout follows (lmms-eval's)
    config: str | None
    split: str
    columns: tuple[str, ...]  # required columns
    max_new_tokens: int
    metric: str  # the headline metric, as the paper reports it
    to_sample: Callable[[Mapping[str, Any], int], Sample]
    prompt: Callable[[Sample, str], str]  # (sample, model family) -> the question text
    score: Callable[[Sequence[Sample], Sequence[str]], dict[str, float]]
    notes: str = ""
    images: ImageSource | None = None  # where the images are when rows lack an ``image`` column
    expand: Callable[[Mapping[str, Any]], list[Mapping[str, Any]]] | None = None  # one row -> several items
    until: tuple[str, ...] = ("\n\n",)  # stop strings the answer is cut at (lmms-eval's default: a blank line)
    generate: Callable[[], list[dict[str, Any]]] | None = None  # rows made here when no local data is found (synth)

    def cut(self, answer: str) -> str:
        for stop in self.until:
            answer = answer.split(stop)[0]
        return answer


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def image_bytes(cell: Any, column: str = "image") -> bytes:
    """Image bytes from a datasets Image cell ({'bytes', 'path'}) or raw bytes."""
    if isinstance(cell, dict):
        cell = cell.get("bytes")
    if not isinstance(cell, (bytes, bytearray)) or not cell:
        raise DatasetFormatError(f"column {column!r} holds no encoded image bytes (got {type(cell).__name__})")
    return bytes(cell)


def text(row: Mapping[str, Any], column: str) -> str:
    value = row[column]
    if not isinstance(value, str):
        raise DatasetFormatError(f"column {column!r} must be text, got {type(value).__name__} {value!r:.40}")
    return value


def text_list(row: Mapping[str, Any], column: str) -> list[str]:
    value = row[column]
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise DatasetFormatError(f"column {column!r} must be a list of text answers, got {value!r:.60}")
    if not value:
        raise DatasetFormatError(f"column {column!r} is an empty list of answers")
    return list(value)
