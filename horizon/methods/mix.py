"""A selection's mixing matrix: how each visual token after a stage was formed from the view's visual tokens.

``Selection.mix`` (B, keep + m, N) has one row per output visual token (the kept ones in order, then the ``m`` merged
ones) and one column per visual token of the view (``0..N-1``, the order of ``visual_rows``): a kept, unchanged token
is one-hot at its index; a pooled window, a contextual group or a recycled cluster holds the weights that formed its
state (``mix @ visual_states`` gives the states after the stage). The engine forms a new token's pending DeepStack
levels the same way (docs/engine.md, "DeepStack")."""

from __future__ import annotations

import torch


def one_hot(kept: torch.Tensor, n_visual: int) -> torch.Tensor:
    """Rows one-hot at ``kept`` (..., k) over ``n_visual`` columns: (..., k, n_visual) float32."""
    return torch.nn.functional.one_hot(kept.long(), n_visual).float()


def average(members: torch.Tensor, n_visual: int) -> torch.Tensor:
    """One row averaging the visual tokens ``members`` (n,) over ``n_visual`` columns: (n_visual,) float32."""
    row = torch.zeros(n_visual)
    if members.numel():
        row[members.cpu().long()] = 1.0 / members.numel()
    return row


def check_mix(
    method: str, mix: torch.Tensor, keep: torch.Tensor, replaced: torch.Tensor | None, merged: int, n_visual: int
) -> None:
    """Validate ``mix`` against the selection's ``keep`` (B, k), ``replaced`` (B, k) bool or None and ``merged`` new
    tokens: shape (B, k + merged, n_visual), floating, and a kept token that is not replaced one-hot at its index."""
    batch, k = keep.shape
    if mix.ndim != 3 or tuple(mix.shape) != (batch, k + merged, n_visual) or not mix.is_floating_point():
        raise RuntimeError(
            f"method {method!r} returned mix {tuple(mix.shape)} ({mix.dtype}), expected a floating "
            f"({batch}, {k} + {merged}, {n_visual}): one row per kept then merged token, one column per visual token"
        )
    if not k:
        return
    rows = mix[:, :k].float()
    own = rows.gather(2, keep.to(mix.device)[..., None]).squeeze(-1) == 1  # (B, k)
    plain = own & (rows.abs().sum(-1) == 1)  # exactly one-hot at the kept index
    unchanged = torch.ones_like(plain) if replaced is None else ~replaced.to(plain.device)
    if not bool((plain | ~unchanged).all()):
        raise RuntimeError(f"method {method!r} returned mix rows that are not one-hot at the kept index for kept "
                           "tokens it did not replace")  # fmt: skip
