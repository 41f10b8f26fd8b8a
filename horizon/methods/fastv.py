"""FastV (Chen et al., "An Image is Worth 1/2 Tokens After Layer 2", ECCV'24; github.com/pkunlp-icler/FastV).

At a stage at layer K, keep the visual tokens that receive the most attention from the **last prompt
token** at layer K-1, averaged over heads (the reference code's score; its paper describes an average over
all queries, FastV issue #44). Layers ``0..K-1`` see every token. Original rope positions are kept
(``position_ids = keep_indices`` in the reference). The reference reads layer K-1's full attention map
(eager); horizon recomputes only the last-query row from q/k, which equals it (tests/test_views.py), so
it also runs under SDPA and flash-attention. Qwen2.5-VL has no official port: the natural one is used
(same score, the 3-D M-RoPE positions of the kept tokens kept, rope_deltas of the full prompt).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from horizon.methods.base import register_method
from horizon.methods.scoring import top_k_sorted, visual_columns
from horizon.methods.view import TokenView


@register_method(
    "fastv",
    needs=frozenset({"prev_last_query_attention"}),
    positions="original",
    flash_compatible=False,
    min_layer=1,
    reference="Chen et al., ECCV 2024 (github.com/pkunlp-icler/FastV)",
)
def select_fastv(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    scores = visual_columns(view.prev_last_query_attention, view.visual_rows)  # (B, Nv)
    return top_k_sorted(scores, keep)  # (B, keep)
