"""A verdict's judgements, pure: each comparison paired on the same samples (horizon/stats via the organisms'
``paired`` and ``catch_up``), each stating the smallest difference its n could detect."""

from __future__ import annotations

from dataclasses import dataclass

from horizon.report.organism_stats import CatchUp, catch_up, paired
from horizon.stats import MARGIN, Paired
from horizon.verdict.run import Sweep


@dataclass(frozen=True)
class LayerRow:
    layer: int
    method: float  # headline accuracy (%)
    random: float
    versus: Paired | None  # the method against random on the same samples


@dataclass(frozen=True)
class Judged:
    sweep: Sweep
    metric: str
    rows: tuple[LayerRow, ...]
    catch: CatchUp
    retained: tuple[tuple[int, float | None, float | None], ...]  # (layer, method's, random's) information retained
    hybrid_vs_alone: Paired | None  # method then random deep, against the method alone, at one budget
    hybrid_vs_withdraw: Paired | None  # method then random deep, against method then every token withdrawn

    @property
    def ahead(self) -> tuple[int, ...]:
        return tuple(r.layer for r in self.rows if r.versus is not None and r.versus.significant and
                     r.versus.difference > 0)  # fmt: skip

    @property
    def behind(self) -> tuple[int, ...]:
        return tuple(r.layer for r in self.rows if r.versus is not None and r.versus.significant and
                     r.versus.difference < 0)  # fmt: skip

    @property
    def mde(self) -> float:
        return max((r.versus.mde for r in self.rows if r.versus is not None), default=0.0)


def judge(sweep: Sweep) -> Judged:
    metric = "accuracy"
    layers = sorted(sweep.method)
    rows = tuple(LayerRow(layer, sweep.method[layer].metrics[metric], sweep.random[layer].metrics[metric],
                          paired(sweep.random[layer], sweep.method[layer])) for layer in layers)  # fmt: skip
    catch = catch_up({"random": sweep.random, "method": sweep.method}, layers)
    retained: tuple[tuple[int, float | None, float | None], ...] = ()
    if sweep.study is not None:
        key = f"{sweep.keep:g}"
        mine = sweep.study.retained.get(sweep.name, {}).get(key, [])
        theirs = sweep.study.retained.get("random", {}).get(key, [])
        retained = tuple((layer, mine[i] if i < len(mine) else None, theirs[i] if i < len(theirs) else None)
                         for i, layer in enumerate(sweep.study.layers))  # fmt: skip
    h = sweep.hybrid
    vs_alone = paired(h["alone"], h["+random"]) if {"alone", "+random"} <= set(h) else None
    vs_withdraw = paired(h["+vtw"], h["+random"]) if {"+vtw", "+random"} <= set(h) else None
    return Judged(sweep, metric, rows, catch, retained, vs_alone, vs_withdraw)


def _layers(layers: tuple[int, ...]) -> str:
    return ", ".join(map(str, layers)) if layers else "none"


def finding(j: Judged, method: str) -> str:
    """Where ``method`` is significantly ahead of random, and the layer from which it no longer is."""
    c = j.catch
    behind = f"; significantly behind random at layers {_layers(j.behind)}" if j.behind else ""
    if c.lead is None:
        power = (f"each comparison detects >= {j.mde:.1f} points" if j.mde > MARGIN else
                 f"each comparison could detect {MARGIN:g} points")  # fmt: skip
        return f"**never significantly ahead of random** ({power}){behind}"
    lead = (f"largest lead {c.lead.difference:+.1f} points at layer {c.lead_layer} "
            f"(95% CI {c.lead.low:+.1f} to {c.lead.high:+.1f}, p = {c.lead.p_value:.2g})")  # fmt: skip
    if c.layer is None:
        return (f"**ahead of random at layers {_layers(j.ahead)}, still at the last layer**: no horizon within "
                f"this model ({lead}){behind}")  # fmt: skip
    power = ("every comparison from there on could detect "
             f"{MARGIN:g} points" if c.conclusive else f"inconclusive: those comparisons detect only >= {c.mde:.1f} points")
    return (f"**ahead of random at layers {_layers(j.ahead)}; no longer from layer {c.layer} on** ({lead}; {power})"
            f"{behind}")  # fmt: skip


def hybrid_finding(p: Paired | None, against: str) -> str:
    if p is None:
        return "not run (the method cannot prune at layer 2)"
    text = (f"{p.difference:+.1f} points (95% CI {p.low:+.1f} to {p.high:+.1f}, p = {p.p_value:.2g}, n = {p.n}, "
            f"detects >= {p.mde:.1f})")  # fmt: skip
    if p.significant:
        return f"**{'ahead of' if p.difference > 0 else 'behind'} {against}**: {text}"
    if p.mde <= MARGIN:
        return f"no significant difference from {against}: {text}"
    return f"inconclusive against {against}: {text}"
