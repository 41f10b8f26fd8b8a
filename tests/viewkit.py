"""Build TokenViews from constructed tensors for hand-computed method tests (no model involved)."""

from __future__ import annotations

import torch

from horizon.engine.views import LazyTokenView


class _Norm:
    """Stands in for the decoder: only the final norm is reachable (identity here)."""

    layers: list = []

    def norm(self, x: torch.Tensor) -> torch.Tensor:
        return x


def make_view(hidden: torch.Tensor, visual_rows: list[int], *, layer: int = 2, **fields: torch.Tensor) -> LazyTokenView:
    """A one-sample view over ``hidden`` (S, D) with visual ``visual_rows``; ``fields`` pre-set lazy fields."""
    S, D = hidden.shape
    cos = torch.ones(1, S, 2)
    view = LazyTokenView(
        decoder=_Norm(),
        layer=layer,
        hidden=hidden[None],
        prev_hidden=hidden[None],
        cos=cos,
        sin=cos * 0,
        pad=None,
        visual_rows=torch.tensor([visual_rows]),
        visual_index=torch.tensor([visual_rows]),
        input_embeddings=hidden[None],
        n_visual_original=len(visual_rows),
    )
    for name, value in fields.items():
        view.__dict__[name] = value[None]  # a cached_property reads its value from the instance dict
    return view


def unit(degrees: list[float]) -> torch.Tensor:
    """Unit vectors in the plane at the given angles: (N, 2)."""
    rad = torch.tensor(degrees, dtype=torch.float64) * torch.pi / 180
    return torch.stack([rad.cos(), rad.sin()], -1).float()
