"""What a benchmark is: how its rows become samples, how a model is prompted, how answers are scored."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image

from horizon.benchmarks.wrappers import wrapper_length, wrapper_stops
from horizon.images import ImageError, decode
from horizon.metrics import Metric, kind_of, table
from horizon.protocol import DEFAULT_PROTOCOL
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
        """The decoded image; one that cannot be decoded, or that is over
        :data:`horizon.images.MAX_IMAGE_PIXELS`, is a :class:`DatasetFormatError` naming the sample."""
        try:
            return decode(self.image, f"sample {self.id}")
        except ImageError as err:
            raise DatasetFormatError(str(err)) from None


@dataclass(frozen=True)
class ImageSource:
    """Images kept apart from the questions (GQA): joined on ``key_column`` = the image table's ``id_column``."""

    name: str  # the folder name under $HORIZON_DATA
    config: str  # the Hugging Face config holding the images
    id_column: str
    key_column: str


@dataclass(frozen=True, kw_only=True)
class Variant:
    """How a benchmark runs under one protocol (horizon/protocol.py) where that protocol differs from the spec's own
    settings (lmms-eval's): a prompt, a scorer, a generation length, stop strings. ``source`` names the file and
    commit each convention was read from (docs/protocol.md)."""

    source: str
    prompt: Callable[[Sample, str], str] | None = None
    score: Callable[[Sequence[Sample], Sequence[str]], dict[str, float]] | None = None
    max_new_tokens: int | None = None
    until: tuple[str, ...] | None = None
    notes: str = ""
    scorer: str = ""  # what ``score`` implements, and where it was read (required with ``score``)

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ValueError("a benchmark variant must name its source (file and commit)")
        if self.score is not None and not self.scorer.strip():
            raise ValueError("a benchmark variant with its own scorer must name it (what it implements, file and line)")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise ValueError(f"a variant's max_new_tokens must be >= 1, got {self.max_new_tokens}")


