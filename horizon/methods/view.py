"""The token-view contract: what a pruning method may read at the pruning point.

Methods are written against this Protocol and never import the engine; the engine's
:class:`horizon.engine.views.LazyTokenView` implements it (each field computed on first access, so nothing
is computed twice or for nothing). Indices: ``visual_rows`` are rows of the current (possibly already
pruned) sequence, ``visual_index`` the original prompt indices of the same tokens (-1: a merged token). A
method returns indices into ``0..n_visual-1``, in the order of ``visual_rows``.
"""

from __future__ import annotations

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
    }
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

    def text_after_visual(self, sample: int) -> torch.Tensor:
        """(T,) rows of the current sequence after the last visual token of ``sample``, no padding."""
        ...

    def prev_attention(self, query_rows: torch.Tensor) -> torch.Tensor:
        """(B, Q, S) layer ``layer - 1``'s head-mean causal attention of ``query_rows`` (B, Q) over all keys."""
        ...
