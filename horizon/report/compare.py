"""Two runs' records compared case by case, paired on the samples both hold (``horizon compare``); pure.

Records are matched by case id (a stand-in's with stand-ins only). Each pair is compared on the units both
records hold (:attr:`horizon.harness.records.Record.units`) with :func:`horizon.stats.compare`: B against A. What the
units measure is said per case: the headline itself where it is the units' mean, else the unit metric (MME's
acc + acc+ per image pair, POPE's accuracy per answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from horizon.benchmarks.registry import BENCHMARKS
from horizon.harness.records import Record
from horizon.stats import ALPHA, Paired, compare, paired_values


@dataclass(frozen=True, slots=True)
class CaseComparison:
    case: str
    measured: str  # what the paired units measure
    a: float | None  # each record's headline value
    b: float | None
    paired: Paired | None  # None: not compared (``why``)
    why: str = ""


def measured(benchmark: str) -> str:
    """What a benchmark's units measure: its headline, or the metric each unit is scored by."""
    bench = BENCHMARKS.get(benchmark)
    if bench.unit_mean_is_headline:
        return bench.headline
    unit = "answer" if not bench.group_size else "group"
    return f"{bench.unit_of} per {unit} (the headline {bench.headline} is not their mean)"


def _index(records: Sequence[Record], side: str) -> dict[tuple[bool, str], Record]:
    out: dict[tuple[bool, str], Record] = {}
    for r in records:
        key = (bool(r.stand_in), r.case)
        if key in out and out[key].device != r.device:
            raise ValueError(f"{side} holds {r.case} from two devices ({out[key].device}, {r.device}): compare one "
                             "device's records at a time (results/<device>/)")  # fmt: skip
        out[key] = r
    return out


def compare_records(
    a: Sequence[Record], b: Sequence[Record], alpha: float = ALPHA
) -> tuple[list[CaseComparison], list[str], list[str]]:
    """(the comparisons of the cases both sides hold, the case ids only A holds, only B holds)."""
    ia, ib = _index(a, "A"), _index(b, "B")
    out = []
    for key in sorted(set(ia) & set(ib), key=lambda k: (k[1], k[0])):
        ra, rb = ia[key], ib[key]
        case = ra.case + (" (stand-in)" if key[0] else "")
        if ra.schedule == "information":
            out.append(CaseComparison(case, "information study", None, None, None, "an information study: no answers"))
            continue
        name = BENCHMARKS.get(ra.benchmark).headline
        ha, hb = ra.metrics.get(name), rb.metrics.get(name)
        if not ra.samples or not rb.samples:
            older = "A" if not ra.samples else "B"
            out.append(CaseComparison(case, measured(ra.benchmark), ha, hb, None,
                                      f"{older}'s record has no per-sample results (written before they were kept)"))  # fmt: skip
            continue
        try:
            _, va, vb = paired_values(ra.units, rb.units)
        except ValueError as err:
            out.append(CaseComparison(case, measured(ra.benchmark), ha, hb, None, str(err)))
            continue
        out.append(CaseComparison(case, measured(ra.benchmark), ha, hb, compare(va, vb, alpha=alpha)))
    only_a = sorted(k[1] for k in set(ia) - set(ib))
    only_b = sorted(k[1] for k in set(ib) - set(ia))
    return out, only_a, only_b
