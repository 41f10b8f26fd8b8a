"""The capacity finding on the organisms (the paper, Sec. 4.2: the horizon is "strongly correlated with model
capacity", a model with stronger visual capability using visual tokens from deeper layers): an organism against
its weaker sibling (horizon/organism/config.py ``WEAKER``), on the same held-out samples; pure.

Per task family: the two models' unpruned accuracy (paired: the pair must differ in capacity), and their withdraw
and information horizons side by side, each with a 95% paired-bootstrap interval, and the interval of the
stronger model's horizon minus the weaker one's (:func:`horizon.stats.horizon.paired_horizons`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tabulate import tabulate

from horizon.harness.records import Record
from horizon.information.analysis import information_horizon
from horizon.organism.config import WEAKER
from horizon.report.organism_stats import paired, withdraw_curve
from horizon.stats import Paired
from horizon.stats.horizon import (
    BOOTSTRAP_RULE,
    HorizonGap,
    as_layer,
    paired_horizons,
    withdraw_columns,
    withdraw_rows_horizon,
)

MEASURES = ("withdraw", "information")
COMPARISONS = len(MEASURES) * 2  # measures x task families a verdict combines
LEVEL = 1 - 0.05 / COMPARISONS  # the difference's interval: 95% Bonferroni-corrected over those comparisons
AGREE = 1  # layers: a difference interval within +-AGREE says the horizons agree

CAPACITY_RULE = (
    "- **capacity** (the stronger model's horizon is deeper), per task family: the stronger organism against its "
    "weaker sibling (the same architecture, visual tokens and samples; less training), whose unpruned accuracy must "
    "be significantly lower (paired), else the family decides nothing. The stronger model's horizon minus the "
    f"weaker one's, per measure (withdraw, information), with a {100 * LEVEL:g}% interval (95% Bonferroni-corrected "
    f"over the {COMPARISONS} measure x family comparisons the verdict combines): reproduced when it lies above 0 for "
    "one measure and below 0 for none; not reproduced when it lies below 0 for one, or when every interval lies "
    f"within +-{AGREE} layer (the horizons agree); undetermined when neither holds and both models' horizons are at "
    "the last layer or beyond by every measure (the depth hides any difference); inconclusive otherwise (intervals "
    "too wide). "
    "Caveat: a withdraw horizon is shallower wherever a model has little to lose (a task at chance). "
    f"{BOOTSTRAP_RULE[0].upper()}{BOOTSTRAP_RULE[1:]}."
)


@dataclass(frozen=True, slots=True)
class FamilyCapacity:
    family: str
    strong: str
    weak: str
    unpruned: Paired | None  # the stronger against the weaker, unpruned, paired
    gaps: tuple[HorizonGap, ...]  # B: the stronger model, A: the weaker (withdraw, then information)
    missing: tuple[str, ...] = ()  # measures that could not be compared (no records, or no per-sample results)

    @property
    def differs(self) -> bool:
        """The pair differs in capacity on this family: the stronger model significantly ahead, unpruned."""
        return self.unpruned is not None and self.unpruned.significant and self.unpruned.difference > 0

    @property
    def outcome(self) -> str:
        """reproduced | shallower | agree | ceiling | inconclusive (of a family whose pair ``differs``)."""
        signs = [g.sign for g in self.gaps]
        if any(s < 0 for s in signs):
            return "shallower"
        if any(s > 0 for s in signs):
            return "reproduced"
        if all(min(as_layer(g.a, g.depth), as_layer(g.b, g.depth)) >= g.depth - 1 for g in self.gaps):
            return "ceiling"  # both at the last layer or beyond: no room to be deeper
        if all(-AGREE <= g.difference[0] and g.difference[1] <= AGREE for g in self.gaps):
            return "agree"
        return "inconclusive"


def pairs(models: Sequence[str]) -> list[tuple[str, str]]:
    """(stronger, weaker) of every sibling pair both of whose models are in ``models``."""
    return [(strong, weak) for strong, weak in WEAKER.items() if strong in models and weak in models]


def family_capacity(strong: str, weak: str, family: str, runs: Mapping[str, Mapping[str, Record]],
                    studies: Mapping[str, Mapping[str, Any]], depth: int) -> FamilyCapacity:  # fmt: skip
    """``runs``: model -> schedule -> record (``full`` and ``vtw@k``) of ``family``; ``studies``: model -> its
    information study of ``family`` (either may be missing a model: that measure is left out); ``depth``: the
    models' decoder layers (a horizon not reached counts as this)."""
    full_strong, full_weak = runs.get(strong, {}).get("full"), runs.get(weak, {}).get("full")
    unpruned = None if full_strong is None or full_weak is None else paired(full_weak, full_strong)
    gaps: dict[str, HorizonGap | None] = {}
    w_weak, w_strong = _withdraw_rows(runs.get(weak, {})), _withdraw_rows(runs.get(strong, {}))
    gaps["withdraw"] = None if w_weak is None or w_strong is None else _gap("withdraw", w_weak, w_strong, depth)
    i_weak, i_strong = (_information_rows(studies[m]) if m in studies else None for m in (weak, strong))
    gaps["information"] = None if i_weak is None or i_strong is None else _gap("information", i_weak, i_strong, depth)
    return FamilyCapacity(family, strong, weak, unpruned, tuple(g for g in gaps.values() if g is not None),
                          tuple(m for m, g in gaps.items() if g is None))  # fmt: skip


