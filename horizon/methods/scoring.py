"""Small pure helpers shared by selection functions."""

from __future__ import annotations

import torch


def top_k_sorted(scores: torch.Tensor, keep: int) -> torch.Tensor:
    """Indices of the ``keep`` largest scores per row, ascending: (B, N) -> (B, keep).

    Ties resolve to the lower index (a stable descending sort), so selections are deterministic.
    """
    order = torch.sort(scores, dim=-1, descending=True, stable=True).indices  # (B, N)
    return order[:, :keep].sort(dim=-1).values


def visual_columns(scores: torch.Tensor, visual_rows: torch.Tensor) -> torch.Tensor:
    """Scores over the whole sequence (B, S) restricted to the visual rows (B, Nv)."""
    return scores.gather(1, visual_rows)
