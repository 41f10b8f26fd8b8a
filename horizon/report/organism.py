"""The organisms' section of the report: the paper's phenomena on the models trained here, and a plain verdict
on each of its three findings; pure functions of records (organism cases, horizon/harness/matrix.py ``organism_matrix``).
The rules are ``RULES``, printed in the report beside the verdicts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tabulate import tabulate

from horizon.harness.matrix import held_out_of
from horizon.harness.records import Record
from horizon.organism.config import WEAKER
from horizon.report.information import merging_note
from horizon.report.organism_capacity import CAPACITY_RULE, capacity_table, capacity_verdict, family_capacity, pairs
from horizon.report.organism_stats import (
    RULES,
    budget_verdict,
    catch_up,
    catch_up_verdict,
    paired,
    withdraw_curve,
    withdraw_horizon,
)
from horizon.schedule import sweep_point
from horizon.stats import Paired

FAMILIES = ("synth-global", "synth-fine")


def _acc(r: Record) -> float:
    return r.metrics["accuracy"]


def tier_of(record: Record) -> int:
    """The held-out rows of an ``organism_full`` tier case (its id ends in -heldout<rows>); 0 for the default's."""
    return held_out_of(record.case)


def organism_records(records: Sequence[Record], tier: int = 0) -> dict[tuple[str, str], dict[str, Record]]:
    """(model, family) -> schedule -> record, for the synth family benchmarks' cases of one tier."""
    out: dict[tuple[str, str], dict[str, Record]] = {}
    for r in records:
        if r.benchmark in FAMILIES and tier_of(r) == tier:
            out.setdefault((r.model, r.benchmark), {})[r.schedule] = r
    return out


def sweep_table(by_schedule: Mapping[str, Record]) -> tuple[str | None, list[int], dict[str, dict[int, Record]]]:
    """(keep, layers, method -> layer -> record) of the single-stage sweeps at the most common keep ratio."""
    keeps: dict[str, dict[str, dict[int, Record]]] = {}
    for schedule, r in by_schedule.items():
        point = sweep_point(schedule)
        if point is not None and point.keep is not None:
            keeps.setdefault(point.keep, {}).setdefault(point.method, {})[point.layer] = r
    if not keeps:
        return None, [], {}
    keep = max(keeps, key=lambda k: sum(len(v) for v in keeps[k].values()))
    layers = sorted({layer for v in keeps[keep].values() for layer in v})
    return keep, layers, keeps[keep]


def equal_budget(by_schedule: Mapping[str, Record]) -> dict[str, dict[str, Record]]:
    """method -> {"alone", "+random@L", "+vtw@L"} -> record, from ``M@2:0.25``, ``M@2:..+random@L:..`` and
    ``M@2:..+vtw@L`` (L: the second stage's layer)."""
    out: dict[str, dict[str, Record]] = {}
    for schedule, r in by_schedule.items():
        stages = schedule.split("+")
        method = stages[0].split("@")[0]
        if not stages[0].startswith(f"{method}@2:") or method in ("random", "vtw"):
            continue
        if len(stages) == 1 and schedule.endswith(":0.25"):
            out.setdefault(method, {})["alone"] = r
        elif len(stages) == 2:
            second, layer = stages[1].split("@")[0], stages[1].split("@")[1].split(":")[0]
            if second in ("random", "vtw"):
                out.setdefault(method, {})[f"+{second}@{layer}"] = r
    return {m: v for m, v in out.items() if "alone" in v and any(k.startswith("+random@") for k in v)}


def placements(table: Mapping[str, Mapping[str, Record]]) -> list[int]:
    """The layers random was added at in an ``equal_budget`` table, ascending."""
    return sorted({int(k.split("@")[1]) for v in table.values() for k in v if k.startswith("+random@")})


def _study(records: Sequence[Record], model: str, family: str, tier: int = 0) -> Mapping[str, Any] | None:
    """The information study of ``model`` on ``family``: the tier's own when it has one, else the default's."""
    found = {tier_of(r): r.information for r in records if r.information and r.model == model and r.benchmark == family}
    return found.get(tier, found.get(0))


