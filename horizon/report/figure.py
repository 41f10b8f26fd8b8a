"""A report figure as data: its panels' series, axis labels, caption and file name; drawing it (matplotlib, headless)
is the only step that is not pure.

A figure's data is what the page's staleness test checks (``figures.json`` beside the PNGs: one figure a line,
every series' values), since PNG bytes differ between matplotlib builds. Every axis names what it plots and its unit
(:func:`metric_axis`); every caption says what the figure shows, on which model and benchmark, and its n.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from horizon.metrics import Metric

STYLES = ("line", "dashed", "hline", "vline")  # a line with markers, the same dashed, a level across, a layer marked
_PRETTY = {"f1": "F1", "anls": "ANLS", "total": "MME total score", "circular_accuracy": "circular accuracy"}


def metric_axis(metric: Metric) -> str:
    """An axis label naming ``metric`` with its unit: ``accuracy (%)``, ``MME total score (points, max 2800)``."""
    name = _PRETTY.get(metric.name, metric.name.replace("_", " "))
    unit = {"percent": " (%)", "count": " (count)", "ratio": " (ratio)", "value": ""}.get(metric.kind, "")
    if metric.kind == "score":
        unit = f" (points, max {metric.maximum:g})"
    return name + unit


@dataclass(frozen=True, slots=True)
class Series:
    """One plotted line: ``hline`` draws ``y[0]`` across the panel, ``vline`` marks ``x[0]``."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    style: str = "line"
    right: bool = False  # on the panel's second y-axis (``Panel.right_label``)
    color: str = ""

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"series style {self.style!r} is not one of {', '.join(STYLES)}")
        if len(self.x) != len(self.y):
            raise ValueError(f"series {self.label!r}: {len(self.x)} x values and {len(self.y)} y values")


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...] = ()
    right_label: str = ""  # the second y-axis's label, when a series is on it
    image: tuple[tuple[float, ...], ...] = ()  # a heat map (rows of cells) instead of series

    def __post_init__(self) -> None:
        if not self.xlabel or not self.ylabel:
            raise ValueError(f"panel {self.title!r}: both axes must be named")
        if any(s.right for s in self.series) and not self.right_label:
            raise ValueError(f"panel {self.title!r}: a series on the second y-axis needs that axis named")


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """A figure: its file ``name`` (a PNG), a short ``title`` and the ``caption`` the report prints under it."""

    name: str
    title: str
    caption: str
    panels: tuple[Panel, ...]
    model: str = ""
    benchmark: str = ""
    case: str = ""  # the information case whose section shows it ("": a layer sweep's figure)
    stand_in: bool = False

    def __post_init__(self) -> None:
        if not self.name.endswith(".png") or "/" in self.name:
            raise ValueError(f"figure name {self.name!r}: a PNG file name without a folder")
        if not self.caption or not self.panels:
            raise ValueError(f"figure {self.name}: a caption and at least one panel")

    def data(self) -> dict[str, Any]:
        """JSON-ready: everything the PNG is drawn from."""
        return asdict(self)


def figures_json(specs: Sequence[FigureSpec]) -> str:
    """A JSON list of the figures (sorted by name), one figure a line: what they plot, checkable where PNG bytes are
    not."""
    lines = [json.dumps(s.data(), sort_keys=True, ensure_ascii=False) for s in sorted(specs, key=_name)]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def _name(spec: FigureSpec) -> str:
    return spec.name


def markdown(spec: FigureSpec, folder: str = "") -> list[str]:
    """The figure's image (``folder``: its path from the page, ending in ``/``, or "") and its caption, as lines."""
    return [f"![{spec.title}]({folder}{spec.name})", "", f"*Figure: {spec.caption}*", ""]


def draw(spec: FigureSpec) -> Any:
    """The matplotlib figure of ``spec`` (the caller closes it): one legend per panel, every labelled series of both
    y-axes in it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 6.0 if len(spec.panels) == 1 else 4.6 * len(spec.panels)
    legend = max(len(p.series) for p in spec.panels)  # rows of legend below the panels
    height = 3.3 + 0.16 * -(-legend // 3)
    fig, axes = plt.subplots(1, len(spec.panels), figsize=(width, height), dpi=100, squeeze=False)
    for ax, panel in zip(axes[0], spec.panels, strict=True):
        _panel(fig, ax, panel)
    fig.suptitle(spec.title, fontsize=9)
    fig.tight_layout()
    return fig


def _panel(fig: Any, ax: Any, panel: Panel) -> None:
    if panel.title:
        ax.set_title(panel.title, fontsize=8)
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    if panel.image:
        image = ax.imshow([list(row) for row in panel.image], cmap="viridis")
        ax.set(xticks=[], yticks=[])
        fig.colorbar(image, ax=ax, fraction=0.046)
        return
    twin = ax.twinx() if any(s.right for s in panel.series) else None
    if twin is not None:
        twin.set_ylabel(panel.right_label)
    handles = []
    for s in panel.series:
        target = twin if s.right and twin is not None else ax
        style: dict[str, Any] = {"label": s.label, **({"color": s.color} if s.color else {})}
        if s.style == "hline":
            handles.append(target.axhline(s.y[0], ls="--", lw=1, **({"color": "gray"} | style)))
        elif s.style == "vline":
            handles.append(target.axvline(s.x[0], ls=":", lw=1, **({"color": "purple"} | style)))
        else:
            (line,) = target.plot(s.x, s.y, marker="o", ms=3, ls="--" if s.style == "dashed" else "-", **style)
            handles.append(line)
    if handles:  # below the panel, never over a line
        ax.legend(handles=handles, fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)


def save(spec: FigureSpec, folder: Path) -> tuple[Path, bytes]:
    """The PNG of ``spec`` as (path under ``folder``, bytes), for an atomic write with the page; no software
    version is embedded, so a rerun on the same matplotlib writes the same bytes."""
    import io

    import matplotlib.pyplot as plt

    fig = draw(spec)
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return folder / spec.name, buffer.getvalue()
