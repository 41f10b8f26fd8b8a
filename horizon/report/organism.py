"""The organisms' section of the report: the paper's phenomena on the models trained here, and a plain verdict
on each of its findings; pure functions of records (organism cases, horizon/harness/matrix.py ``organism_matrix``).
The rules are ``RULES`` and ``CAPACITY_RULE``, printed in the report beside the verdicts; each verdict is also given
in one line (:class:`horizon.report.organism_verdicts.Verdict`) for the findings list a report opens with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tabulate import tabulate

from horizon.harness.records import Record
from horizon.organism.config import WEAKER
from horizon.report.information import merging_note
from horizon.report.organism_capacity import (
    CAPACITY_RULE,
    FamilyCapacity,
    capacity_table,
    capacity_verdict,
    family_capacity,
    pairs,
)
from horizon.report.organism_data import FAMILIES, accuracy, organism_records, pair_depth, study_of, tier_of
from horizon.report.organism_deepstack import (
    DEEPSTACK_RULE,
    deepstack_pairs,
    deepstack_short,
    deepstack_table,
    deepstack_verdict,
)
from horizon.report.organism_sections import budget, horizons, sweeps
from horizon.report.organism_stats import RULES
from horizon.report.organism_verdicts import Verdict, capacity_short, horizon_verdict

__all__ = ["OrganismReport", "horizon_verdict", "organism_report", "plugin_sources", "render_organisms"]

TITLES = {"1": "Pruning methods fall to the level of random pruning beyond a horizon layer",
          "2": "The horizon moves deeper for visually harder (fine-grained) tasks and stronger models",
          "3": "Random pruning in deep layers improves existing methods at an equal budget"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class OrganismReport:
    """The organisms' Markdown sections (every tier found) and their verdicts, one line each."""

    text: str
    verdicts: tuple[Verdict, ...]


def render_organisms(records: Sequence[Record]) -> str:
    """The Markdown section (empty when there is no organism record): :func:`organism_report`'s text."""
    return organism_report(records).text


def organism_report(records: Sequence[Record]) -> OrganismReport:
    """The default suite's cases, then each ``organism_full`` tier found (its information horizons are its own
    studies where it has them, else the default's)."""
    tiers = sorted({tier_of(r) for r in records if r.benchmark in FAMILIES})
    parts = [_render_tier(records, tier) for tier in tiers]
    return OrganismReport("".join(p.text for p in parts), tuple(v for p in parts for v in p.verdicts))


def _render_tier(records: Sequence[Record], tier: int) -> OrganismReport:
    groups = organism_records(records, tier)
    if not groups:
        return OrganismReport("", ())
    models = sorted({m for m, _ in groups})
    rows = f" ({tier} held-out rows)" if tier else ""
    where = (f"on {tier} held-out rows (the organism_full tier, {tier // 2} per task family)" if tier
             else "on the default suite's held-out rows")  # fmt: skip
    lines = [f"## The model organisms {where}", "",
             "Small LLaVA- and Qwen2.5-VL-class models trained on `synth` (horizon/organism/), evaluated on held-out "
             "rows per task family: **global** (background colour, count, is there a <colour> <shape>) and **fine** "
             "(the colour/shape/digit in a named grid cell, 9 of 144 visual tokens).", ""]  # fmt: skip
    verdicts: dict[str, list[str]] = {"1": [], "2": [], "3": []}
    short: list[Verdict] = []
    for model in models:
        lines += [f"### {model}{rows}", ""]
        lines += _unpruned(groups, model)
        f1 = sweeps(groups, model, lines, plugin_sources)
        f2 = horizons(records, groups, model, lines, tier)
        f3 = budget(groups, model, lines)
        if not tier:
            _retained(records, model, lines)
        verdicts["2"].append(f"{model}: {f2.full}")
        if model not in WEAKER.values():  # a weaker sibling runs the capacity finding's cases only
            short += [Verdict("2", tier, model, f2.n, f2.short)] if f2.n else []
            verdicts["1"].append(f"{model}: {f1.full}")
            verdicts["3"].append(f"{model}: " + "; ".join(j.full for j in (f3.alone, f3.vtw) if j.full))
            short += [Verdict(key, tier, model, j.n, j.short) for key, j in (("1", f1), ("3", f3.alone),
                                                                              ("3-vtw", f3.vtw)) if j.n]  # fmt: skip
    capacity = []
    for strong, weak in pairs(models):
        families = _pair_families(records, groups, tier, strong, weak)
        lines += [f"### Capacity: {strong} against {weak}{rows}", ""]
        lines += capacity_table(families)
        capacity.append(capacity_verdict(families))
        n = max((c.unpruned.n for c in families if c.unpruned is not None), default=0)
        short += [Verdict("capacity", tier, f"{strong} against {weak}", n, capacity_short(families))] if n else []
    deepstack = []
    for with_, without in deepstack_pairs(models):
        families = _pair_families(records, groups, tier, with_, without)
        lines += [f"### DeepStack: {with_} against {without}{rows}", ""]
        lines += deepstack_table(families)
        deepstack.append(deepstack_verdict(families))
        n = max((g.n for c in families for g in c.gaps), default=0)
        short += [Verdict("deepstack", tier, f"{with_} against {without}", n, deepstack_short(families))] if n else []
    lines += [f"### Which findings the organisms reproduce{rows}", ""]
    verdicts["2"] += [f"stronger models' horizon deeper (capacity): {v}" for v in capacity] or [
        "stronger models' horizon deeper (capacity): not tested (no organism and its weaker sibling in the records)"
    ]
    verdicts["2"] += [f"beyond the paper, does DeepStack move the horizon: {v}" for v in deepstack]
    for key, title in TITLES.items():
        lines.append(f"{key}. **{title}.**")
        lines += [f"   - {v}" for v in verdicts[key]]
    lines += ["", "Rules:", "", *RULES, CAPACITY_RULE, *([DEEPSTACK_RULE] if deepstack else []), ""]
    return OrganismReport("\n".join(lines) + "\n", tuple(short))


