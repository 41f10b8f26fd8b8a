"""``norm-topk``: keep the visual tokens whose hidden states at the pruning layer have the largest L2 norm.

A deliberately simple importance score, as a worked example of a horizon method plugin (docs/plugins.md): it
declares what it reads (``hidden``), returns each sample's kept indices sorted, exactly ``keep`` of them, and draws
nothing at random, so it is deterministic and runs under any attention kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from horizon.methods import register_method
from horizon.methods.view import TokenView


@register_method(
    "norm-topk",
    needs=frozenset({"hidden"}),
    reference="horizon's plugin example (examples/horizon-norm-topk): largest hidden-state norm first",
)
def select_norm_topk(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    norms = view.visual_hidden.float().norm(dim=-1)  # (B, Nv): one row per sample
    return norms.topk(keep, dim=-1).indices.sort(dim=-1).values  # (B, keep), sorted