Rows = tuple[list[str], list[int], np.ndarray]  # units, layers, one row per unit


def _withdraw_rows(by_schedule: Mapping[str, Record]) -> Rows | None:
    """[unpruned, withdrawn at each layer] per unit, from the ``full`` and ``vtw@k`` records."""
    full = by_schedule.get("full")
    curve = withdraw_curve(by_schedule)
    if full is None or not curve or not full.samples or any(not r.samples for r in curve.values()):
        return None
    return withdraw_columns(full.units, {k: r.units for k, r in curve.items()})


def _information_rows(study: Mapping[str, Any]) -> Rows | None:
    """Each sample's mean information at each layer, from a study's ``sample_means``."""
    means = study.get("sample_means") or {}
    if not means or not any(abs(x) > 0 for x in study["mean"]):  # no information at all: no horizon to speak of
        return None
    units = sorted(means)
    return units, [int(x) for x in study["layers"]], np.array([means[u] for u in units], dtype=float)


def _horizon(measure: str, layers: list[int]) -> Callable[[np.ndarray], int | None]:
    """The rule of ``measure`` on a set of rows (a bootstrap resample or the samples themselves)."""
    if measure == "withdraw":
        memo: dict[tuple[int, int], float] = {}
        return lambda rows: withdraw_rows_horizon(layers, rows, memo)
    return lambda rows: information_horizon(layers, [float(x) for x in rows.mean(0)])


def _gap(measure: str, weak: Rows, strong: Rows, depth: int) -> HorizonGap | None:
    """The stronger model's horizon (B) against the weaker one's (A) on the units both hold."""
    (units_a, layers_a, rows_a), (units_b, layers_b, rows_b) = weak, strong
    shared = sorted(set(units_a) & set(units_b))
    if not shared or layers_a != layers_b:
        return None
    ia, ib = {u: k for k, u in enumerate(units_a)}, {u: k for k, u in enumerate(units_b)}
    a, b = rows_a[[ia[u] for u in shared]], rows_b[[ib[u] for u in shared]]
    return paired_horizons(measure, a, b, _horizon(measure, layers_a), depth, level=LEVEL)


def family_verdict(c: FamilyCapacity) -> str:
    if c.unpruned is None or not c.gaps:
        return f"{c.family}: not measured"
    if not c.differs:
        why = (f"the weaker sibling is the more accurate here: {c.unpruned.verdict(c.weak, c.strong)}"
               if c.unpruned.significant else
               f"the pair does not differ in capacity here: {c.strong} against {c.weak} unpruned, "
               f"{c.unpruned.verdict(c.weak, c.strong)}")  # fmt: skip
        return f"{c.family}: **undetermined** ({why})"
    text = "; ".join(f"{g.measure} horizon {_h(g.b, g.depth)} against {_h(g.a, g.depth)}, difference "
                     f"{g.point:+d} ({100 * g.level:g}% CI [{g.difference[0]:+d}, {g.difference[1]:+d}])"
                     for g in c.gaps)  # fmt: skip
    if c.missing:
        text += f"; not compared: {', '.join(c.missing)}"
    heads = {
        "reproduced": "**reproduced**",
        "shallower": "**not reproduced**: the stronger model's horizon is shallower",
        "agree": f"**not reproduced**: the two models' horizons agree within {AGREE} layer",
        "ceiling": "**undetermined**: both models' horizons are at the last layer or beyond (the depth hides any "
                   "difference)",
        "inconclusive": f"**inconclusive at n = {min(g.n for g in c.gaps)}**: no interval separates the horizons, "
                        "and they are too wide to say they agree",
    }  # fmt: skip
    return f"{c.family}: {heads[c.outcome]} ({text})"