def _pair_families(records: Sequence[Record], groups: Mapping[tuple[str, str], Mapping[str, Record]], tier: int,
                   b: str, a: str) -> list[FamilyCapacity]:  # fmt: skip
    """A pair's paired horizons per task family (B: ``b``, A: ``a``): the capacity and the DeepStack pairs' both."""
    return [family_capacity(b, a, f, {m: groups.get((m, f), {}) for m in (b, a)},
                            {m: s for m in (b, a) if (s := study_of(records, m, f, tier)) is not None},
                            pair_depth(b, a)) for f in FAMILIES]  # fmt: skip


def _unpruned(groups: Mapping[tuple[str, str], Mapping[str, Record]], model: str) -> list[str]:
    rows = []
    for family in FAMILIES:
        full = groups.get((model, family), {}).get("full")
        if full is not None:
            tasks = ", ".join(f"{k.removeprefix('accuracy_')} {v:.1f}" for k, v in sorted(full.metrics.items())
                              if k.startswith("accuracy_") and k.removeprefix("accuracy_") not in ("global", "fine"))  # fmt: skip
            rows.append([family, full.n, f"{accuracy(full):.1f}", tasks])
    if not rows:
        return []
    return [tabulate(rows, headers=["family", "n", "unpruned accuracy", "per task"], tablefmt="github",
                     disable_numparse=True), ""]  # fmt: skip


def plugin_sources(methods: Iterable[str]) -> str:
    """The methods not built into horizon, each with its plugin ("" when all are built in): a report names where a
    row comes from; a plugin not loaded while the report is written is said so."""
    from horizon.methods import METHODS
    from horizon.methods.plugins import method_source

    out = []
    for name in sorted(methods):
        source = method_source(METHODS.get(name)) if name in METHODS else "a plugin not loaded here"
        if source != "built-in":
            out.append(f"{name} ({source})")
    return ", ".join(out)


def _retained(records: Sequence[Record], model: str, lines: list[str]) -> None:
    for family in FAMILIES:
        study = study_of(records, model, family)
        if study is None or not study.get("retained"):
            continue
        rows = []
        for method, keeps in sorted(study["retained"].items()):
            for keep, values in keeps.items():
                rows.append([method, keep, *("–" if v is None else f"{v:.3g}" for v in values)])
        lines += [f"Information retained per layer, {family} (Σ I over kept tokens, mean of {study['n']} samples):",
                  "", tabulate(rows, headers=["method", "keep", *map(str, study["layers"])], tablefmt="github",
                               disable_numparse=True), ""]  # fmt: skip
        note = merging_note(study["retained"])
        if note:
            lines += [f"- {note}", ""]
