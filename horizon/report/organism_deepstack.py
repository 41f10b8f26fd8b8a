"""Does DeepStack move the information horizon? The DeepStack pair (horizon/organism/config.py ``DEEPSTACK``):
organism-qwen3-vl, organism-qwen2.5-vl's decoder and recipe as Qwen3-VL (its vision tower's extra feature levels
added to the visual rows after decoder layers 0-2), against organism-qwen2.5-vl on the same held-out samples; pure.

Per task family, as the capacity pair's (horizon/report/organism_capacity.py, whose paired horizons it reuses): the
two models' unpruned accuracy (paired), their withdraw and information horizons with 95% paired-bootstrap intervals,
and the DeepStack model's horizon minus the other's with a Bonferroni-corrected interval (B: the DeepStack model,
A: the other, in :class:`~horizon.report.organism_capacity.FamilyCapacity`). Unlike the capacity
finding nothing is presupposed: the pair is not meant to differ in accuracy, and an answer of "no difference" is
one when the intervals are narrow enough to say so.
"""

from __future__ import annotations

from collections.abc import Sequence

from horizon.organism.config import DEEPSTACK
from horizon.report.organism_capacity import AGREE, COMPARISONS, LEVEL, FamilyCapacity, capacity_table

DEEPSTACK_RULE = (
    "- **DeepStack** (does it move the horizon?), per task family: the DeepStack organism against its pair without "
    "DeepStack (the same decoder, tower width, vocabulary, visual tokens, recipe and samples). Its horizon minus the "
    f"other's, per measure (withdraw, information), with a {100 * LEVEL:g}% interval (95% Bonferroni-corrected over "
    f"the {COMPARISONS} measure x family comparisons): deeper when an interval lies above 0 for one measure and below "
    f"0 for none; shallower the other way round; conflicting when one lies above 0 and another below; no difference "
    f"when every interval lies within +-{AGREE} layer; "
    "undetermined when both models' horizons are at the last layer or beyond by every measure; inconclusive "
    "otherwise, with the widest interval, which says how large a shift its n could have shown."
)


def deepstack_pairs(models: Sequence[str]) -> list[tuple[str, str]]:
    """(with DeepStack, without) of every DeepStack pair both of whose models are in ``models``."""
    return [(with_, without) for without, with_ in DEEPSTACK.items() if with_ in models and without in models]


OUTCOMES = {"reproduced": "deeper", "shallower": "shallower", "agree": "no difference", "ceiling": "undetermined",
            "inconclusive": "inconclusive"}  # fmt: skip


def family_outcome(c: FamilyCapacity) -> str:
    """deeper | shallower | conflicting | no difference | undetermined | inconclusive | not measured. Unlike the
    capacity rule (where any shallower measure refutes), a measure deeper and another shallower is "conflicting"."""
    if not c.gaps:
        return "not measured"
    signs = {g.sign for g in c.gaps}
    return "conflicting" if {1, -1} <= signs else OUTCOMES[c.outcome]


def deepstack_outcome(families: Sequence[FamilyCapacity]) -> str:
    """Over task families: each measured family's outcome when they agree, "mixed" when some move the horizon
    and others do not or move it the other way."""
    outcomes = {family_outcome(c) for c in families} - {"not measured"}
    if not outcomes:
        return "not measured"
    return outcomes.pop() if len(outcomes) == 1 else "mixed"


def family_verdict(c: FamilyCapacity) -> str:
    if not c.gaps:
        return f"{c.family}: not measured"
    outcome = family_outcome(c)
    text = "; ".join(f"{g.measure} horizon {_h(g.b)} with DeepStack against {_h(g.a)} without, difference "
                     f"{g.point:+d} ({100 * g.level:g}% CI [{g.difference[0]:+d}, {g.difference[1]:+d}])"
                     for g in c.gaps)  # fmt: skip
    if outcome == "inconclusive":
        width = max(g.difference[1] - g.difference[0] for g in c.gaps)
        outcome += f" at n = {min(g.n for g in c.gaps)} (intervals up to {width} layers wide)"
    if c.unpruned is not None:
        text += f"; unpruned, {c.unpruned.verdict(c.weak, c.strong)}"
    if c.missing:
        text += f"; not compared: {', '.join(c.missing)}"
    return f"{c.family}: **{outcome}** ({text})"


def deepstack_verdict(families: Sequence[FamilyCapacity]) -> str:
    outcome = deepstack_outcome(families)
    if outcome == "not measured":
        return outcome
    measured = [c for c in families if c.gaps]
    return (f"**{outcome}** ({measured[0].strong} against {measured[0].weak}: "
            + "; ".join(family_verdict(c) for c in measured) + ")")  # fmt: skip


def deepstack_short(families: Sequence[FamilyCapacity]) -> str:
    parts = [f"{c.family.removeprefix('synth-')} {family_outcome(c)}" for c in families if c.gaps]
    return f"**{deepstack_outcome(families)}** ({', '.join(parts)})"


def deepstack_table(families: Sequence[FamilyCapacity]) -> list[str]:
    """The capacity table's layout for the pair: each model's unpruned accuracy and horizons, then the difference."""
    return capacity_table(families, title="DeepStack: the DeepStack organism against its pair without it",
                          difference="with - without DeepStack")  # fmt: skip


def _h(h: int | None) -> str:
    return "not reached" if h is None else f"layer {h}"
