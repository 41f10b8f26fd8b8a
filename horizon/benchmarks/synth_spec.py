"""The ``synth`` benchmarks' side of the synthetic task (rows generated in :mod:`horizon.benchmarks.synth`): how a
row becomes a sample, the prompt, the exact-match scorer per family and task, and the held-out rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from statistics import fmean
from typing import Any

from horizon.benchmarks import synth
from horizon.benchmarks.base import DatasetFormatError, Sample, image_bytes, text
from horizon.metrics import percent

SYNTH_COLUMNS = ("id", "image", "question", "answer", "task")
SYNTH_METRICS = tuple(
    percent(name)
    for name in ("accuracy", *(f"accuracy_{f}" for f in synth.FAMILIES), *(f"accuracy_{t}" for t in synth.TASKS))
)


def synth_sample(row: Mapping[str, Any], i: int) -> Sample:
    task = text(row, "task")
    try:
        fam = synth.family(task)
    except ValueError as err:
        raise DatasetFormatError(f"column 'task': {err}") from None
    sid = text(row, "id")
    fields = {"task": task, "family": fam}
    return Sample(sid, image_bytes(row["image"]), text(row, "question"), text(row, "answer"), sid, fields)


def synth_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    """Exact match (case and punctuation ignored): overall, per family (global / fine) and per task."""
    hits: dict[str, list[float]] = {}
    for s, p in zip(samples, preds, strict=True):
        ok = float(one_word(p) == one_word(s.target))
        for key in ("accuracy", f"accuracy_{s.fields['family']}", f"accuracy_{s.fields['task']}"):
            hits.setdefault(key, []).append(ok)
    return {k: 100 * fmean(v) for k, v in sorted(hits.items())}


def synth_prompt(sample: Sample, family: str) -> str:
    return sample.question + synth.PROMPT_SUFFIX


def synth_generate() -> list[dict[str, Any]]:
    """The held-out rows the organisms are scored on (no local data needed: a pure function of the seed)."""
    return synth.rows(synth.HELD_OUT_ROWS, seed=synth.HELD_OUT_SEED)


def synth_family(fam: str) -> Callable[[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Keep only the rows of one task family (``synth-global`` / ``synth-fine`` read the ``synth`` data)."""

    def keep(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        try:
            return [row] if synth.family(text(row, "task")) == fam else []
        except ValueError as err:
            raise DatasetFormatError(f"column 'task': {err}") from None

    return keep


def one_word(text_: str) -> str:
    words = text_.strip().lower().replace(".", " ").replace(",", " ").split()
    return words[0] if words else ""
