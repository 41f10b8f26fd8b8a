"""The organisms' section of the report: the paper's phenomena on the models trained here, and a plain verdict
on each of its three findings; pure functions of records (organism cases, horizon/matrix.py ``organism_matrix``).
The rules are ``RULES``, printed in the report beside the verdicts."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tabulate import tabulate

from horizon.information.analysis import withdraw_horizon
from horizon.results import Record

FAMILIES = ("synth-global", "synth-fine")
RULES = (
    "- **noise band** between two accuracies on n samples each: max(2 points, 2 x the standard error of their "
    "difference).",
    "- **finding 1** (methods fall to random beyond a horizon), per model and task family: the *catch-up layer* is "
    "the first sweep layer from which every method is within the band of random at every later layer; reproduced "
    "when some method beats random by more than the band at a shallower layer and a catch-up layer exists.",
    "- **finding 2** (the horizon is deeper for visually harder tasks): the fine family's horizons (information "
    "horizon of the information case, withdraw horizon of the vtw@k sweep) against the global family's; "
    "reproduced when the fine family's is deeper by one measure and not shallower by the other (a horizon not "
    "reached counts as deeper than any reached one; not reached in both families decides nothing).",
    "- **finding 3** (random pruning in deep layers improves methods): at an equal visual-token budget, M+random "
    "against M alone, per method and family, for each layer random is added at; reproduced when it is ahead on "
    "average, ahead by more than the band somewhere and behind by more than the band nowhere.",
)
_SWEEP = re.compile(r"^(?P<method>[a-z][a-z0-9_\-]*)@(?P<layer>\d+):(?P<keep>[0-9.]+)$")
_VTW = re.compile(r"^vtw@(?P<layer>\d+)$")


def band(a: float, b: float, n: int) -> float:
    """The noise band (points) between two accuracies (percent) each measured on ``n`` samples."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    pa, pb = min(max(a / 100, 0.0), 1.0), min(max(b / 100, 0.0), 1.0)
    return max(2.0, 2 * 100 * math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n))


def _acc(r: Record) -> float:
    return r.metrics["accuracy"]


def organism_records(records: Sequence[Record]) -> dict[tuple[str, str], dict[str, Record]]:
    """(model, family) -> schedule -> record, for the synth family benchmarks."""
    out: dict[tuple[str, str], dict[str, Record]] = {}
    for r in records:
        if r.benchmark in FAMILIES:
            out.setdefault((r.model, r.benchmark), {})[r.schedule] = r
    return out


def sweep_table(by_schedule: Mapping[str, Record]) -> tuple[str | None, list[int], dict[str, dict[int, float]]]:
    """(keep, layers, method -> layer -> accuracy) of the single-stage sweeps at the most common keep ratio."""
    keeps: dict[str, dict[str, dict[int, float]]] = {}
    for schedule, r in by_schedule.items():
        m = _SWEEP.match(schedule)
        if m:
            keeps.setdefault(m["keep"], {}).setdefault(m["method"], {})[int(m["layer"])] = _acc(r)
    if not keeps:
        return None, [], {}
    keep = max(keeps, key=lambda k: sum(len(v) for v in keeps[k].values()))
    layers = sorted({layer for v in keeps[keep].values() for layer in v})
    return keep, layers, keeps[keep]


def catch_up(
    table: Mapping[str, Mapping[int, float]], layers: Sequence[int], n: int
) -> tuple[int | None, float, int, bool]:
    """(catch-up layer or None, the largest lead of a method over random before it, its layer, whether some
    method leads random by more than the band at some layer before it). Layers without random are not judged."""
    random = table.get("random", {})
    judged = [x for x in layers if x in random]
    others = [v for name, v in table.items() if name != "random"]

    def within(layer: int) -> bool:
        return all(abs(v[layer] - random[layer]) <= band(v[layer], random[layer], n) for v in others if layer in v)

    first = None
    for layer in sorted(judged, reverse=True):
        if not within(layer):
            break
        first = layer
    before = [x for x in judged if first is None or x < first]
    lead, at, significant = 0.0, -1, False
    for layer in before:
        for v in others:
            if layer in v:
                d = v[layer] - random[layer]
                significant |= d > band(v[layer], random[layer], n)
                if d > lead:
                    lead, at = d, layer
    return first, lead, at, significant


