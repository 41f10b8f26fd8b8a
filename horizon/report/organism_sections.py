"""One organism's sections of the report, each with the verdict it gives: the layer sweeps against random (finding
1), the withdraw-all curves and horizons (finding 2), the equal-budget comparison (finding 3); pure functions of
records that append Markdown lines and return the verdict in full and in short (horizon/report/organism_verdicts.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from tabulate import tabulate

from horizon.harness.records import Record
from horizon.report.organism_data import (
    FAMILIES,
    accuracy,
    equal_budget,
    kept_counts,
    layer_text,
    placements,
    sample_count,
    study_of,
    sweep_table,
)
from horizon.report.organism_stats import (
    budget_verdict,
    catch_up,
    catch_up_verdict,
    paired,
    withdraw_curve,
    withdraw_horizon,
)
from horizon.report.organism_verdicts import budget_short, catch_up_short, horizon_short, horizon_verdict
from horizon.stats import Paired

Groups = Mapping[tuple[str, str], Mapping[str, Record]]  # (model, family) -> schedule -> record


@dataclass(frozen=True, slots=True)
class Judged:
    """A section's verdict: as the details state it, in short for the findings list, and the n it rests on (0: no
    records to judge it by)."""

    full: str
    short: str
    n: int


def sweeps(groups: Groups, model: str, lines: list[str], sources: Callable[[Iterable[str]], str]) -> Judged:
    """Finding 1: each family's layer sweep at its keep ratio, its catch-up layer and the lead before it
    (``sources``: the methods' plugins, named under the table)."""
    from horizon.models.presets import MODELS

    verdicts, judged, n = [], [], 0
    for family in FAMILIES:
        by = groups.get((model, family), {})
        keep, layers, table = sweep_table(by)
        if not table or "random" not in table:
            continue
        n = sample_count(by)
        rows = [[m, *(f"{accuracy(table[m][x]):.1f}" if x in table[m] else "–" for x in layers)] for m in sorted(table)]
        c = catch_up(table, layers)
        seeds = len(next(iter(table["random"].values())).seeds)
        counts = kept_counts(table, by.get("full"), MODELS.get(model).arch.layers)
        lines += [f"Layer sweep, {family}, keep {keep} of the visual tokens (accuracy, n={n}"
                  + (f"; random: mean of {seeds} seeds" if seeds > 1 else "") + "):", "",
                  tabulate(rows, headers=["method", *map(str, layers)], tablefmt="github", disable_numparse=True), ""]  # fmt: skip
        plugins = sources(table)
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
                  f"**{layer_text(c.layer)}**{power}; {lead}", ""]  # fmt: skip
        verdicts.append(catch_up_verdict(c, family))
        judged.append((family, c))
    return Judged("; ".join(verdicts) or "no sweep records", catch_up_short(judged), n)


def horizons(records: Sequence[Record], groups: Groups, model: str, lines: list[str], tier: int = 0) -> Judged:
    """Finding 2: the withdraw-all curves (Fig. 9) and each family's information and withdraw horizons."""
    rows, info_h, withdraw_h, n = [], {}, {}, 0
    for family in FAMILIES:
        by = groups.get((model, family), {})
        curve, full = withdraw_curve(by), by.get("full")
        if curve and full is not None:
            withdraw_h[family], n = withdraw_horizon(curve, full)[0], full.n
            rows.append([f"withdraw-all, {family}", *(f"{accuracy(curve[x]):.1f}" if x in curve else "–"
                                                      for x in range(max(curve) + 1)), f"{accuracy(full):.1f}"])  # fmt: skip
        study = study_of(records, model, family, tier)
        if study is not None:
            if any(abs(x) > 0 for x in study["mean"]):  # no information at all: no horizon to speak of
                info_h[family] = study["horizon"]
            n = n or int(study["n"])
    if rows:
        depth = len(rows[0]) - 2
        lines += ["Accuracy with every visual token withdrawn from layer k on (Fig. 9), per task family:", "",
                  tabulate(rows, headers=["", *map(str, range(depth)), "unpruned"], tablefmt="github",
                           disable_numparse=True), ""]  # fmt: skip
    table = [[f, layer_text(info_h[f]) if f in info_h else "–", layer_text(withdraw_h[f]) if f in withdraw_h else "–"]
             for f in FAMILIES if f in info_h or f in withdraw_h]  # fmt: skip
    if table:
        lines += [tabulate(table, headers=["family", "information horizon", "withdraw horizon"], tablefmt="github",
                           disable_numparse=True), ""]  # fmt: skip
    verdict = horizon_verdict(info_h, withdraw_h)
    return Judged(verdict, horizon_short(info_h, withdraw_h), n if verdict != "not measured" else 0)


@dataclass(frozen=True, slots=True)
class Budget:
    """Finding 3's two comparisons: M + random against M alone, and against M + VTW."""

    alone: Judged
    vtw: Judged


def budget(groups: Groups, model: str, lines: list[str]) -> Budget:
    rows: list[list[str]] = []
    compared: dict[int, list[Paired]] = {}
    against_vtw: dict[int, list[Paired]] = {}  # +random@L against +vtw@L: the same budget, some tokens or none
    tables = {family: equal_budget(groups.get((model, family), {})) for family in FAMILIES}
    layers = sorted({layer for t in tables.values() for layer in placements(t)})
    n = 0
    for family, table in tables.items():
        for method, v in sorted(table.items()):
            n = v["alone"].n
            row = [family, method, f"{accuracy(v['alone']):.1f}"]
            for layer in layers:
                got = v.get(f"+random@{layer}")
                p = None if got is None else paired(v["alone"], got)
                row += ["–" if got is None else f"{accuracy(got):.1f}", _difference(p)]
                if p is not None:
                    compared.setdefault(layer, []).append(p)
                vtw = v.get(f"+vtw@{layer}")
                q = None if got is None or vtw is None else paired(vtw, got)
                if q is not None:
                    against_vtw.setdefault(layer, []).append(q)
            row += [f"{accuracy(v[f'+vtw@{layer}']):.1f}" if f"+vtw@{layer}" in v else "–" for layer in layers]
            rows.append(row)
    if not rows:
        return Budget(Judged("not measured", "", 0), Judged("not measured", "", 0))
    headers = ["family", "method", "alone"]
    headers += [h for layer in layers for h in (f"+random@{layer}", f"random@{layer} - alone (95% CI, p)")]
    headers += [f"+vtw@{layer}" for layer in layers]
    lines += ["Equal budget (216 visual token-layers after layer 2, as the method alone at 25 %): the method alone; "
              "keeping more until layer L, then random to 18 tokens (+random@L) or none (+vtw@L); differences paired "
              "on the same samples:", "",
              tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]  # fmt: skip
    verdicts = [f"random from layer {layer}: {budget_verdict(compared.get(layer, []))}" for layer in layers]
    versus = [f"random in place of VTW from layer {layer} (M+random against M+VTW): "
              f"{budget_verdict(against_vtw[layer])}" for layer in layers if layer in against_vtw]  # fmt: skip
    return Budget(Judged("; ".join(verdicts), budget_short({layer: compared.get(layer, []) for layer in layers}), n),
                  Judged("; ".join(versus), budget_short(against_vtw), n if against_vtw else 0))


def _difference(p: Paired | None) -> str:
    if p is None:
        return "–"
    return f"{p.difference:+.1f} ([{p.low:+.1f}, {p.high:+.1f}], p = {p.p_value:.2g})"
