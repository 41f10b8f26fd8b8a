"""The information oracle (the paper, Sec. 3.3 / Fig. 6 and 11): keep the visual tokens with the highest
information I_i(V_k) = p_k - p_text (Eq. 6) at the pruning layer i.

Information needs the ground-truth answer, so this is an analysis tool, not a deployable method. The scores
come precomputed per layer (``run(..., information={i: (B, Nv)})``, from
:func:`horizon.information.oracle_information`, which measures them on the unpruned prefix); a later oracle
stage ranks the surviving tokens by the same per-layer scores. Original positions are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from horizon.methods.base import register_method
from horizon.methods.scoring import top_k_sorted
from horizon.methods.view import TokenView


@register_method(
    "oracle",
    needs=frozenset({"information"}),
    positions="original",
    flash_compatible=True,
    reference="the paper: All You Need Are Random Visual Tokens? (Eq. 6, Sec. 3.3), YahongWang1/Information-Horizon",
)
def select_oracle(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    return top_k_sorted(view.information, keep)  # (B, keep)