@dataclass(frozen=True, kw_only=True)
class Benchmark:
    """One benchmark: where its data is, how a row becomes a sample, how the model is asked, how answers score.

    ``metrics`` declares every number ``score`` returns (its kind and direction, :mod:`horizon.metrics`) and
    ``headline`` the one the paper reports; tolerances, report columns and the paper's Acc./Rel. read them."""

    name: str
    dataset_id: str  # the Hugging Face dataset the layout follows (lmms-eval's)
    config: str | None = None
    split: str
    columns: tuple[str, ...]  # required columns
    max_new_tokens: int
    metrics: tuple[Metric, ...]
    headline: str  # the headline metric, as the paper reports it
    to_sample: Callable[[Mapping[str, Any], int], Sample]
    prompt: Callable[[Sample, str], str]  # (sample, model family) -> the question text
    score: Callable[[Sequence[Sample], Sequence[str]], dict[str, float]]
    scorer: str  # what ``score`` implements under ``protocol``, and where it was read; records carry it
    notes: str = ""
    images: ImageSource | None = None  # where the images are when rows lack an ``image`` column
    expand: Callable[[Mapping[str, Any]], list[Mapping[str, Any]]] | None = None  # one row -> several items
    # stop strings: the lmms-eval task's ``until`` (its default: a blank line), of which each family's lmms-eval
    # wrapper cuts some or none under that protocol (horizon/benchmarks/wrappers.py); horizon's own (``task_until``
    # False, synth) or a variant's are cut as they are
    until: tuple[str, ...] = ("\n\n",)
    task_until: bool = True
    # False: the lmms-eval task sets no length (TextVQA), so under that protocol each family's wrapper default runs
    # (new_tokens()); ``max_new_tokens`` is then only what cost estimates assume
    task_length: bool = True
    generate: Callable[[], list[dict[str, Any]]] | None = None  # rows made here when no local data is found (synth)
    group_size: int = 0  # > 0: scored on whole groups of this size only (MME's image pairs: 2); others are left out
    ids: str = "the row number"  # where sample ids come from (each must be distinct: predictions are keyed by them)
    variants: Mapping[str, Variant] = field(default_factory=dict)  # protocol name -> what differs under it
    protocol: str = DEFAULT_PROTOCOL  # the protocol this spec's prompt/score/lengths follow (see under())
    rows: int | None = None  # the split's size as stored (what a full run reads; ``horizon plan``); None: generated
    rows_source: str = ""  # where ``rows`` was read (a dataset card's num_examples, a count), and how sure it is
    # the paired statistics' unit (horizon/stats): a sample, or the samples of one group (MME's image pair, MMBench's
    # circular group); its value is ``unit_metric`` (default: the headline) scored on it alone, over ``unit_scale``
    unit_metric: str = ""
    unit_scale: float = 100.0  # ``unit_metric`` of one fully correct unit (100 for a percentage)

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip().lower() or " " in self.name:
            raise ValueError(f"benchmark name {self.name!r} must be a lowercase word (e.g. 'textvqa-ocr')")
        if not self.columns:
            raise ValueError(f"benchmark {self.name!r} declares no required columns")
        if not self.scorer.strip():
            raise ValueError(f"benchmark {self.name!r} must name its scorer (what it implements, file and line)")
        if self.max_new_tokens < 1:
            raise ValueError(f"benchmark {self.name!r}: max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.group_size < 0:
            raise ValueError(f"benchmark {self.name!r}: group_size must be >= 0, got {self.group_size}")
        if self.rows is not None and (self.rows < 1 or not self.rows_source.strip()):
            raise ValueError(f"benchmark {self.name!r}: rows must be >= 1 and name its source, got {self.rows} "
                             f"from {self.rows_source!r}")  # fmt: skip
        if self.unit_scale <= 0:
            raise ValueError(f"benchmark {self.name!r}: unit_scale must be > 0, got {self.unit_scale}")
        names = table(self.metrics)  # refuses duplicates
        if self.unit_metric and self.unit_metric not in names:
            raise ValueError(f"benchmark {self.name!r}: unit metric {self.unit_metric!r} is not declared in "
                             f"{', '.join(names)}")  # fmt: skip
        if self.headline not in names:
            raise ValueError(
                f"benchmark {self.name!r}: headline metric {self.headline!r} is not declared in {', '.join(names)}"
            )

    def under(self, protocol: str) -> Benchmark:
        """This benchmark as ``protocol`` runs it: its variant's prompt, scorer, generation length and stop strings
        in place of the spec's own; the spec itself when the protocol defines no variant for it (the metric names
        never change, so a report reads either)."""
        variant = self.variants.get(protocol)
        if protocol == self.protocol:
            return self
        own = variant is not None and variant.score is not None
        scorer = variant.scorer if variant is not None and own else fallback_scorer(self.scorer, protocol, self.name)
        if variant is None:
            return replace(self, protocol=protocol, scorer=scorer)
        return replace(
            self,
            prompt=variant.prompt or self.prompt,
            score=variant.score or self.score,
            scorer=scorer,
            max_new_tokens=variant.max_new_tokens or self.max_new_tokens,
            until=self.until if variant.until is None else variant.until,
            notes=variant.notes or self.notes,
            protocol=protocol,
        )

    @property
    def declared(self) -> dict[str, Metric]:
        """name -> every metric ``score`` may return."""
        return table(self.metrics)

    @property
    def headline_metric(self) -> Metric:
        return self.declared[self.headline]

    @property
    def unit_mean_is_headline(self) -> bool:
        """Whether the headline is 100 x the mean of the unit values (every mean-type percentage; not MME's total,
        which weights categories equally, nor POPE's F1): then a paired test of units tests the headline itself."""
        return self.unit_of == self.headline and self.headline_metric.kind == "percent" and self.unit_scale == 100.0

    @property
    def unit_of(self) -> str:
        """The declared metric a unit's value is read from."""
        return self.unit_metric or self.headline

    def unit_values(self, samples: Sequence[Sample], predictions: Sequence[str]) -> dict[str, float]:
        """Each unit's value in [0, 1]: its samples (one group) scored alone by :attr:`score`, ``unit_of`` over
        ``unit_scale``. Keyed by group (a sample's id where it is its own group); a group scored on whole groups
        (``group_size``) but incomplete here is left out."""
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(samples):
            groups.setdefault(s.group, []).append(i)
        out = {}
        for group, rows in groups.items():
            if self.group_size and len(rows) != self.group_size:
                continue
            value = self.score([samples[i] for i in rows], [predictions[i] for i in rows])[self.unit_of]
            out[group] = min(max(value / self.unit_scale, 0.0), 1.0)
        return out

    def checked_scores(self, scores: Mapping[str, float]) -> dict[str, float]:
        """``scores`` as ``score`` returned them, refusing a metric the spec does not declare."""
        declared = self.declared
        for name in scores:
            kind_of(name, declared, f"the {self.name} spec (horizon/benchmarks/registry.py)")
        return dict(scores)

    def samples_of(self, rows: Iterable[Mapping[str, Any]]) -> list[Sample]:
        """Rows held in memory as samples: each expanded as the spec expands it, numbered in order (files on disk go
        through :func:`horizon.benchmarks.samples.load_samples`)."""
        items = [item for row in rows for item in (self.expand(row) if self.expand is not None else [row])]
        return [self.to_sample(item, i) for i, item in enumerate(items)]

    def new_tokens(self, family: str) -> int:
        """The answer length a ``family`` model runs at under this benchmark's protocol."""
        if self.protocol == DEFAULT_PROTOCOL and not self.task_length:
            return wrapper_length(family)
        return self.max_new_tokens

    def stops(self, family: str) -> tuple[str, ...]:
        """The strings a ``family`` model's answer is cut at under this benchmark's protocol."""
        if self.protocol == DEFAULT_PROTOCOL and self.task_until:
            return wrapper_stops(family, self.until)
        return tuple(s for s in self.until if s)

    def cut(self, answer: str, family: str) -> str:
        """The answer as the protocol's reference scores it: cut at :meth:`stops`, then stripped (lmms-eval's
        ``Task.process_results`` strips every answer, the release strips its outputs)."""
        for stop in self.stops(family):
            answer = answer.split(stop)[0]
        return answer.strip()


FALLBACK = "fallback: "


def fallback_scorer(scorer: str, protocol: str, benchmark: str) -> str:
    """How a record names the spec's own scorer where ``protocol``'s source has none for ``benchmark``."""
    return f"{scorer} ({FALLBACK}the {protocol} protocol's source scores no {benchmark})"


def is_fallback(scorer: str) -> bool:
    """Whether a record's ``scorer`` is another protocol's, standing in (:func:`fallback_scorer`)."""
    return f"({FALLBACK}" in scorer


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def image_bytes(cell: Any, column: str = "image") -> bytes:
    """Image bytes from a datasets Image cell ({'bytes', 'path'}) or raw bytes."""
    path = cell.get("path") if isinstance(cell, dict) else None
    if isinstance(cell, dict):
        cell = cell.get("bytes")
    if not isinstance(cell, (bytes, bytearray)) or not cell:
        if path:
            raise DatasetFormatError(
                f"column {column!r} holds only a path ({path!r}), not the encoded image: horizon reads images "
                "stored in the data files (datasets' Dataset.save_to_disk or push_to_hub embed them)"
            )
        raise DatasetFormatError(f"column {column!r} holds no encoded image bytes (got {type(cell).__name__})")
    return bytes(cell)


def _cell(row: Mapping[str, Any], column: str) -> Any:
    if column not in row:
        raise DatasetFormatError(f"column {column!r} is missing (the row has {', '.join(map(repr, row))})")
    return row[column]


def text(row: Mapping[str, Any], column: str) -> str:
    value = _cell(row, column)
    if not isinstance(value, str):
        raise DatasetFormatError(f"column {column!r} must be text, got {type(value).__name__} {value!r:.40}")
    return value


def text_list(row: Mapping[str, Any], column: str) -> list[str]:
    value = _cell(row, column)
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise DatasetFormatError(f"column {column!r} must be a list of text answers, got {value!r:.60}")
    if not value:
        raise DatasetFormatError(f"column {column!r} is an empty list of answers")
    return list(value)


def ident(row: Mapping[str, Any], column: str) -> str:
    """A sample id from ``column``: text or an integer, never empty (an id names the sample's prediction)."""
    value = _cell(row, column)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise DatasetFormatError(f"column {column!r} must be a non-empty id (text or an integer), got {value!r:.40}")
    return str(value)
