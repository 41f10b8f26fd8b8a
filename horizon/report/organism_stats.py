"""The organisms' findings judged by paired tests (horizon/stats) on the records' per-sample results; pure.

Every comparison the organisms' section makes is between two runs on the same held-out samples, so each is
paired: :func:`paired` (B against A on their shared units). ``RULES`` states the rules in the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from horizon.harness.records import Record
from horizon.schedule import sweep_point
from horizon.stats import ALPHA, MARGIN, Paired, compare, paired_values
from horizon.stats.horizon import withdraw_horizon as paired_withdraw_horizon

RULES = (
    "- **paired comparisons**: two runs on the same held-out samples are compared sample by sample "
    "(horizon/stats, scipy): the exact McNemar test on the answers that differ (a paired randomization test where "
    "a random stage's seeds average a sample's correctness), a paired-bootstrap 95% interval of the difference, "
    f"significance at p < {ALPHA:g} (two-sided). Each states the smallest difference its n could detect at power "
    f"0.8 (MDE): 'no significant difference' is said only where the MDE is at most {MARGIN:g} points, otherwise "
    "'inconclusive at n = N: detects only >= D points'.",
    "- **finding 1** (methods fall to random beyond a horizon: in the paper's words, deep-layer methods 'perform no "
    "better than random', 'similarly or even worse'), per model and task family: the *catch-up layer* is the first "
    "sweep layer from which no method is significantly ahead of random, there or at any later layer (one may be "
    "significantly behind it: the report says so); reproduced when some method is significantly ahead of random at "
    "a shallower layer and every comparison from the catch-up layer on could have detected the margin; with a "
    "significant lead but underpowered comparisons after it, inconclusive.",
    "- **finding 2** (the horizon is deeper for visually harder tasks): the fine family's horizons (information "
    "horizon of the information case, withdraw horizon of the vtw@k sweep: the first layer K from which "
    "withdrawing every visual token at any K' >= K is not significantly below the unpruned model, paired) against "
    "the global family's; reproduced when the fine family's is deeper by one measure and not shallower by the "
    "other (a horizon not reached counts as deeper than any reached one; not reached in both decides nothing).",
    "- **finding 3** (random pruning in deep layers improves methods): at an equal visual-token budget, M+random "
    "against M alone on the same samples, per method and family, for each layer random is added at; reproduced "
    "when it is ahead on average, significantly ahead somewhere and significantly behind nowhere. The paper's "
    "second comparison, random in place of withdrawing every token (M+random against M+VTW at the same budget), "
    "is judged by the same rule.",
)


def paired(a: Record, b: Record) -> Paired | None:
    """``b`` against ``a`` on the units both hold; None when either has no per-sample results or none are shared."""
    if not a.samples or not b.samples:
        return None
    try:
        _, x, y = paired_values(a.units, b.units)
    except ValueError:
        return None
    return compare(x, y)


@dataclass(frozen=True, slots=True)
class CatchUp:
    layer: int | None  # the catch-up layer (None: some method still differs from random at the last layer)
    lead: Paired | None  # the largest significant lead of a method over random before it
    lead_method: str
    lead_layer: int
    after: tuple[Paired, ...]  # every method-vs-random comparison from the catch-up layer on

    @property
    def conclusive(self) -> bool:
        """Whether every comparison from the catch-up layer on could have detected the margin."""
        return all(p.mde <= MARGIN for p in self.after)

    @property
    def behind(self) -> int:
        """How many comparisons from the catch-up layer on find a method significantly behind random."""
        return sum(p.significant and p.difference < 0 for p in self.after)

    @property
    def mde(self) -> float:
        return max((p.mde for p in self.after), default=0.0)


def catch_up(table: Mapping[str, Mapping[int, Record]], layers: Sequence[int]) -> CatchUp:
    """``table``: method -> layer -> record of one model and family's sweep at one keep ratio."""
    random = table.get("random", {})
    compared: dict[int, list[tuple[str, Paired]]] = {}
    for layer in layers:
        if layer not in random:
            continue
        pairs = [(m, paired(random[layer], v[layer])) for m, v in table.items() if m != "random" and layer in v]
        compared[layer] = [(m, p) for m, p in pairs if p is not None]
    first: int | None = None
    for layer in sorted(compared, reverse=True):
        if any(p.significant and p.difference > 0 for _, p in compared[layer]):
            break
        first = layer
    lead, lead_method, lead_layer = None, "", -1
    for layer in sorted(compared):
        if first is not None and layer >= first:
            break
        for method, p in compared[layer]:
            if p.significant and p.difference > 0 and (lead is None or p.difference > lead.difference):
                lead, lead_method, lead_layer = p, method, layer
    after = tuple(p for layer in compared if first is not None and layer >= first for _, p in compared[layer])
    return CatchUp(first, lead, lead_method, lead_layer, after)


