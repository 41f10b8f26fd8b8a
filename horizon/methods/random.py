"""Random pruning, the paper's own deep-layer method (Sec. 4.3; docs/methods.md).

Keeps a uniformly random subset of the surviving visual tokens, drawn from each sample's explicit
``torch.Generator`` (seeded by the sample's seed and the stage), so a sample's subset does not depend on
the batch it runs in. Reads nothing from the
model, so it works with any attention implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from horizon.methods.base import register_method
from horizon.methods.view import TokenView


@register_method(
    "random",
    stochastic=True,
    positions="original",
    flash_compatible=True,
    reference="Wang et al., All You Need Are Random Visual Tokens? (github.com/YahongWang1/Information-Horizon)",
)
def select_random(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    rows = [
        torch.randperm(view.n_visual, generator=g, device="cpu")[:keep].sort().values  # (keep,)
        for g in generators
    ]
    return torch.stack(rows)  # (B, keep)
