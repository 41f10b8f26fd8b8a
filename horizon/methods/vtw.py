"""VTW, Visual Tokens Withdrawal (Lin et al., AAAI'25; github.com/lzhxmu/VTW).

Withdraws every visual token from the pruning layer on (written ``vtw@K``, no keep); layers ``0..K-1``
see all of them. Original rope positions are kept (VTW's default ``pe_type="keep"``). VTW's own
choice of K (the KL search, ``--findk``) is not part of the method: the schedule gives K.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from horizon.methods.base import register_method
from horizon.methods.view import TokenView


@register_method(
    "vtw",
    positions="original",
    flash_compatible=True,
    reference="Lin et al., Boosting Multimodal LLMs with Visual Tokens Withdrawal, AAAI 2025 (github.com/lzhxmu/VTW)",
)
def select_vtw(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    if keep != 0:
        raise ValueError(f"vtw withdraws every visual token; it cannot keep {keep}")
    return torch.empty(view.batch, 0, dtype=torch.long)  # (B, 0)
