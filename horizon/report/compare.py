"""Two runs compared, paired on the samples both hold (``horizon compare``); pure.

A run is a suite record or a ``horizon eval --json`` file (:mod:`horizon.report.runs`). Two single runs are compared
directly, whatever their models or schedules (that is the question: my schedule against random on the same
samples), if they ran the same benchmark under the same protocol. Folders of runs are matched by case id (an eval
file's name has the same form, :func:`horizon.report.runs.run_name`; a stand-in's with stand-ins only).

Each pair is compared on the units both hold with :func:`horizon.stats.compare`, B against A, and worded by
:meth:`horizon.stats.Paired.verdict`, the rule the suite's report uses (docs/statistics.md). Units whose values are
all equal, with the same answers, are "identical": no test is needed to say so. Every metric is shown with A, B and
B-A; the paired numbers belong to the one the units measure (:func:`measured`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from horizon.benchmarks.registry import BENCHMARKS
from horizon.report.runs import SUITE, Run, same_answers
from horizon.stats import ALPHA, Paired, compare

KINDS = ("identical", "same", "ahead", "behind", "inconclusive", "not compared")
QUIET = ("identical", "same")  # what the default listing leaves out (--all shows them)


@dataclass(frozen=True, slots=True)
class MetricRow:
    metric: str
    a: float | None
    b: float | None
    paired: bool  # the metric the units measure: the comparison's paired numbers are its

    @property
    def difference(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class Comparison:
    case: str
    a: Run
    b: Run
    measured: str  # what the paired units measure
    metrics: tuple[MetricRow, ...]
    paired: Paired | None = None  # None: not compared (``why``)
    identical: bool = False  # every shared unit's value and answer the same
    why: str = ""
    units_only_a: int = 0  # units one side holds and the other does not (not paired)
    units_only_b: int = 0

    @property
    def kind(self) -> str:
        p = self.paired
        if p is None:
            return "not compared"
        if self.identical:
            return "identical"
        if p.significant:
            return "ahead" if p.difference > 0 else "behind"
        return "same" if p.same else "inconclusive"

    @property
    def verdict(self) -> str:
        if self.paired is None:
            return f"not compared: {self.why}"
        if self.identical:
            return f"identical: every one of the {self.paired.n} shared units has the same value and answer"
        return self.paired.verdict("A", "B")

    @property
    def partial(self) -> list[str]:
        """Each side that is partial, as "A is partial: N of M samples"."""
        return [f"{side} is {r.partial_note}" for side, r in (("A", self.a), ("B", self.b)) if r.partial]

    @property
    def headline(self) -> tuple[float | None, float | None]:
        name = _unit_metric(self.a.benchmark)[1]
        return self.a.metrics.get(name or ""), self.b.metrics.get(name or "")


def measured(benchmark: str) -> str:
    """What a benchmark's units measure: its headline, or the metric each unit is scored by."""
    bench = BENCHMARKS.get(benchmark)
    if bench.unit_mean_is_headline:
        return bench.headline
    unit = "answer" if not bench.group_size else "group"
    return f"{bench.unit_of} per {unit} (the headline {bench.headline} is not their mean)"


def _unit_metric(benchmark: str) -> tuple[str | None, str | None]:
    """(the metric the units are read from, the headline); (None, None) for a benchmark unknown here (a plugin's)."""
    try:
        bench = BENCHMARKS.get(benchmark)
    except ValueError:
        return None, None
    return bench.unit_of, bench.headline


def check_pairable(a: Run, b: Run) -> None:
    """Two runs compared directly must share a benchmark, a protocol and stand-in-ness (models and schedules may
    differ: that is what is compared)."""
    for what, x, y in (("benchmark", a.benchmark, b.benchmark), ("protocol", a.protocol, b.protocol),
                       ("stand-in", a.stand_in, b.stand_in)):  # fmt: skip
        if x != y:
            raise ValueError(f"A ({a.source}) and B ({b.source}) differ in {what}: {x!r} against {y!r}; a paired "
                             f"comparison needs the same samples, scored the same way (same benchmark and protocol; "
                             "stand-ins against stand-ins)")  # fmt: skip


