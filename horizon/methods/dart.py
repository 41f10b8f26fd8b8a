"""DART (Wen et al., "Stop Looking for Important Tokens... Duplication Matters More", EMNLP'25;
github.com/ZichenWen1/DART, read at the fork xqy1111111/DART@5a19452 with the Qwen2.5-VL port).

At a stage at layer K (reference default K=2), from layer K-1's outputs:

* pivots: the 4 visual tokens and the 4 text tokens after the image (question and template) with the
  largest L1 norm of layer K-1's post-rope key (all KV heads concatenated; for LLaVA-1.5, which has no
  GQA, this equals the reference's repeated keys, and repetition would not change the ranking anyway);
* for each pivot in turn (image pivots by descending norm, then text pivots), the T candidates least
  cosine-similar to it, measured on layer K-1's output through the decoder's final norm, join the kept
  set and leave the candidates.

The reference keeps ``4 + 8·T`` with ``T = ⌊budget/8⌋``; horizon keeps exactly ``keep`` by giving the first
``(keep - 4) mod P`` pivots one more token (P = number of pivots, 8 unless the question is shorter than 4
tokens). Original rope positions are kept (3-D M-RoPE ones on Qwen, as the port does). Only keys and
hidden states are read, so it is flash-attention compatible.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from horizon.methods.base import register_method
from horizon.methods.view import TokenView

IMAGE_PIVOTS = 4
TEXT_PIVOTS = 4


def pivot_order(norms: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the ``count`` largest norms, largest first (ties to the lower index)."""
    return torch.sort(norms, descending=True, stable=True).indices[:count]


def duplication_select(
    x: torch.Tensor, visual_rows: torch.Tensor, image_pivots: torch.Tensor, text_pivot_rows: torch.Tensor, keep: int
) -> torch.Tensor:
    """One sample: x (S, D) unit vectors, visual_rows (Nv,), pivots -> sorted kept visual indices (keep,)."""
    Nv = visual_rows.shape[0]
    pivot_rows = torch.cat([visual_rows[image_pivots], text_pivot_rows])  # (P,)
    per_pivot, extra = divmod(keep - image_pivots.shape[0], pivot_rows.shape[0])
    candidate = torch.ones(Nv, dtype=torch.bool, device=x.device)
    candidate[image_pivots] = False
    chosen = [image_pivots]
    vis = x[visual_rows]  # (Nv, D)
    for i, row in enumerate(pivot_rows):
        t = per_pivot + (1 if i < extra else 0)
        pool = candidate.nonzero().squeeze(-1)  # (C,)
        if t == 0 or pool.numel() == 0:
            continue
        sims = vis[pool] @ x[row]  # (C,) cosine similarity to the pivot
        least = pool[torch.sort(sims, stable=True).indices[:t]]  # the least duplicated
        candidate[least] = False
        chosen.append(least)
    return torch.cat(chosen).sort().values


@register_method(
    "dart",
    needs=frozenset({"prev_keys", "normed_hidden", "spans"}),
    positions="original",
    flash_compatible=True,
    min_layer=1,
    reference="Wen et al., DART, EMNLP 2025 (github.com/ZichenWen1/DART)",
)
def select_dart(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    if keep == 0:
        return torch.empty(view.batch, 0, dtype=torch.long)
    if view.n_visual < IMAGE_PIVOTS or keep < IMAGE_PIVOTS:
        raise ValueError(
            f"DART keeps its {IMAGE_PIVOTS} image pivots: it needs at least {IMAGE_PIVOTS} surviving visual "
            f"tokens and keep >= {IMAGE_PIVOTS} (got {view.n_visual} surviving, keep {keep}); use vtw to drop all"
        )
    keys = view.prev_keys  # (B, KV, S, hd)
    B, _, S, _ = keys.shape
    norms = keys.transpose(1, 2).reshape(B, S, -1).float().abs().sum(-1)  # (B, S) L1 norm per token
    x = F.normalize(view.normed_hidden.float(), dim=-1)  # (B, S, D)
    out = []
    for b in range(B):
        vrows = view.visual_rows[b]
        image_pivots = pivot_order(norms[b, vrows], IMAGE_PIVOTS)  # indices into 0..Nv-1
        text_rows = view.text_after_visual(b)
        text_pivots = text_rows[pivot_order(norms[b, text_rows], min(TEXT_PIVOTS, text_rows.numel()))]
        out.append(duplication_select(x[b], vrows, image_pivots, text_pivots, keep))
    return torch.stack(out)  # (B, keep)
