"""Random pruning, the paper's own deep-layer method (Sec. 4.3; reference/methods.md §0.2).

Keeps a uniformly random subset of the surviving visual tokens, drawn from the run's explicit
``torch.Generator`` (seeded by the run's ``seed``), independently for each sample. Reads nothing from the
model, so it works with any attention implementation.
"""

from __future__ import annotations

import torch

from horizon.engine.views import TokenView
from horizon.methods.base import register_method


@register_method(
    "random",
    positions="original",
    flash_compatible=True,
    reference="Wang et al., All You Need Are Random Visual Tokens? (github.com/YahongWang1/Information-Horizon)",
)
def select_random(view: TokenView, keep: int, generator: torch.Generator) -> torch.Tensor:
    rows = [
        torch.randperm(view.n_visual, generator=generator)[:keep].sort().values  # (keep,)
        for _ in range(view.batch)
    ]
    return torch.stack(rows) if rows else torch.empty(0, keep, dtype=torch.long)  # (B, keep)