def kept_counts(table: Mapping[str, Mapping[int, Record]], full: Record | None, depth: int) -> dict[str, int]:
    """Each swept method's visual tokens kept, read back from its deepest sweep record's average per layer (layers
    before the stage see all ``full.average_visual_tokens``): the count it met, which may differ from the ratio's."""
    if full is None:
        return {}
    out = {}
    for method, by_layer in table.items():
        layer = max(by_layer)
        if layer < depth:
            avg = by_layer[layer].average_visual_tokens
            out[method] = round((depth * avg - layer * full.average_visual_tokens) / (depth - layer))
    return out


def _depth(strong: str, weak: str) -> int:
    """The pair's decoder layers (a horizon not reached counts as this), from their presets, which must agree."""
    from horizon.models.presets import MODELS

    depths = {MODELS.get(m).arch.layers for m in (strong, weak)}
    if len(depths) != 1:
        raise ValueError(f"{strong} and {weak} have {sorted(depths)} decoder layers: a capacity pair must have one depth")
    return depths.pop()


def _layer(x: int | None) -> str:
    return "not reached" if x is None else f"layer {x}"


def render_organisms(records: Sequence[Record]) -> str:
    """The Markdown section (empty when there is no organism record): the default suite's cases, then each
    ``organism_full`` tier found (its information horizons are its own studies where it has them, else the
    default's)."""
    tiers = sorted({tier_of(r) for r in records if r.benchmark in FAMILIES})
    parts = [_render_tier(records, tier) for tier in tiers]
    return "".join(p for p in parts if p)


def _render_tier(records: Sequence[Record], tier: int) -> str:
    groups = organism_records(records, tier)
    if not groups:
        return ""
    models = sorted({m for m, _ in groups})
    where = (f"on {tier} held-out rows (the organism_full tier, {tier // 2} per task family)" if tier
             else "on the default suite's held-out rows")  # fmt: skip
    lines = [f"## The model organisms {where}: the paper's findings on models trained here", "",
             "Small LLaVA- and Qwen2.5-VL-class models trained on `synth` (horizon/organism/), evaluated on held-out "
             "rows per task family: **global** (background colour, count, is there a <colour> <shape>) and **fine** "
             "(the colour/shape/digit in a named grid cell, 9 of 144 visual tokens).", ""]  # fmt: skip
    verdicts: dict[str, list[str]] = {"1": [], "2": [], "3": []}
    for model in models:
        lines += [f"### {model}" + (f" ({tier} held-out rows)" if tier else ""), ""]
        lines += _unpruned(groups, model)
        f1 = _sweeps(groups, model, lines)
        f2 = _horizons(records, groups, model, lines, tier)
        f3 = _budget(groups, model, lines)
        if not tier:
            _retained(records, model, lines)
        verdicts["2"].append(f"{model}: {f2}")
        if model not in WEAKER.values():  # a weaker sibling runs the capacity finding's cases only
            verdicts["1"].append(f"{model}: {f1}")
            verdicts["3"].append(f"{model}: {f3}")
    capacity = []
    for strong, weak in pairs(models):
        depth = _depth(strong, weak)
        families = [family_capacity(strong, weak, f, {m: groups.get((m, f), {}) for m in (strong, weak)},
                                    {m: s for m in (strong, weak) if (s := _study(records, m, f, tier)) is not None},
                                    depth) for f in FAMILIES]  # fmt: skip
        lines += [f"### Capacity: {strong} against {weak}" + (f" ({tier} held-out rows)" if tier else ""), ""]
        lines += capacity_table(families)
        capacity.append(capacity_verdict(families))
    lines += ["### Which findings the organisms reproduce" + (f" ({tier} held-out rows)" if tier else ""), ""]
    titles = {"1": "Pruning methods fall to the level of random pruning beyond a horizon layer",
              "2": "The horizon moves deeper for visually harder (fine-grained) tasks and stronger models",
              "3": "Random pruning in deep layers improves existing methods at an equal budget"}  # fmt: skip
    verdicts["2"] += [f"stronger models' horizon deeper (capacity): {v}" for v in capacity] or [
        "stronger models' horizon deeper (capacity): not tested (no organism and its weaker sibling in the records)"
    ]
    for key, title in titles.items():
        lines.append(f"{key}. **{title}.**")
        lines += [f"   - {v}" for v in verdicts[key]]
    lines += ["", "Rules:", "", *RULES, CAPACITY_RULE, ""]
    return "\n".join(lines) + "\n"


