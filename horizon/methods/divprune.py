"""DivPrune (Alvar et al., "Diversity-based Visual Token Pruning", CVPR'25; github.com/vbdi/divprune).

Token pruning as a Max-Min Diversity Problem, solved greedily on the cosine distance ``1 - cos(v_i, v_j)``
between visual tokens: first the token farthest from its nearest neighbour, then repeatedly the token
whose distance to the nearest already-selected one is largest; the kept indices are sorted (as the
official repo does). The reference prunes before the LLM (layer 0) on the projector output; at layer 0
the view's visual hidden states *are* those embeddings. At a deeper layer (the paper's layer sweeps)
horizon uses the hidden states entering that layer. Already-selected tokens are excluded from later
picks (as MMTok's port does), so exactly ``keep`` distinct tokens come back even with duplicates.
Positions: the LLaVA reference feeds a shorter prompt, i.e. **re-indexed** positions; Qwen2.5-VL has no
official port and keeps the original M-RoPE positions (MMTok's choice), computing distances on the
merged LLM-input embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from horizon.methods.base import register_method
from horizon.methods.view import TokenView


def max_min_diverse(features: torch.Tensor, keep: int) -> torch.Tensor:
    """Greedy max-min diverse subset of ``features`` (N, D): ``keep`` indices in pick order."""
    N = features.shape[0]
    if keep == 0:
        return torch.empty(0, dtype=torch.long, device=features.device)
    x = F.normalize(features.float(), dim=-1)
    dist = 1.0 - x @ x.T  # (N, N) cosine distance
    if N == 1:
        return torch.zeros(1, dtype=torch.long, device=features.device)
    others = dist.clone().fill_diagonal_(float("inf"))
    picks = torch.empty(keep, dtype=torch.long, device=features.device)
    picks[0] = others.min(0).values.argmax()  # the most isolated token
    closest = dist[picks[0]].clone()  # (N,) distance to the nearest selected token
    closest[picks[0]] = float("-inf")
    for t in range(1, keep):  # no host sync: picks stay on the device
        picks[t] = closest.argmax()
        closest = torch.minimum(closest, dist[picks[t]])  # earlier picks stay at -inf
        closest[picks[t]] = float("-inf")
    return picks


@register_method(
    "divprune",
    needs=frozenset({"hidden"}),
    positions="reindex",
    flash_compatible=True,
    reference="Alvar et al., DivPrune, CVPR 2025 (github.com/vbdi/divprune)",
)
def select_divprune(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    feats = view.visual_hidden  # (B, Nv, D); at layer 0 the projector output
    return torch.stack([max_min_diverse(f, keep).sort().values for f in feats])  # (B, keep)
