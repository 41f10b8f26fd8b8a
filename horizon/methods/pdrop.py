"""PDrop / PyramidDrop (Xing et al., CVPR'25; github.com/Cooperx521/PyramidDrop).

Multi-stage: each ``pdrop@l:r`` stage ranks the surviving visual tokens by the attention they receive
from the **last instruction token** (the last prompt token), computed with layer l's own input norm,
q/k projections and rope on the current positions, head-averaged, and keeps the top ones. The repo's
default is ``pdrop@8:0.5+pdrop@16:0.25+pdrop@24:0.125``. Positions are **re-indexed** after each drop
(contiguous, as the reference does on LLaVA); Qwen2.5-VL has no official port, which keeps the original
M-RoPE positions there. Only one attention row is computed, so it is flash-attention compatible.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from horizon.methods.base import register_method
from horizon.methods.scoring import top_k_sorted, visual_columns
from horizon.methods.view import TokenView


@register_method(
    "pdrop",
    needs=frozenset({"last_query_attention"}),
    positions="reindex",
    flash_compatible=True,
    reference="Xing et al., PyramidDrop, CVPR 2025 (github.com/Cooperx521/PyramidDrop)",
)
def select_pdrop(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    scores = visual_columns(view.last_query_attention, view.visual_rows)  # (B, Nv)
    return top_k_sorted(scores, keep)  # (B, keep)
