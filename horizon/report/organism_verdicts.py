"""The organisms' verdicts, one line each, for the list a report opens with: each of the paper's findings per model
and tier, in words short enough to read at a glance, from the same outcomes the details section prints in full
(horizon/report/organism_stats.py, organism_capacity.py); pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from horizon.report.organism_capacity import FamilyCapacity, capacity_outcome, family_outcome
from horizon.report.organism_data import FAMILIES
from horizon.report.organism_stats import CatchUp, budget_outcome, catch_up_outcome
from horizon.stats import Paired

# the findings list's entries, in its order: the paper's three findings, the capacity half of the second and the
# paper's second comparison for the third apart (each is judged by its own rule)
FINDINGS: Mapping[str, str] = {
    "1": "1. Beyond a horizon layer, pruning methods do no better than random",
    "2": "2. The horizon is deeper for visually harder (fine-grained) tasks",
    "capacity": "2, its capacity half. The horizon is deeper for stronger models",
    "deepstack": "2, beyond the paper. Does DeepStack (Qwen3-VL) move the horizon?",
    "3": "3. Random in deep layers improves a method at an equal budget (M + random vs M)",
    "3-vtw": "3, second comparison. Random beats withdrawing all tokens at that budget (M + random vs M + VTW)",
}
UNJUDGED: Mapping[str, str] = {
    "1": "no layer sweep against random in the records",
    "2": "no information study or withdraw-all sweep in the records",
    "capacity": "no organism and its weaker sibling in the records",
    "deepstack": "no DeepStack organism and its pair in the records",
    "3": "no equal-budget cases in the records",
    "3-vtw": "no equal-budget cases with VTW in the records",
}
PREFIX = "organism-"  # the list names an organism without it (organism-llava: llava)
NOTE = ("Paired tests on the same held-out rows of the model organisms, small VLMs trained here (llava: "
        "organism-llava, qwen2.5-vl: organism-qwen2.5-vl, qwen3-vl: organism-qwen3-vl, llava-weak: organism-llava-weak; "
        "docs/organisms.md). n: rows "
        "per task family (an information horizon rests on its study's 32 or 128 of them); global / fine: the task "
        "families; horizons as layers, global → fine, 'none': not reached within the model's layers. The weaker "
        "sibling's own horizons, the numbers behind each verdict, the rules and the figures follow.")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """One line of the findings list: ``finding`` (a key of :data:`FINDINGS`) on ``subject`` (a model, or a pair),
    from ``tier``'s records (held-out rows; 0: the default suite's) on ``n`` samples per family."""

    finding: str
    tier: int
    subject: str
    n: int
    short: str

    def __post_init__(self) -> None:
        if self.finding not in FINDINGS:
            raise ValueError(f"finding {self.finding!r} is not one of {', '.join(FINDINGS)}")


def render_findings(verdicts: Sequence[Verdict]) -> list[str]:
    """The findings list (Markdown lines): every finding, its verdicts by tier (most rows first) and subject; a
    finding the records cannot judge says why. No verdict at all (no organism record): one line saying so."""
    lines = ["## Findings", ""]
    if not verdicts:
        return lines + ["No finding is judged here: the paper's findings are judged on the model organisms' records "
                        "(`pytest suite`, docs/results.md), and these records hold none.", ""]  # fmt: skip
    for key, title in FINDINGS.items():
        chosen = sorted((v for v in verdicts if v.finding == key), key=lambda v: (-v.tier, v.subject))
        lines.append(f"- **{title}**")
        lines += [f"  - {v.subject.replace(PREFIX, '')} (n = {v.n}): {v.short}" for v in chosen] or [
            f"  - not judged: {UNJUDGED[key]}"]
    return lines + ["", NOTE, ""]


def _family(name: str) -> str:
    return name.removeprefix("synth-")


def catch_up_short(results: Sequence[tuple[str, CatchUp]]) -> str:
    """Finding 1 per family: its outcome, with the catch-up layer where it holds."""
    parts = []
    for family, c in results:
        outcome = catch_up_outcome(c)
        why = {"reproduced": f" from layer {c.layer}", "not reproduced": " (ahead to the last layer)",
               "not reproduced as stated": " (never ahead)", "inconclusive": " (underpowered)"}[outcome]  # fmt: skip
        parts.append(f"{_family(family)} **{outcome}**{why}")
    return ", ".join(parts)


def _h(x: int | None) -> str:
    return "none" if x is None else str(x)


def horizon_outcome(info_h: Mapping[str, int | None], withdraw_h: Mapping[str, int | None]) -> tuple[str, str]:
    """Finding 2 from the two families' horizons (None: not reached within the model's layers): (outcome, the
    horizons in words); outcome: reproduced | reproduced (one measure only) | not reproduced | undetermined | not
    measured."""
    outcomes: list[tuple[str, int | None, str]] = []  # (measure, +1 fine deeper / 0 equal / -1 shallower, text)
    for name, h in (("information", info_h), ("withdraw", withdraw_h)):
        if not set(FAMILIES) <= set(h):
            continue
        g, f = h["synth-global"], h["synth-fine"]
        if g is None and f is None:
            outcomes.append((name, None, f"{name} horizon not reached in either family"))
            continue
        sign = 1 if g is not None and (f is None or f > g) else -1 if f is not None and (g is None or f < g) else 0
        outcomes.append((name, sign, f"{name} horizon global {_layer(g)}, fine {_layer(f)}"))
    if not outcomes:
        return "not measured", ""
    text = "; ".join(t for _, _, t in outcomes)
    signs = [s for _, s, _ in outcomes if s is not None]
    if signs and all(s >= 0 for s in signs) and any(s > 0 for s in signs):
        return "reproduced" + (" (one measure only)" if len(signs) == 1 else ""), text
    return ("undetermined" if not signs else "not reproduced"), text


def horizon_verdict(info_h: Mapping[str, int | None], withdraw_h: Mapping[str, int | None]) -> str:
    """Finding 2 as the details section states it."""
    outcome, text = horizon_outcome(info_h, withdraw_h)
    if outcome == "not measured":
        return outcome
    head, _, only = outcome.partition(" (")
    return f"**{head}**" + (f" ({only}" if only else "") + f" ({text})"


def horizon_short(info_h: Mapping[str, int | None], withdraw_h: Mapping[str, int | None]) -> str:
    outcome, _ = horizon_outcome(info_h, withdraw_h)
    shown = [f"{name} {_h(h['synth-global'])} → {_h(h['synth-fine'])}"
             for name, h in (("information", info_h), ("withdraw", withdraw_h)) if set(FAMILIES) <= set(h)]  # fmt: skip
    return f"**{outcome}**" + (f" (horizons: {', '.join(shown)})" if shown else "")


def budget_short(by_layer: Mapping[int, Sequence[Paired]]) -> str:
    """Finding 3 (either comparison) per layer random is added at."""
    return ", ".join(f"**{budget_outcome(by_layer[layer])}** from layer {layer}" for layer in sorted(by_layer))


def capacity_short(families: Sequence[FamilyCapacity]) -> str:
    parts = [f"{_family(c.family)} {family_outcome(c)}" for c in families]
    return f"**{capacity_outcome(families)}** ({', '.join(parts)})"


def _layer(x: int | None) -> str:
    return "not reached" if x is None else f"layer {x}"