def catch_up_outcome(c: CatchUp) -> str:
    """Finding 1's outcome on one model and family: reproduced | not reproduced | not reproduced as stated |
    inconclusive (the rule: ``RULES``)."""
    if c.layer is None:
        return "not reproduced"
    if c.lead is None:
        return "not reproduced as stated"
    return "reproduced" if c.conclusive else "inconclusive"


def catch_up_verdict(c: CatchUp, family: str) -> str:
    outcome = catch_up_outcome(c)
    if c.layer is None:
        return f"{family}: **not reproduced** (a method is still significantly ahead of random at the last layer)"
    behind = f"; {c.behind} method-layer comparisons significantly behind random" if c.behind else ""
    if c.lead is None:
        return (f"{family}: **not reproduced as stated**: no method is significantly ahead of random from layer "
                f"{c.layer} on, but none is before it either{behind}")  # fmt: skip
    lead = f"{c.lead_method} leads random by {c.lead.difference:.1f} points at layer {c.lead_layer} (p = {c.lead.p_value:.2g})"
    if outcome == "reproduced":
        return f"{family}: **reproduced** ({lead}; none significantly ahead from layer {c.layer} on{behind})"
    return (f"{family}: **inconclusive at n = {c.after[0].n}** ({lead}; none significantly ahead from layer "
            f"{c.layer} on, but those comparisons detect only >= {c.mde:.1f} points{behind})")  # fmt: skip


def withdraw_curve(by_schedule: Mapping[str, Record]) -> dict[int, Record]:
    """layer -> record of the ``vtw@k`` schedules (every visual token withdrawn from layer k on)."""
    points = {s: sweep_point(s) for s in by_schedule}
    return {p.layer: by_schedule[s] for s, p in points.items() if p is not None and p.keep is None}


def withdraw_horizon(curve: Mapping[int, Record], full: Record) -> tuple[int | None, tuple[Paired, ...]]:
    """The paired withdraw horizon (:func:`horizon.stats.horizon.withdraw_horizon`) of a ``vtw@k`` sweep's records
    against the unpruned record; (None, ()) without per-sample results."""
    if not full.samples or any(not r.samples for r in curve.values()):
        return None, ()
    return paired_withdraw_horizon(full.units, {k: r.units for k, r in curve.items()})


def budget_outcome(comparisons: Sequence[Paired]) -> str:
    """Finding 3's outcome at one placement: reproduced | inconclusive | not reproduced | not measured."""
    if not comparisons:
        return "not measured"
    mean = sum(p.difference for p in comparisons) / len(comparisons)
    ahead = sum(p.significant and p.difference > 0 for p in comparisons)
    behind = sum(p.significant and p.difference < 0 for p in comparisons)
    if mean > 0 and ahead > 0 and behind == 0:
        return "reproduced"
    if ahead == 0 and behind == 0 and max(p.mde for p in comparisons) > MARGIN:
        return "inconclusive"
    return "not reproduced"


def budget_verdict(comparisons: Sequence[Paired]) -> str:
    """Finding 3 at one placement of the random stage: M+random against M alone over methods and families."""
    outcome = budget_outcome(comparisons)
    if outcome == "not measured":
        return outcome
    mean = sum(p.difference for p in comparisons) / len(comparisons)
    ahead = sum(p.significant and p.difference > 0 for p in comparisons)
    behind = sum(p.significant and p.difference < 0 for p in comparisons)
    mde = max(p.mde for p in comparisons)
    text = (f"mean {mean:+.1f} points over {len(comparisons)} method x family pairs; {ahead} significantly ahead, "
            f"{behind} significantly behind; each detects >= {mde:.1f} points")  # fmt: skip
    head = f"inconclusive at n = {comparisons[0].n}" if outcome == "inconclusive" else outcome
    return f"**{head}** ({text})"
