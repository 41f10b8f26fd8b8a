"""The organisms' records sorted for the report: by tier, model and task family; a family's layer sweep, withdraw
curve and equal-budget schedules; its information study; pure (organism cases: horizon/harness/matrix.py
``organism_matrix``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from horizon.harness.matrix import held_out_of
from horizon.harness.records import Record
from horizon.schedule import sweep_point

FAMILIES = ("synth-global", "synth-fine")


def accuracy(r: Record) -> float:
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


def study_of(records: Sequence[Record], model: str, family: str, tier: int = 0) -> Mapping[str, Any] | None:
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


def sample_count(by: Mapping[str, Record]) -> int:
    """The sample count of a model/family's sweep (its unpruned record's; information records have fewer)."""
    full = by.get("full")
    if full is not None:
        return full.n
    return max((r.n for r in by.values() if not r.information), default=1)


def pair_depth(strong: str, weak: str) -> int:
    """The pair's decoder layers (a horizon not reached counts as this), from their presets, which must agree."""
    from horizon.models.presets import MODELS

    depths = {MODELS.get(m).arch.layers for m in (strong, weak)}
    if len(depths) != 1:
        raise ValueError(f"{strong} and {weak} have {sorted(depths)} decoder layers: a capacity pair must have one depth")
    return depths.pop()


def layer_text(x: int | None) -> str:
    return "not reached" if x is None else f"layer {x}"
