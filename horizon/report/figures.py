"""Layer-sweep figures from records (Figures 1, 2, 9 and 10 of the paper); the figures' data is pure, drawing is
:mod:`horizon.report.figure`'s.

A sweep record is a single-stage case ``<method>@<layer>:<keep>`` (or ``vtw@<layer>``); one figure per model,
benchmark, keep ratio and held-out tier, with the benchmark's headline metric against the pruning layer and one line
per method, the unpruned score as a dashed level when its record is there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from horizon.files import write_all_atomic
from horizon.harness.matrix import held_out_of
from horizon.harness.records import Record
from horizon.report.figure import FigureSpec, Panel, Series, metric_axis, save
from horizon.report.tables import headline_metric, score
from horizon.schedule import sweep_point

SweepKey = tuple[str, str, str, int]  # model, benchmark, keep ("0": every visual token withdrawn), held-out tier


def sweep_points(records: Sequence[Record]) -> dict[SweepKey, dict[str, list[tuple[int, float]]]]:
    """(model, benchmark, keep, tier) -> method -> sorted (layer, score) points; ``tier``: an ``organism_full`` case's
    held-out rows (0 for any other), so a tier's points never join the default's."""
    out: dict[SweepKey, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        point = sweep_point(r.schedule)
        if point is None:
            continue
        out[(r.model, r.benchmark, point.keep or "0", held_out_of(r.case))][point.method].append((point.layer, score(r)))
    return {k: {meth: sorted(pts) for meth, pts in v.items()} for k, v in out.items()}


def sweep_figures(records: Sequence[Record], prefix: str = "") -> list[FigureSpec]:
    """One figure per (model, benchmark, keep, tier) sweep with a line of at least two points; file names start with
    ``prefix``."""
    full = {(r.model, r.benchmark, held_out_of(r.case)): r for r in records if r.schedule == "full"}
    members: dict[SweepKey, list[Record]] = defaultdict(list)
    for r in records:
        point = sweep_point(r.schedule)
        if point is not None:
            members[(r.model, r.benchmark, point.keep or "0", held_out_of(r.case))].append(r)
    specs = []
    for key, methods in sorted(sweep_points(records).items()):
        if max(len(p) for p in methods.values()) < 2:  # no line to draw (e.g. single-layer schedules)
            continue
        specs.append(_sweep_figure(key, methods, members[key], full.get(key[:2] + key[3:]), prefix))
    return specs


def _sweep_figure(key: SweepKey, methods: dict[str, list[tuple[int, float]]], records: Sequence[Record],
                  unpruned: Record | None, prefix: str) -> FigureSpec:  # fmt: skip
    model, bench, keep, tier = key
    shown = records[0].stand_in or model  # a stand-in's figure is titled with its own name
    metric = headline_metric(records[0])
    series = [Series(m, tuple(float(x) for x, _ in pts), tuple(y for _, y in pts),
                     "dashed" if m == "random" else "line") for m, pts in sorted(methods.items())]  # fmt: skip
    if unpruned is not None:
        series.append(Series("unpruned", (0.0,), (score(unpruned),), "hline"))
    withdrawn = keep == "0"
    kept = "all visual tokens withdrawn" if withdrawn else f"keep {float(keep):.3g} of the visual tokens"
    rows = f" · {tier} held-out rows" if tier else ""
    ns = sorted({r.n for r in records})
    n = f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}-{ns[-1]}"
    seeds = max((len(r.seeds) for r in records if sweep_point(r.schedule) and r.schedule.startswith("random@")),
                default=1)  # fmt: skip
    what = ("with every visual token withdrawn from layer k on (x-axis: k; Fig. 9)" if withdrawn else
            f"when each method keeps {float(keep):.3g} of the visual tokens from layer k on (x-axis: k), one line per "
            "method (random dashed)")  # fmt: skip
    caption = (f"{shown} on {bench}{' (' + str(tier) + ' held-out rows)' if tier else ''}: "
               f"{metric_axis(metric)} {what}" + ("; gray dashed: unpruned" if unpruned is not None else "")
               + f". {n} samples per point" + (f"; random: mean of {seeds} seeds" if seeds > 1 else "") + ".")  # fmt: skip
    name = f"{prefix}sweep-{model}-{bench}-{keep}" + (f"-heldout{tier}" if tier else "") + ".png"
    panel = Panel("", "pruning layer (decoder layer index)", metric_axis(metric), tuple(series))  # the figure's title
    return FigureSpec(name, f"{shown} · {bench} · {kept}{rows}", caption, (panel,), model, bench,
                      stand_in=bool(records[0].stand_in))  # fmt: skip


def plot_sweeps(records: Sequence[Record], out: Path, prefix: str = "") -> list[Path]:
    """Draw :func:`sweep_figures` under ``out``; returns the files written."""
    files = dict(save(spec, out) for spec in sweep_figures(records, prefix))
    write_all_atomic(files)
    return list(files)