def _unpruned(groups: Mapping[tuple[str, str], Mapping[str, Record]], model: str) -> list[str]:
    rows = []
    for family in FAMILIES:
        full = groups.get((model, family), {}).get("full")
        if full is not None:
            tasks = ", ".join(f"{k.removeprefix('accuracy_')} {v:.1f}" for k, v in sorted(full.metrics.items())
                              if k.startswith("accuracy_") and k.removeprefix("accuracy_") not in ("global", "fine"))  # fmt: skip
            rows.append([family, full.n, f"{_acc(full):.1f}", tasks])
    if not rows:
        return []
    return [tabulate(rows, headers=["family", "n", "unpruned accuracy", "per task"], tablefmt="github",
                     disable_numparse=True), ""]  # fmt: skip


def _n(by: Mapping[str, Record]) -> int:
    """The sample count of a model/family's sweep (its unpruned record's; information records have fewer)."""
    full = by.get("full")
    if full is not None:
        return full.n
    return max((r.n for r in by.values() if not r.information), default=1)


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


def _sweeps(groups: Mapping[tuple[str, str], Mapping[str, Record]], model: str, lines: list[str]) -> str:
    from horizon.models.presets import MODELS

    verdicts = []
    for family in FAMILIES:
        by = groups.get((model, family), {})
        keep, layers, table = sweep_table(by)
        if not table or "random" not in table:
            continue
        n = _n(by)
        rows = [[m, *(f"{_acc(table[m][x]):.1f}" if x in table[m] else "–" for x in layers)] for m in sorted(table)]
        c = catch_up(table, layers)
        seeds = len(next(iter(table["random"].values())).seeds)
        counts = kept_counts(table, by.get("full"), MODELS.get(model).arch.layers)
        lines += [f"Layer sweep, {family}, keep {keep} of the visual tokens (accuracy, n={n}"
                  + (f"; random: mean of {seeds} seeds" if seeds > 1 else "") + "):", "",
                  tabulate(rows, headers=["method", *map(str, layers)], tablefmt="github", disable_numparse=True), ""]  # fmt: skip
        plugins = plugin_sources(table)
        if plugins:
            lines += [f"- from plugins: {plugins}", ""]
        if len(set(counts.values())) > 1:  # a method that meets the ratio at another count (pool: an h x w grid)
            usual = max(set(counts.values()), key=list(counts.values()).count)
            odd = ", ".join(f"{m} {k}" for m, k in sorted(counts.items()) if k != usual)
            lines += [f"- visual tokens from the stage on: {usual} ({odd}: a method that meets the ratio at another "
                      "count, as pool's h x w grid, or adds merged tokens, as SparseVLM's recycling)", ""]  # fmt: skip
        lead = (f"largest significant lead over random before it: {c.lead_method} at layer {c.lead_layer}, "
                f"{c.lead.verdict('random', c.lead_method)}" if c.lead is not None
                else "no method significantly ahead of random before it")  # fmt: skip
        power = f" (those comparisons detect >= {c.mde:.1f} points)" if c.after else ""
        lines += [f"- catch-up layer (no method significantly ahead of random from here on): "
                  f"**{_layer(c.layer)}**{power}; {lead}", ""]  # fmt: skip
        verdicts.append(catch_up_verdict(c, family))
    return "; ".join(verdicts) or "no sweep records"