def compare_pair(case: str, a: Run, b: Run, alpha: float = ALPHA) -> Comparison:
    """B against A on the units both hold, every metric beside."""
    unit, headline = _unit_metric(a.benchmark)
    names = sorted(set(a.metrics) | set(b.metrics), key=lambda m: (m != unit, m != headline, m))
    rows = tuple(MetricRow(m, a.metrics.get(m), b.metrics.get(m), m == unit) for m in names)
    what = measured(a.benchmark) if unit else f"unit values (benchmark {a.benchmark!r} is unknown here)"
    base = Comparison(case, a, b, what, rows)
    if "information" in (a.schedule, b.schedule):  # its metrics are the study's numbers, no answers
        return Comparison(case, a, b, "information study", (), why="an information study: no answers")
    for side, r in (("A", a), ("B", b)):
        if not r.units:
            older = " (written before they were kept)" if r.written_by == SUITE else ""
            return replace(base, why=f"{side}'s {r.written_by} has no per-sample results{older}: {r.source}")
    shared = sorted(set(a.units) & set(b.units))
    if not shared:
        return replace(base, why="the two runs share no unit: nothing to pair (different benchmarks or subsets?)")
    va, vb = [a.units[u] for u in shared], [b.units[u] for u in shared]
    return replace(base, paired=compare(va, vb, alpha=alpha), identical=va == vb and same_answers(a, b),
                 units_only_a=len(a.units) - len(shared), units_only_b=len(b.units) - len(shared))  # fmt: skip


def _label(a: Run, b: Run) -> str:
    """A direct pair's name: the case where both are one, else what differs."""
    if a.name == b.name:
        return a.name
    differ = [f"{k} {x} vs {y}" for k, x, y in (("model", a.model, b.model), ("schedule", a.schedule, b.schedule))
              if x != y]  # fmt: skip
    return f"{a.benchmark}: {', '.join(differ) or f'{a.name} vs {b.name}'}"


def _index(runs: Sequence[Run], side: str) -> dict[tuple[bool, str], Run]:
    out: dict[tuple[bool, str], Run] = {}
    for r in runs:
        seen = out.get(r.key)
        if seen is not None and not (seen.written_by == r.written_by == SUITE and seen.device == r.device):
            where = (f"from two devices ({seen.device}, {r.device}): compare one device's records at a time "
                     "(results/<device>/)" if seen.written_by == r.written_by == SUITE else
                     f"twice ({seen.source}, {r.source}): compare them as single files, or keep one per folder")  # fmt: skip
            raise ValueError(f"{side} holds {r.name} {where}")
        out[r.key] = r  # a record copied from another machine into the same folder: one of them
    return out


def compare_runs(a: Sequence[Run], b: Sequence[Run], alpha: float = ALPHA, *, direct: bool = False
                 ) -> tuple[list[Comparison], list[str], list[str]]:  # fmt: skip
    """(the comparisons, the runs only A holds, only B holds). ``direct``: ``a`` and ``b`` are one run each, compared
    whatever their names (see :func:`check_pairable`); else runs are matched by case id."""
    if direct:
        if len(a) != 1 or len(b) != 1:
            raise ValueError(f"a direct comparison takes one run a side, got {len(a)} and {len(b)}")
        check_pairable(a[0], b[0])
        return [compare_pair(_label(a[0], b[0]), a[0], b[0], alpha)], [], []
    ia, ib = _index(a, "A"), _index(b, "B")
    out = [compare_pair(ia[k].name + (" (stand-in)" if k[0] else ""), ia[k], ib[k], alpha)
           for k in sorted(set(ia) & set(ib), key=lambda k: (k[1], k[0]))]  # fmt: skip
    return out, sorted(k[1] for k in set(ia) - set(ib)), sorted(k[1] for k in set(ib) - set(ia))
