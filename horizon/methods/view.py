"""The token-view contract: what a pruning method may read at the pruning point.

Methods are written against this Protocol and never import the engine; the engine's
:class:`horizon.engine.views.LazyTokenView` implements it (each field computed on first access, so nothing
is computed twice or for nothing). Indices: ``visual_rows`` are rows of the current (possibly already
pruned) sequence, ``visual_index`` the original prompt indices of the same tokens (-1: a merged token). A
method returns indices into ``0..n_visual-1``, in the order of ``visual_rows``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

# Fields a method may declare in ``needs`` (what it reads; the engine records what it did read).
VIEW_FIELDS = frozenset(
    {
        "hidden",  # (B, S, D) residual stream entering the pruning layer
        "normed_hidden",  # (B, S, D) the same through the decoder's final norm
        "prev_keys",  # (B, KV, S, hd) post-rope keys of the layer before the pruning layer
        "prev_last_query_attention",  # (B, S) last-query attention of the layer before, head mean
        "last_query_attention",  # (B, S) last-query attention of the pruning layer on its input
        "prev_attention",  # (B, Q, S) attention of chosen query rows at the layer before (SparseVLM raters)
        "embeddings",  # (B, Nv, D) pre-LLM embeddings of the surviving visual tokens
        "spans",  # visual/text row indices in the current sequence
        "guide_importance",  # (B, Nv) a guide model's attention to the surviving visual tokens (SGL)
        "information",  # (B, Nv) each surviving token's information at the pruning layer (the oracle)
        "grid",  # (B, 2) rows and columns of the prompt's visual-token grid (pooling)
        "tower",  # the vision tower's own attention, keys and features of the visual tokens (VisionZip)
    }
)


@dataclass(frozen=True)
class Tower:
    """What the vision tower computed for the prompt's visual tokens, one row per visual token of the LLM (B, Nv, ...)
    (read from the checkpoint's own tower by the model family's adapter; VisionZip's inputs).

    ``attention`` (B, Nv): how much attention each visual token gets in the tower's feature layer (LLaVA: the CLS
    query's, summed over heads; Qwen2.5-VL: received from every patch, head mean, summed over the token's merged
    patches); ``keys`` (B, Nv, d): that layer's keys, head mean; ``features`` (B, Nv, F): what the projector maps to
    the LLM (LLaVA: the selected layer's patch states; Qwen2.5-VL: the token's patches before the merger, flattened);
    ``project``: the projector, (B, m, F) -> (B, m, D) LLM input embeddings.
    """

    attention: torch.Tensor
    keys: torch.Tensor
    features: torch.Tensor
    project: Callable[[torch.Tensor], torch.Tensor]

    def __post_init__(self) -> None:
        B, N = self.attention.shape[:2] if self.attention.ndim == 2 else (-1, -1)
        if self.attention.ndim != 2 or self.keys.shape[:2] != (B, N) or self.features.shape[:2] != (B, N):
            raise ValueError(
                f"tower attention (B, Nv), keys (B, Nv, d) and features (B, Nv, F) must agree, got "
                f"{tuple(self.attention.shape)}, {tuple(self.keys.shape)}, {tuple(self.features.shape)}"
            )


class TokenView(Protocol):
    """Tensors at a pruning point at decoder layer ``layer`` (0: before the first decoder layer)."""

    @property
    def layer(self) -> int: ...
    @property
    def hidden(self) -> torch.Tensor:
        """(B, S, D) the residual stream entering the pruning layer."""
        ...

    @property
    def pad(self) -> torch.Tensor | None:
        """(B, S) bool: real (unpadded) rows, or None without padding."""
        ...

    @property
    def visual_rows(self) -> torch.Tensor:
        """(B, Nv) rows of the current sequence holding the surviving visual tokens, ascending."""
        ...

    @property
    def visual_index(self) -> torch.Tensor:
        """(B, Nv) the same tokens' original prompt indices (-1: merged)."""
        ...

    @property
    def rows(self) -> torch.Tensor:
        """(B, S) each current row's original prompt index."""
        ...

    @property
    def prompt_visual_mask(self) -> torch.Tensor | None:
        """(B, S0) bool: the original prompt's visual rows."""
        ...

    @property
    def n_visual_original(self) -> int: ...
    @property
    def batch(self) -> int: ...
    @property
    def n_visual(self) -> int:
        """Visual tokens surviving to this point."""
        ...

    @property
    def seq_len(self) -> int: ...
    @property
    def spans(self) -> dict[str, torch.Tensor]:
        """Rows of the current sequence: ``visual`` (B, Nv) and ``text`` (B, S-Nv), both ascending."""
        ...

    @property
    def normed_hidden(self) -> torch.Tensor:
        """(B, S, D) the hidden states through the decoder's final norm."""
        ...

    @property
    def prev_keys(self) -> torch.Tensor:
        """(B, KV, S, hd) post-rope keys of layer ``layer - 1``."""
        ...

    @property
    def prev_last_query_attention(self) -> torch.Tensor:
        """(B, S) layer ``layer - 1``'s head-mean attention from the last query."""
        ...

    @property
    def last_query_attention(self) -> torch.Tensor:
        """(B, S) the pruning layer's own head-mean attention from the last query, on its input."""
        ...

    @property
    def embeddings(self) -> torch.Tensor:
        """(B, Nv, D) pre-LLM embeddings (the projector output) of the surviving visual tokens."""
        ...

    @property
    def visual_hidden(self) -> torch.Tensor:
        """(B, Nv, D) the hidden states of the surviving visual tokens."""
        ...

    @property
    def prompt_embeddings(self) -> torch.Tensor:
        """(B, S0, D) the decoder input of the whole original prompt (index it with ``rows``)."""
        ...

    @property
    def guide_importance(self) -> torch.Tensor:
        """(B, Nv) a guide model's importance of the surviving visual tokens (SGL)."""
        ...

    @property
    def information(self) -> torch.Tensor:
        """(B, Nv) each surviving visual token's information at this layer (the oracle; the paper's Eq. 6)."""
        ...

    @property
    def grid(self) -> torch.Tensor:
        """(B, 2) rows and columns of the prompt's visual-token grid, in the LLM's raster order (pooling)."""
        ...

    @property
    def tower(self) -> Tower:
        """The vision tower's attention, keys and features of the prompt's visual tokens, and its projector."""
        ...

    def text_after_visual(self, sample: int) -> torch.Tensor:
        """(T,) rows of the current sequence after the last visual token of ``sample``, no padding."""
        ...

    def prev_attention(self, query_rows: torch.Tensor) -> torch.Tensor:
        """(B, Q, S) layer ``layer - 1``'s head-mean causal attention of ``query_rows`` (B, Q) over all keys."""
        ...