def _horizons(records: Sequence[Record], groups: Mapping[tuple[str, str], Mapping[str, Record]], model: str,
              lines: list[str], tier: int = 0) -> str:  # fmt: skip
    rows, info_h, withdraw_h = [], {}, {}
    for family in FAMILIES:
        by = groups.get((model, family), {})
        curve, full = withdraw_curve(by), by.get("full")
        if curve and full is not None:
            withdraw_h[family] = withdraw_horizon(curve, full)[0]
            rows.append([f"withdraw-all, {family}", *(f"{_acc(curve[x]):.1f}" if x in curve else "–"
                                                      for x in range(max(curve) + 1)), f"{_acc(full):.1f}"])  # fmt: skip
        study = _study(records, model, family, tier)
        if study is not None:
            if any(abs(x) > 0 for x in study["mean"]):  # no information at all: no horizon to speak of
                info_h[family] = study["horizon"]
    if rows:
        depth = len(rows[0]) - 2
        lines += ["Accuracy with every visual token withdrawn from layer k on (Fig. 9), per task family:", "",
                  tabulate(rows, headers=["", *map(str, range(depth)), "unpruned"], tablefmt="github",
                           disable_numparse=True), ""]  # fmt: skip
    table = [[f, _layer(info_h[f]) if f in info_h else "–", _layer(withdraw_h[f]) if f in withdraw_h else "–"]
             for f in FAMILIES if f in info_h or f in withdraw_h]  # fmt: skip
    if table:
        lines += [tabulate(table, headers=["family", "information horizon", "withdraw horizon"], tablefmt="github",
                           disable_numparse=True), ""]  # fmt: skip
    return horizon_verdict(info_h, withdraw_h)


def horizon_verdict(info_h: Mapping[str, int | None], withdraw_h: Mapping[str, int | None]) -> str:
    """Finding 2 from the two families' horizons (None: not reached within the model's layers)."""
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
        return "not measured"
    text = "; ".join(t for _, _, t in outcomes)
    signs = [s for _, s, _ in outcomes if s is not None]
    only = " (one measure only)" if len(signs) == 1 else ""
    if signs and all(s >= 0 for s in signs) and any(s > 0 for s in signs):
        return f"**reproduced**{only} ({text})"
    if not signs:
        return f"**undetermined** ({text})"
    return f"**not reproduced** ({text})"


def _budget(groups: Mapping[tuple[str, str], Mapping[str, Record]], model: str, lines: list[str]) -> str:
    rows: list[list[str]] = []
    compared: dict[int, list[Paired]] = {}
    against_vtw: dict[int, list[Paired]] = {}  # +random@L against +vtw@L: the same budget, some tokens or none
    tables = {family: equal_budget(groups.get((model, family), {})) for family in FAMILIES}
    layers = sorted({layer for t in tables.values() for layer in placements(t)})
    for family, table in tables.items():
        for method, v in sorted(table.items()):
            row = [family, method, f"{_acc(v['alone']):.1f}"]
            for layer in layers:
                got = v.get(f"+random@{layer}")
                p = None if got is None else paired(v["alone"], got)
                row += ["–" if got is None else f"{_acc(got):.1f}", _difference(p)]
                if p is not None:
                    compared.setdefault(layer, []).append(p)
                vtw = v.get(f"+vtw@{layer}")
                q = None if got is None or vtw is None else paired(vtw, got)
                if q is not None:
                    against_vtw.setdefault(layer, []).append(q)
            row += [f"{_acc(v[f'+vtw@{layer}']):.1f}" if f"+vtw@{layer}" in v else "–" for layer in layers]
            rows.append(row)
    if not rows:
        return "not measured"
    headers = ["family", "method", "alone"]
    headers += [h for layer in layers for h in (f"+random@{layer}", f"random@{layer} - alone (95% CI, p)")]
    headers += [f"+vtw@{layer}" for layer in layers]
    lines += ["Equal budget (216 visual token-layers after layer 2, as the method alone at 25 %): the method alone; "
              "keeping more until layer L, then random to 18 tokens (+random@L) or none (+vtw@L); differences paired "
              "on the same samples:", "",
              tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]  # fmt: skip
    verdicts = [f"random from layer {layer}: {budget_verdict(compared.get(layer, []))}" for layer in layers]
    verdicts += [f"random in place of VTW from layer {layer} (M+random against M+VTW): "
                 f"{budget_verdict(against_vtw[layer])}" for layer in layers if layer in against_vtw]  # fmt: skip
    return "; ".join(verdicts)


def _difference(p: Paired | None) -> str:
    if p is None:
        return "–"
    return f"{p.difference:+.1f} ([{p.low:+.1f}, {p.high:+.1f}], p = {p.p_value:.2g})"


def _retained(records: Sequence[Record], model: str, lines: list[str]) -> None:
    for family in FAMILIES:
        study = _study(records, model, family)
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
