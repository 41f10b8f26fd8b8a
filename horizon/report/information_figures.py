"""An information study's figures as data (the paper's Figures 5-8, 11, 12): mean and variance of information per
layer with the withdraw-all curve, the token maps, the information each method retains, pruning by information; pure.
A study is :meth:`horizon.evaluation.study.Study.to_dict` (as JSON holds it: string keys); one rebuilt from a baseline
lacks the maps (:mod:`horizon.report.from_baselines`), and its figures leave them out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from horizon.benchmarks.registry import BENCHMARKS
from horizon.report.figure import FigureSpec, Panel, Series, metric_axis

INFORMATION_AXIS = "mean I = p_k - p_text (probability)"
LAYER_AXIS = "decoder layer index"


def information_figures(study: Mapping[str, Any], case: str = "", prefix: str = "", stand_in: str = "") -> list[
        FigureSpec]:  # fmt: skip
    """The study's figures (file names start with ``prefix``; ``case``: the information case whose section shows them;
    ``stand_in``: the stand-in that ran it, named in titles)."""
    s = study
    shown = stand_in or s["model"]
    metric = BENCHMARKS.get(s["benchmark"]).headline_metric
    stem = f"{prefix}info-{s['model']}-{s['benchmark']}" + _tier(case)
    where = f"{shown} on {s['benchmark']}, {s['n']} samples"
    common = {"model": s["model"], "benchmark": s["benchmark"], "case": case, "stand_in": bool(stand_in)}
    specs = []
    if s.get("mean"):  # a stand-in's baseline keeps no information values (docs/stand-ins.md)
        specs.append(FigureSpec(f"{stem}-layers.png", f"{shown} · {s['benchmark']} · information per layer "
                                f"({s['n']} samples)", _layers_caption(s, where, metric_axis(metric)),
                                _layer_panels(s, metric_axis(metric)), **common))  # fmt: skip
    if s.get("grid") and s.get("example"):
        rows, cols = s["grid"]
        shown_layers = sorted(int(k) for k in s["example"])
        panels = tuple(Panel(f"layer {layer}", f"grid column ({cols})", f"grid row ({rows})",
                             image=_grid(s["example"][str(layer)], rows, cols)) for layer in shown_layers)  # fmt: skip
        specs.append(FigureSpec(f"{stem}-maps.png", f"{shown} · {s['benchmark']} · information per visual token",
                                f"{shown} on {s['benchmark']}: information I of each visual token on the image grid, first "
                                f"sample (n = 1 of {s['n']}), at layers {', '.join(map(str, shown_layers))} (Fig. 7b).",
                                panels, **common))  # fmt: skip
    if s.get("retained"):
        specs.append(_retained(s, stem, where, common))
    if s.get("oracle"):
        specs.append(_oracle(s, stem, where, metric_axis(metric), common))
    return specs


def _tier(case: str) -> str:
    """An ``organism_full`` study's suffix (its id ends in ``-heldout<rows>``), so its files never replace the
    default study's."""
    tail = case.rsplit("-", 1)[-1] if case else ""
    return f"-{tail}" if tail.startswith("heldout") else ""


def _points(values: Mapping[str, float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    pts = sorted((int(k), float(v)) for k, v in values.items())
    return tuple(float(x) for x, _ in pts), tuple(v for _, v in pts)


def _layer_panels(s: Mapping[str, Any], axis: str) -> tuple[Panel, ...]:
    layers = tuple(float(x) for x in s["layers"])
    series = [Series("mean information", layers, tuple(float(x) for x in s["mean"]))]
    if s.get("horizon") is not None:
        series.append(Series(f"information horizon (layer {s['horizon']})", (float(s["horizon"]),), (0.0,), "vline"))
    if s.get("withdraw"):
        series.append(Series("every visual token withdrawn", *_points(s["withdraw"]), right=True, color="tab:orange"))
        if s.get("full") is not None:
            series.append(Series("unpruned", (0.0,), (float(s["full"]),), "hline", right=True, color="tab:orange"))
    left = Panel("mean information per layer (Fig. 8)", LAYER_AXIS, INFORMATION_AXIS, tuple(series),
                 right_label=f"{axis}, all withdrawn" if s.get("withdraw") else "")  # fmt: skip
    variance = Panel("variance of information over the visual tokens (Fig. 7a)", LAYER_AXIS,
                     "variance of I (probability squared)", (Series("variance", layers,
                                                                    tuple(float(x) for x in s["variance"])),))  # fmt: skip
    return left, variance


def _layers_caption(s: Mapping[str, Any], where: str, axis: str) -> str:
    text = (f"{where}: the mean information I per visual token at each layer (left; the dotted line marks the "
            "information horizon)")  # fmt: skip
    if s.get("withdraw"):
        text += (f", with {axis} when every visual token is withdrawn from that layer on (orange, right axis; dashed "
                 "orange: unpruned)")  # fmt: skip
    return text + "; right: the variance of I over the visual tokens (Fig. 7a)."


def _retained(s: Mapping[str, Any], stem: str, where: str, common: Mapping[str, Any]) -> FigureSpec:
    layers = list(s["layers"])
    keeps = sorted({k for m in s["retained"].values() for k in m})
    panels = []
    for keep in keeps:
        series = []
        for method, per_keep in sorted(s["retained"].items()):
            pts = [(float(x), float(v)) for x, v in zip(layers, per_keep.get(keep, []), strict=False) if v is not None]
            if pts:
                series.append(Series(method, tuple(x for x, _ in pts), tuple(v for _, v in pts),
                                     "dashed" if method == "random" else "line"))  # fmt: skip
        panels.append(Panel(f"keep {keep}", "pruning layer (decoder layer index)",
                            "sum of I over the kept tokens (probability)", tuple(series)))  # fmt: skip
    return FigureSpec(f"{stem}-retained.png", f"{s['model']} · {s['benchmark']} · information retained",
                      f"{where}: the information each method keeps when it prunes at layer k (x-axis: k; the sum of I "
                      f"over the tokens it keeps, mean over the samples; random dashed), keep "
                      f"{', '.join(keeps)} (Fig. 5).", tuple(panels), **common)  # fmt: skip


def _oracle(s: Mapping[str, Any], stem: str, where: str, axis: str, common: Mapping[str, Any]) -> FigureSpec:
    series = [Series(f"oracle keep {keep}", *_points(per_layer)) for keep, per_layer in sorted(s["oracle"].items())]
    if s.get("full") is not None:
        series.append(Series("unpruned", (0.0,), (float(s["full"]),), "hline"))
    return FigureSpec(f"{stem}-oracle.png", f"{s['model']} · {s['benchmark']} · pruning by information",
                      f"{where}: {axis} when the oracle keeps the visual tokens of highest information from layer k on "
                      "(x-axis: k; Fig. 6); gray dashed: unpruned.",
                      (Panel("pruning by information (Fig. 6)", "pruning layer (decoder layer index)", axis,
                             tuple(series)),), **common)  # fmt: skip


def _grid(values: Sequence[float], rows: int, cols: int) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(x) for x in values[r * cols : (r + 1) * cols]) for r in range(rows))
