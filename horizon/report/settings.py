"""The paper's Tables 4 and 5 (pruning settings) rendered from the schedules the suite runs; pure."""

from __future__ import annotations

from collections.abc import Iterable

from tabulate import tabulate

from horizon.paper_presets import DERIVED_SETTINGS, PAPER_BUDGETS, PAPER_PRESETS, RELEASED_PRESETS
from horizon.schedule import Schedule


def uses_paper_settings(schedules: Iterable[str]) -> bool:
    """Whether any of these schedules (as written in records) is one of the paper's settings (either form)."""
    paper = {str(r.get(name)) for r in (PAPER_PRESETS, RELEASED_PRESETS) for name in r.names()}
    return any(s in paper for s in schedules)


def _row(label: str, schedule: Schedule, layers: int, n_visual: int) -> list[str]:
    per_layer = schedule.tokens_per_layer(layers, n_visual)
    stages = "; ".join(f"{s.method} @ {s.layer}: {s.keep}" for s in schedule.stages)
    return [label, stages, f"{sum(per_layer) / layers / n_visual * 100:.1f}%", f"{sum(per_layer) / layers:.1f}"]


def render_settings() -> str:
    """One table per budget: each preset's stages (layer, keep) and the average visual tokens per layer it gives
    on the table's geometry, beside the budget the paper states. Derived rows (not in the paper) are marked."""
    parts = ["## Pruning settings (the paper's Tables 4 and 5, from the schedules run)", ""]
    for prefix, (layers, n_visual, budget) in PAPER_BUDGETS.items():
        rows = []
        for name in sorted(n for n in PAPER_PRESETS.names() if n.startswith(prefix + ":")):
            mark = " (derived)" if name in DERIVED_SETTINGS else ""
            rows.append(_row(name.split(":")[-1] + mark, PAPER_PRESETS.get(name), layers, n_visual))
            if name in RELEASED_PRESETS:  # the authors' scripts, which the paper protocol runs
                rows.append(_row(name.split(":")[-1] + " (released)", RELEASED_PRESETS.get(name), layers, n_visual))
        title = f"### {prefix}: {layers} layers, budget {budget / n_visual:.1%} of {n_visual} visual tokens"
        parts += [title, "", tabulate(rows, headers=["Method", "Stages (layer: keep)", "Average kept",
                                                     "Average tokens"], tablefmt="github", disable_numparse=True), ""]  # fmt: skip
    parts.append("Layer 0 prunes before the language decoder; keep is a fraction of the original visual tokens "
                 "(#N: a count). Averages count the tokens entering each layer. Rows as Tables 4/5 print them, "
                 "(derived) where the paper gives no setting, (released) as the authors' scripts run them "
                 "(the paper protocol, docs/protocol.md).")  # fmt: skip
    return "\n".join(parts) + "\n"