def withdraw_curve(by_schedule: Mapping[str, Record]) -> dict[int, float]:
    return {int(m["layer"]): _acc(r) for s, r in by_schedule.items() if (m := _VTW.match(s))}


def equal_budget(by_schedule: Mapping[str, Record]) -> dict[str, dict[str, float]]:
    """method -> {"alone", "+random@L", "+vtw@L"} -> accuracy, from ``M@2:0.25``, ``M@2:..+random@L:..`` and
    ``M@2:..+vtw@L`` (L: the second stage's layer)."""
    out: dict[str, dict[str, float]] = {}
    for schedule, r in by_schedule.items():
        stages = schedule.split("+")
        method = stages[0].split("@")[0]
        if not stages[0].startswith(f"{method}@2:") or method in ("random", "vtw"):
            continue
        if len(stages) == 1 and schedule.endswith(":0.25"):
            out.setdefault(method, {})["alone"] = _acc(r)
        elif len(stages) == 2:
            second, layer = stages[1].split("@")[0], stages[1].split("@")[1].split(":")[0]
            if second in ("random", "vtw"):
                out.setdefault(method, {})[f"+{second}@{layer}"] = _acc(r)
    return {m: v for m, v in out.items() if "alone" in v and any(k.startswith("+random@") for k in v)}


def placements(table: Mapping[str, Mapping[str, float]]) -> list[int]:
    """The layers random was added at in an ``equal_budget`` table, ascending."""
    return sorted({int(k.split("@")[1]) for v in table.values() for k in v if k.startswith("+random@")})


def _study(records: Sequence[Record], model: str, family: str) -> Mapping[str, Any] | None:
    return next((r.information for r in records if r.information and r.model == model and r.benchmark == family), None)


def _layer(x: int | None) -> str:
    return "not reached" if x is None else f"layer {x}"


def render_organisms(records: Sequence[Record]) -> str:
    """The Markdown section (empty when there is no organism record)."""
    groups = organism_records(records)
    if not groups:
        return ""
    models = sorted({m for m, _ in groups})
    lines = ["## The model organisms: the paper's findings on models trained here", "",
             "Small LLaVA- and Qwen2.5-VL-class models trained on `synth` (horizon/organism/), evaluated on held-out "
             "rows per task family: **global** (background colour, count, is there a <colour> <shape>) and **fine** "
             "(the colour/shape/digit in a named grid cell, 9 of 144 visual tokens).", ""]  # fmt: skip
    verdicts: dict[str, list[str]] = {"1": [], "2": [], "3": []}
    for model in models:
        lines += [f"### {model}", ""]
        lines += _unpruned(groups, model)
        f1 = _sweeps(groups, model, lines)
        f2 = _horizons(records, groups, model, lines)
        f3 = _budget(groups, model, lines)
        _retained(records, model, lines)
        verdicts["1"].append(f"{model}: {f1}")
        verdicts["2"].append(f"{model}: {f2}")
        verdicts["3"].append(f"{model}: {f3}")
    lines += ["### Which findings the organisms reproduce", ""]
    titles = {"1": "Pruning methods fall to the level of random pruning beyond a horizon layer",
              "2": "The horizon moves deeper for visually harder (fine-grained) tasks",
              "3": "Random pruning in deep layers improves existing methods at an equal budget"}  # fmt: skip
    for key, title in titles.items():
        lines.append(f"{key}. **{title}.**")
        lines += [f"   - {v}" for v in verdicts[key]]
    lines += [
        "   - stronger models' horizon deeper: not tested (one capacity level per family).",
        "",
        "Rules:",
        "",
        *RULES,
        "",
    ]
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


