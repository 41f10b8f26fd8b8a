"""The token view: what a pruning method may read at the pruning point, computed lazily.

A method never sees the model. At a stage at layer K the engine builds a :class:`LazyTokenView` (implementing the methods'
:class:`horizon.methods.view.TokenView` contract) over the
current (possibly already pruned) sequence; each field is computed on first access and cached, so nothing
is computed twice or for nothing. Attention scores are recomputed from q/k for the last query only
(never the full attention map), so methods run under SDPA and flash-attention too.

Indices: ``visual_rows`` are rows of the current sequence, ``visual_index`` the original prompt indices
of the same tokens. A method returns indices into ``0..n_visual-1`` (the order of ``visual_rows``).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import torch

from horizon.methods.view import Tower


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, H, S, hd); cos/sin (B, S, hd) -> rotated x (the Llama / Qwen2.5-VL>=5.20 convention)."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # (B, 1, S, hd)
    return x * cos + rotate_half(x) * sin


def heads(attn: Any, which: str, x: torch.Tensor) -> torch.Tensor:
    """The ``which`` ("q" or "k") projection of ``x`` (B, S, D) per head, (B, H, S, hd), before rope; with the
    layer's per-head QK-norm where it has one (Qwen3-VL's ``q_norm`` / ``k_norm``, applied before rope)."""
    B, S, _ = x.shape
    t = getattr(attn, f"{which}_proj")(x).view(B, S, -1, attn.head_dim)
    norm = getattr(attn, f"{which}_norm", None)
    return (t if norm is None else norm(t)).transpose(1, 2)


def layer_keys(layer: Any, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Post-rope keys of ``layer`` for input ``hidden`` (B, S, D) -> (B, KV, S, hd)."""
    attn = layer.self_attn
    x = layer.input_layernorm(hidden)
    return apply_rope(heads(attn, "k", x), cos, sin)  # (B, KV, S, hd)


def last_query_attention(
    layer: Any, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, pad: torch.Tensor | None
) -> torch.Tensor:
    """Head-mean softmax attention of the last query over all keys, from q/k only -> (B, S) float32."""
    attn = layer.self_attn
    x = layer.input_layernorm(hidden)
    q = apply_rope(heads(attn, "q", x[:, -1:]), cos[:, -1:], sin[:, -1:])  # (B, H, 1, hd)
    k = apply_rope(heads(attn, "k", x), cos, sin).repeat_interleave(attn.num_key_value_groups, dim=1)  # (B, H, S, hd)
    logits = (q.float() @ k.float().transpose(-1, -2)).squeeze(2) * attn.scaling  # (B, H, S)
    if pad is not None:
        logits = logits.masked_fill(~pad[:, None, :], torch.finfo(logits.dtype).min)
    return logits.softmax(-1).mean(1)  # (B, S)


def query_attention(
    layer: Any,
    hidden: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    pad: torch.Tensor | None,
    query_rows: torch.Tensor,
) -> torch.Tensor:
    """Head-mean causal softmax attention of the given query rows, from q/k only: (B, Q) -> (B, Q, S) float32."""
    attn = layer.self_attn
    x = layer.input_layernorm(hidden)
    B, S, _ = x.shape
    idx = query_rows.unsqueeze(-1)  # (B, Q, 1)
    xq = x.gather(1, idx.expand(-1, -1, x.shape[-1]))  # (B, Q, D)
    cq, sq = (t.gather(1, idx.expand(-1, -1, t.shape[-1])) for t in (cos, sin))  # (B, Q, hd)
    q = apply_rope(heads(attn, "q", xq), cq, sq)  # (B, H, Q, hd)
    k = apply_rope(heads(attn, "k", x), cos, sin).repeat_interleave(attn.num_key_value_groups, dim=1)  # (B, H, S, hd)
    logits = (q.float() @ k.float().transpose(-1, -2)) * attn.scaling  # (B, H, Q, S)
    allowed = torch.arange(S, device=x.device)[None, None, :] <= query_rows[:, :, None]  # (B, Q, S) causal
    if pad is not None:
        allowed = allowed & pad[:, None, :]
    logits = logits.masked_fill(~allowed[:, None], torch.finfo(logits.dtype).min)
    return logits.softmax(-1).mean(1)  # (B, Q, S)