def family_outcome(c: FamilyCapacity) -> str:
    """One family's outcome in a word or two: reproduced | not reproduced | undetermined | inconclusive | not
    measured (the rule: ``CAPACITY_RULE``)."""
    if c.unpruned is None or not c.gaps:
        return "not measured"
    if not c.differs:
        return "undetermined"
    return {"reproduced": "reproduced", "shallower": "not reproduced", "agree": "not reproduced",
            "ceiling": "undetermined", "inconclusive": "inconclusive"}[c.outcome]  # fmt: skip


def capacity_outcome(families: Sequence[FamilyCapacity]) -> str:
    """Over task families: reproduced when some family reproduces it and none finds the opposite (shallower or
    agreeing horizons); not reproduced when some does and none reproduces it; mixed (not reproduced) when both;
    inconclusive or undetermined otherwise; not measured without a measured family."""
    measured = [c for c in families if c.unpruned is not None and c.gaps]
    if not measured:
        return "not measured"
    outcomes = {c.outcome for c in measured if c.differs}
    against = outcomes & {"shallower", "agree"}
    if "reproduced" in outcomes and not against:
        return "reproduced"
    if against and "reproduced" not in outcomes:
        return "not reproduced"
    if "reproduced" in outcomes:
        return "mixed (not reproduced)"
    return "inconclusive" if "inconclusive" in outcomes else "undetermined"


def capacity_verdict(families: Sequence[FamilyCapacity]) -> str:
    """:func:`capacity_outcome`, with each measured family's verdict."""
    outcome = capacity_outcome(families)
    if outcome == "not measured":
        return outcome
    measured = [c for c in families if c.unpruned is not None and c.gaps]
    head = "**mixed** (not reproduced)" if outcome.startswith("mixed") else f"**{outcome}**"
    parts = [family_verdict(c) for c in measured]
    return f"{head} ({measured[0].strong} against {measured[0].weak}: " + "; ".join(parts) + ")"


def _h(h: int | None, depth: int) -> str:
    return "not reached" if h is None else f"layer {h}"


def _span(interval: tuple[int, int], depth: int) -> str:
    return "[" + ", ".join("not reached" if x >= depth else str(x) for x in interval) + "]"


def capacity_table(families: Sequence[FamilyCapacity], title: str = "Capacity: each organism against its weaker "
                   "sibling", difference: str = "stronger - weaker") -> list[str]:  # fmt: skip
    """Markdown lines: per family, each model's unpruned accuracy and horizons with intervals, then the
    stronger (B) minus the weaker (A) with the interval of the difference and the share of resamples it is deeper
    in; ``title`` and ``difference`` name the pair (the DeepStack pair's table is this one)."""
    rows = []
    for c in families:
        if c.unpruned is None and not c.gaps:
            continue
        by = {g.measure: g for g in c.gaps}
        for model, acc, side in ((c.strong, c.unpruned.b if c.unpruned else None, "b"),
                                 (c.weak, c.unpruned.a if c.unpruned else None, "a")):  # fmt: skip
            rows.append([c.family, model, "–" if acc is None else f"{acc:.1f}",
                         *(_cell(by.get(m), side) for m in ("withdraw", "information"))])  # fmt: skip
        rows.append([c.family, difference, "–" if c.unpruned is None else
                     f"{c.unpruned.difference:+.1f} ([{c.unpruned.low:+.1f}, {c.unpruned.high:+.1f}], "
                     f"p = {c.unpruned.p_value:.2g})",
                     *(_difference(by.get(m)) for m in ("withdraw", "information"))])  # fmt: skip
    if not rows:
        return []
    n = next((g.n for c in families for g in c.gaps if g.measure == "withdraw"), None)
    m = next((g.n for c in families for g in c.gaps if g.measure == "information"), None)
    return [f"{title} on the same samples (unpruned accuracy; horizons "
            f"with 95% paired-bootstrap intervals, their difference with {100 * LEVEL:g}%; withdraw n = {n or '–'}, "
            f"information n = {m or '–'}):", "",
            tabulate(rows, headers=["family", "model", "unpruned accuracy", "withdraw horizon",
                                    "information horizon"], tablefmt="github", disable_numparse=True), ""]  # fmt: skip


def _cell(g: HorizonGap | None, side: str) -> str:
    if g is None:
        return "–"
    h, interval = (g.b, g.b_interval) if side == "b" else (g.a, g.a_interval)
    return f"{_h(h, g.depth)} {_span(interval, g.depth)}"


def _difference(g: HorizonGap | None) -> str:
    if g is None:
        return "–"
    return f"{g.point:+d} ([{g.difference[0]:+d}, {g.difference[1]:+d}]; deeper in {100 * g.deeper:.0f}%)"
