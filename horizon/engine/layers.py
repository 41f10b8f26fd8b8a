"""The stock decoder layers, called one way: the causal mask for a set of rows and the layer calls over it.

The pruned prefill and cached decoding (horizon/engine/loop.py) and the information metric's suffix runs
(horizon/information/metric.py) all run decoder layers through these functions, so a fix to one is a fix to all.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.masking_utils import create_causal_mask


def causal_mask(decoder: Any, h: torch.Tensor, pad: torch.Tensor | None, cache: Any, layer: int) -> Any:
    """The stock causal mask for rows ``h`` (B, S, D) at decoder layer ``layer`` over ``cache`` (padding ``pad``,
    the 2-D mask of every key; None: no padding). Built per distinct key length, never from gapped position ids
    (which would turn on packed-sequence masking)."""
    return create_causal_mask(config=decoder.config, inputs_embeds=h, attention_mask=pad, past_key_values=cache,
                              position_ids=None, layer_idx=layer)  # fmt: skip


def decoder_layer(
    decoder: Any, i: int, h: torch.Tensor, mask: Any, rope: tuple[torch.Tensor, torch.Tensor], cache: Any,
    use_cache: bool = True, **kwargs: Any,
) -> torch.Tensor:  # fmt: skip
    """Stock decoder layer ``i`` on ``h`` (B, S, D) with the rope (cos, sin) of its rows, writing to ``cache``."""
    return decoder.layers[i](h, attention_mask=mask, position_embeddings=rope, position_ids=None,
                             past_key_values=cache, use_cache=use_cache, **kwargs)  # fmt: skip


def decoder_span(
    decoder: Any, h: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], pad: torch.Tensor | None, cache: Any,
    layers: range, use_cache: bool = True, **kwargs: Any,
) -> torch.Tensor:  # fmt: skip
    """Consecutive decoder ``layers`` whose caches hold the same rows: one mask, then each layer in turn. The
    pruned prefill, cached decoding and the information metric's suffix runs all go through these functions."""
    mask = causal_mask(decoder, h, pad, cache, layers.start)
    for i in layers:
        h = decoder_layer(decoder, i, h, mask, rope, cache, use_cache, **kwargs)
    return h