class LazyTokenView:
    """The engine's :class:`horizon.methods.view.TokenView`: lazily computed tensors at a pruning point (layer
    ``layer``); see the module docstring."""

    def __init__(
        self,
        *,
        decoder: Any,
        layer: int,
        hidden: torch.Tensor,
        prev_hidden: torch.Tensor | None,
        cos: torch.Tensor,
        sin: torch.Tensor,
        pad: torch.Tensor | None,
        visual_rows: torch.Tensor,
        visual_index: torch.Tensor,
        input_embeddings: torch.Tensor,
        n_visual_original: int,
        rows: torch.Tensor | None = None,
        prompt_visual_mask: torch.Tensor | None = None,
        guide: torch.Tensor | None = None,
        information: torch.Tensor | None = None,
        grid: torch.Tensor | None = None,
        tower: Tower | None = None,
    ) -> None:
        self._decoder = decoder
        self.layer = layer
        self.hidden = hidden  # (B, S, D)
        self._prev_hidden = prev_hidden  # (B, S, D) input of layer-1, same rows as hidden
        self._cos, self._sin = cos, sin  # (B, S, hd)
        self.pad = pad  # (B, S) bool or None
        self.visual_rows = visual_rows  # (B, Nv) rows of the current sequence
        self.visual_index = visual_index  # (B, Nv) original prompt indices
        self._input_embeddings = input_embeddings  # (B, S0, D) decoder input before layer 0
        self.n_visual_original = n_visual_original
        B, S = hidden.shape[:2]
        self.rows = torch.arange(S, device=hidden.device).expand(B, S) if rows is None else rows  # (B, S)
        self.prompt_visual_mask = prompt_visual_mask  # (B, S0) bool: the prompt's original visual rows
        self._guide = guide  # (B, Nv0) guide importance of the original visual tokens
        self._information = information  # (B, Nv0) information of the original visual tokens at this layer
        self._grid = grid  # (B, 2) the prompt's visual grid
        self._tower = tower  # the vision tower's probe of the prompt's visual tokens
        self.accessed: set[str] = set()

    @property
    def batch(self) -> int:
        return int(self.hidden.shape[0])

    @property
    def n_visual(self) -> int:
        """Visual tokens surviving to this point."""
        return int(self.visual_rows.shape[1])

    @property
    def seq_len(self) -> int:
        return int(self.hidden.shape[1])

    def _prev_layer(self) -> tuple[Any, torch.Tensor]:
        if self.layer == 0 or self._prev_hidden is None:
            raise ValueError(f"the view at layer {self.layer} has no previous decoder layer; prune at layer >= 1")
        return self._decoder.layers[self.layer - 1], self._prev_hidden

    @cached_property
    def spans(self) -> dict[str, torch.Tensor]:
        """Rows of the current sequence: ``visual`` (B, Nv) and ``text`` (B, S-Nv), both ascending."""
        self.accessed.add("spans")
        is_visual = torch.zeros(self.hidden.shape[:2], dtype=torch.bool, device=self.hidden.device)
        is_visual.scatter_(1, self.visual_rows, True)
        text = torch.stack([(~row).nonzero().squeeze(-1) for row in is_visual])  # (B, S-Nv)
        return {"visual": self.visual_rows, "text": text}

    @cached_property
    def normed_hidden(self) -> torch.Tensor:
        """(B, S, D): the hidden states through the decoder's final norm (DART's similarity input)."""
        self.accessed.add("normed_hidden")
        return self._decoder.norm(self.hidden)

    @cached_property
    def prev_keys(self) -> torch.Tensor:
        """(B, KV, S, hd): post-rope keys of layer ``layer-1`` (KV heads, not repeated)."""
        self.accessed.add("prev_keys")
        layer, hidden = self._prev_layer()
        return layer_keys(layer, hidden, self._cos, self._sin)

    @cached_property
    def prev_last_query_attention(self) -> torch.Tensor:
        """(B, S): layer ``layer-1``'s head-mean attention from the last query (FastV's score)."""
        self.accessed.add("prev_last_query_attention")
        layer, hidden = self._prev_layer()
        return last_query_attention(layer, hidden, self._cos, self._sin, self.pad)

    @cached_property
    def last_query_attention(self) -> torch.Tensor:
        """(B, S): the pruning layer's own head-mean attention from the last query (PDrop's score)."""
        self.accessed.add("last_query_attention")
        layer = self._decoder.layers[self.layer]
        return last_query_attention(layer, self.hidden, self._cos, self._sin, self.pad)

    @cached_property
    def embeddings(self) -> torch.Tensor:
        """(B, Nv, D): pre-LLM embeddings (projector output) of the surviving visual tokens."""
        self.accessed.add("embeddings")
        if bool((self.visual_index < 0).any()):
            raise ValueError("pre-LLM embeddings are undefined for merged tokens (an earlier stage recycled tokens)")
        idx = self.visual_index.unsqueeze(-1).expand(-1, -1, self._input_embeddings.shape[-1])
        return self._input_embeddings.gather(1, idx)

    @cached_property
    def visual_hidden(self) -> torch.Tensor:
        """(B, Nv, D): the hidden states of the surviving visual tokens."""
        self.accessed.add("hidden")
        idx = self.visual_rows.unsqueeze(-1).expand(-1, -1, self.hidden.shape[-1])
        return self.hidden.gather(1, idx)

    @property
    def prompt_embeddings(self) -> torch.Tensor:
        """(B, S0, D): the decoder input of the whole original prompt (index with ``rows``)."""
        self.accessed.add("embeddings")
        return self._input_embeddings

    def text_after_visual(self, sample: int) -> torch.Tensor:
        """Rows of the current sequence after the last visual token (the question and template), no padding."""
        self.accessed.add("spans")
        S = self.seq_len
        after = torch.arange(S, device=self.hidden.device) > self.visual_rows[sample].max()
        if self.pad is not None:
            after &= self.pad[sample]
        return after.nonzero().squeeze(-1)  # (T,)

    def prev_attention(self, query_rows: torch.Tensor) -> torch.Tensor:
        """(B, Q, S): layer ``layer-1``'s head-mean causal attention of ``query_rows`` (B, Q) over all keys."""
        self.accessed.add("prev_attention")
        layer, hidden = self._prev_layer()
        return query_attention(layer, hidden, self._cos, self._sin, self.pad, query_rows)

    @cached_property
    def guide_importance(self) -> torch.Tensor:
        """(B, Nv): a guide model's importance of the surviving visual tokens (SGL)."""
        self.accessed.add("guide_importance")
        if self._guide is None:
            raise ValueError("no guide importance: SGL needs a guide model (run(..., guide_importance=...))")
        return self._per_original_token(self._guide, "guide importance")

    @cached_property
    def information(self) -> torch.Tensor:
        """(B, Nv): each surviving visual token's information I_i at this layer (the oracle; Eq. 6)."""
        self.accessed.add("information")
        if self._information is None:
            raise ValueError(
                f"no information at layer {self.layer}: the oracle needs run(..., information={{layer: (B, Nv)}}) "
                "from horizon.information.oracle_information"
            )
        return self._per_original_token(self._information, "information")

    @cached_property
    def grid(self) -> torch.Tensor:
        """(B, 2): rows and columns of the prompt's visual-token grid (its original tokens, in raster order)."""
        self.accessed.add("grid")
        if self._grid is None:
            raise ValueError("no visual grid: the prompt carries none (prepare it with horizon.engine.run.prepare)")
        return self._grid

    @cached_property
    def tower(self) -> Tower:
        """The vision tower's attention, keys and features of the surviving visual tokens, and its projector."""
        self.accessed.add("tower")
        if self._tower is None:
            raise ValueError("no vision-tower probe: the run's plan carries none (horizon.engine.planning.plan_for "
                             "computes it when a stage needs it)")  # fmt: skip
        t = self._tower
        return Tower(self._per_original_token(t.attention, "tower attention"),
                     self._per_original_rows(t.keys, "tower keys"),
                     self._per_original_rows(t.features, "tower features"), t.project)  # fmt: skip

    def _per_original_rows(self, values: torch.Tensor, what: str) -> torch.Tensor:
        """Rows given per original visual token (B, Nv0, F), for the surviving ones (B, Nv, F)."""
        index = self._original_offsets(what)
        return values.to(self.hidden.device).gather(1, index[..., None].expand(-1, -1, values.shape[-1]))

    def _original_offsets(self, what: str) -> torch.Tensor:
        """(B, Nv): each surviving visual token's index among the prompt's original visual tokens."""
        if bool((self.visual_index < 0).any()):
            raise ValueError(f"{what} is undefined for merged tokens")
        if self.prompt_visual_mask is None:
            raise ValueError(f"{what} needs the prompt's visual mask in the view")
        offsets = self.prompt_visual_mask.long().cumsum(1) - 1  # prompt index -> visual-token index
        return offsets.gather(1, self.visual_index)

    def _per_original_token(self, values: torch.Tensor, what: str) -> torch.Tensor:
        """Values given per original visual token (B, Nv0), for the surviving ones (B, Nv)."""
        return values.to(self.hidden.device).gather(1, self._original_offsets(what))