def _sweeps(groups: Mapping[tuple[str, str], Mapping[str, Record]], model: str, lines: list[str]) -> str:
    verdicts = []
    for family in FAMILIES:
        by = groups.get((model, family), {})
        keep, layers, table = sweep_table(by)
        if not table or "random" not in table:
            continue
        n = _n(by)
        rows = [[m, *(f"{table[m][x]:.1f}" if x in table[m] else "–" for x in layers)] for m in sorted(table)]
        first, lead, at, significant = catch_up(table, layers, n)
        lines += [f"Layer sweep, {family}, keep {keep} of the visual tokens (accuracy, n={n}):", "",
                  tabulate(rows, headers=["method", *map(str, layers)], tablefmt="github", disable_numparse=True), ""]  # fmt: skip
        lead_text = (f"best lead of a method over random before it: {lead:.1f} points at layer {at} "
                     f"({'beyond' if significant else 'within'} the noise band)" if at >= 0
                     else "no method ahead of random before it")  # fmt: skip
        lines += [f"- catch-up layer (every method within noise of random from here on): **{_layer(first)}**; "
                  f"{lead_text}", ""]  # fmt: skip
        if first is None:
            verdicts.append(f"{family}: **not reproduced** (methods and random still differ at the last layer)")
        elif significant:
            verdicts.append(f"{family}: **reproduced** (a method leads random by up to {lead:.1f} points at layer "
                            f"{at}; all within noise from layer {first})")  # fmt: skip
        else:
            verdicts.append(f"{family}: **not reproduced as stated**: every method is within noise of random from "
                            f"layer {first} on, but none beats random beyond noise before it")  # fmt: skip
    return "; ".join(verdicts) or "no sweep records"


def _horizons(records: Sequence[Record], groups: Mapping[tuple[str, str], Mapping[str, Record]], model: str,
              lines: list[str]) -> str:  # fmt: skip
    rows, info_h, withdraw_h = [], {}, {}
    for family in FAMILIES:
        by = groups.get((model, family), {})
        curve, full = withdraw_curve(by), by.get("full")
        if curve and full is not None:
            withdraw_h[family] = withdraw_horizon(curve, _acc(full), full.n)
            rows.append([f"withdraw-all, {family}", *(f"{curve[x]:.1f}" if x in curve else "–"
                                                      for x in range(max(curve) + 1)), f"{_acc(full):.1f}"])  # fmt: skip
        study = _study(records, model, family)
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
    diffs: dict[int, list[float]] = {}
    bands: dict[int, list[float]] = {}
    tables = {family: equal_budget(groups.get((model, family), {})) for family in FAMILIES}
    layers = sorted({layer for t in tables.values() for layer in placements(t)})
    for family, table in tables.items():
        n = _n(groups.get((model, family), {}))
        for method, v in sorted(table.items()):
            row = [family, method, f"{v['alone']:.1f}"]
            for layer in layers:
                got = v.get(f"+random@{layer}")
                row += ["–" if got is None else f"{got:.1f}", "–" if got is None else f"{got - v['alone']:+.1f}"]
                if got is not None:
                    diffs.setdefault(layer, []).append(got - v["alone"])
                    bands.setdefault(layer, []).append(band(v["alone"], got, n))
            row += [f"{v[f'+vtw@{layer}']:.1f}" if f"+vtw@{layer}" in v else "–" for layer in layers]
            rows.append(row)
    if not rows:
        return "not measured"
    headers = ["family", "method", "alone"]
    headers += [h for layer in layers for h in (f"+random@{layer}", f"random@{layer} - alone")]
    headers += [f"+vtw@{layer}" for layer in layers]
    lines += ["Equal budget (216 visual token-layers after layer 2, as the method alone at 25 %): the method alone; "
              "keeping more until layer L, then random to 18 tokens (+random@L) or none (+vtw@L):", "",
              tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]  # fmt: skip
    return "; ".join(f"random from layer {layer}: {budget_verdict(diffs[layer], bands[layer])}" for layer in layers)


def budget_verdict(diffs: Sequence[float], bands: Sequence[float]) -> str:
    mean = sum(diffs) / len(diffs)
    ahead = sum(d > b for d, b in zip(diffs, bands, strict=True))
    behind = sum(d < -b for d, b in zip(diffs, bands, strict=True))
    text = (
        f"mean {mean:+.1f} points over {len(diffs)} method x family pairs; {ahead} ahead, {behind} behind beyond noise"
    )
    if mean > 0 and ahead > 0 and behind == 0:
        return f"**reproduced** ({text})"
    return f"**not reproduced** ({text})"


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
