"""A case's per-sample results, as its record keeps them: each sample's id, its answer (cut short) and its unit's
value (the benchmark's scorer on that unit alone, :meth:`horizon.benchmarks.base.Benchmark.unit_values`), the
mean over seeds where a schedule runs several, so any two records of the same samples can be compared paired
(horizon/stats) and a decomposable metric recomputed without re-running."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from horizon.evaluation.loop import EvalResult

PREDICTION_CHARS = 48  # an answer longer than this is cut (records stay small; a paired test reads the values)
DIGITS = 4


def sample_rows(results: Sequence[EvalResult]) -> list[list[Any]]:
    """``[id, prediction, value]`` (``[..., group]`` where the unit is a group) per sample of the first result
    whose unit has a value in every result (a seed that failed a sample leaves it out), sorted by id."""
    if not results:
        return []
    first = results[0]
    rows = []
    for sid, prediction in sorted(first.predictions.items()):
        unit = first.groups.get(sid, sid)
        values = [r.units.get(unit) for r in results]
        if any(v is None for v in values):
            continue
        value = round(statistics.fmean(v for v in values if v is not None), DIGITS)
        rows.append([sid, prediction[:PREDICTION_CHARS], value, *([unit] if unit != sid else [])])
    return rows
