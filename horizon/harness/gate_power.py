"""How small a drop each baseline gate catches, measured by planting drops into real records (``horizon baselines
--power``), and how many of those records an honest re-run flags (false alarms).

For a record whose benchmark's headline is the mean of its units and whose units are all 0 or 1 (the organisms'
synth accuracy), ``k`` of its right answers are turned wrong (the first ``k`` in unit order), for k = 1, 2, ...;
the *band* catches the drop when the headline leaves its binomial band (:func:`horizon.harness.baselines.band`), the
*gate* as a baseline check now runs it when the band or :func:`horizon.stats.gate.paired_gate` fails. The smallest caught ``k``, as points, is each
gate's smallest caught drop for that case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from horizon.benchmarks.registry import BENCHMARKS
from horizon.harness.baselines import BaselineError, BaselineFile, CaseBaseline, Tolerance, band, load
from horizon.harness.check import baseline_path, problems_of
from horizon.harness.records import Record
from horizon.stats.gate import paired_gate


@dataclass(frozen=True, slots=True)
class GatePower:
    case: str
    group: str  # model and benchmark
    n: int
    band_drop: float | None  # the smallest planted drop (points) the band catches; None: not even all answers
    gate_drop: float | None  # ... the band or the paired gate catches (the check as it runs)
    false_alarm: bool  # the record as it is fails its baseline


def planted(units: Mapping[str, float], k: int) -> dict[str, float]:
    """``units`` with their first ``k`` right answers (unit order) turned wrong."""
    out, left = dict(units), k
    for unit in sorted(units):
        if left == 0:
            break
        if out[unit] == 1.0:
            out[unit], left = 0.0, left - 1
    return out


def smallest_caught(units: Mapping[str, float], caught: Callable[[Mapping[str, float]], bool]) -> float | None:
    """The smallest drop (points) ``caught(planted units)`` catches; None when none does."""
    right = int(sum(units.values()))
    for k in range(1, right + 1):
        if caught(planted(units, k)):
            return 100.0 * k / len(units)
    return None


def gate_power(records: Sequence[Record], root: Path) -> list[GatePower]:
    """:class:`GatePower` of every record with binary units of a mean-type headline and a baseline entry."""
    files: dict[Path, BaselineFile | None] = {}
    out = []
    for r in records:
        bench = BENCHMARKS.get(r.benchmark)
        units = r.units
        if r.schedule == "information" or not units or not bench.unit_mean_is_headline:
            continue
        if any(v not in (0.0, 1.0) for v in units.values()):
            continue  # seeds averaged: the planted-flip arithmetic below is for single answers
        path = baseline_path(root, r)
        if path not in files:
            try:
                files[path] = load(path, root) if path.exists() else None
            except BaselineError:
                files[path] = None
        bf = files[path]
        expected = None if bf is None else bf.cases.get(r.case)
        if bf is None or expected is None:
            continue
        out.append(_measure(r, units, expected, bf.tolerance))
    return out


def _measure(r: Record, units: Mapping[str, float], expected: CaseBaseline, tol: Tolerance) -> GatePower:
    bench = BENCHMARKS.get(r.benchmark)
    n, base = len(units), expected.units
    want = expected.metrics[bench.headline]
    width = band("percent", want, expected.n, tol)

    def by_band(u: Mapping[str, float]) -> bool:
        return want - 100.0 * sum(u.values()) / n > width + 1e-9

    def by_gate(u: Mapping[str, float]) -> bool:  # the gate as a baseline check runs it: the band, or paired
        return by_band(u) or (base is not None and bool(paired_gate(r.case, bench.unit_of, base, u, tol.paired_alpha)))

    return GatePower(r.case, f"{r.model} {r.benchmark}", n, smallest_caught(units, by_band),
                     smallest_caught(units, by_gate) if base else None, bool(problems_of(r, expected, tol)))  # fmt: skip
