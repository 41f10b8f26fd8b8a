"""PNG figures of layer sweeps from records (Figures 1, 2, 9 and 10 of the paper); matplotlib, headless.

A sweep record is a single-stage case ``<method>@<layer>:<keep>`` (or ``vtw@<layer>``); one panel per
model, benchmark and keep ratio, with the benchmark's headline metric against the pruning layer and one line
per method, the unpruned score as a dashed line when its record is there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from horizon.harness.records import Record
from horizon.report.tables import score
from horizon.schedule import sweep_point


def sweep_points(records: Sequence[Record]) -> dict[tuple[str, str, str], dict[str, list[tuple[int, float]]]]:
    """(model, benchmark, keep) -> method -> sorted (layer, score) points."""
    out: dict[tuple[str, str, str], dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        point = sweep_point(r.schedule)
        if point is None:
            continue
        out[(r.model, r.benchmark, point.keep or "0")][point.method].append((point.layer, score(r)))
    return {k: {meth: sorted(pts) for meth, pts in v.items()} for k, v in out.items()}


def plot_sweeps(records: Sequence[Record], out: Path, prefix: str = "") -> list[Path]:
    """One PNG per (model, benchmark, keep) sweep under ``out`` (file names start with ``prefix``); returns the files
    written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    full = {(r.model, r.benchmark): score(r) for r in records if r.schedule == "full"}
    shown = {r.model: r.stand_in or r.model for r in records}  # a stand-in's plot is titled with its own name
    written = []
    for (model, bench, keep), methods in sorted(sweep_points(records).items()):
        if max(len(p) for p in methods.values()) < 2:  # no line to draw (e.g. single-layer schedules)
            continue
        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
        for method, points in sorted(methods.items()):
            ax.plot([x for x, _ in points], [y for _, y in points], marker="o", ms=3, label=method)
        if (model, bench) in full:
            ax.axhline(full[(model, bench)], ls="--", c="gray", lw=1, label="unpruned")
        kept = "all visual tokens withdrawn" if keep == "0" else f"keep {float(keep):.3g} of the visual tokens"
        ax.set(xlabel="pruning layer", ylabel=bench, title=f"{shown[model]} · {bench} · {kept}")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = out / f"{prefix}sweep-{model}-{bench}-{keep}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
