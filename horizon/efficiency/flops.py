"""Analytic prefill FLOPs and KV-cache bytes of a decoder from its architecture numbers (no weights).

Formula ``dense-prefill`` (FastV's per-layer count, 2 FLOPs per multiply-add, extended to GQA): a layer
that holds ``n`` tokens costs

    2·n·D·(H·hd) + 2·2·n·D·(KV·hd) + 2·n·(H·hd)·D      q, k, v and o projections
    + 2·2·n²·(H·hd)                                   QKᵀ and AV over the full n×n square
    + 2·3·n·D·I                                       gated MLP (gate, up, down)

summed over layers with each layer's own ``n`` (the tokens entering it under a schedule). The vision
tower and the lm head are not counted. KV bytes: ``2·n·KV·hd·bytes`` per layer.

Mixture of experts (Qwen3-VL-30B-A3B, -235B-A22B; ``Architecture.experts``): a sparse layer's MLP term is
instead what each token activates,

    2·n·D·E                                           the router (one D x E projection per token)
    + 2·3·n·D·I_moe·k                                 its top-k experts' gated MLPs (gate, up, down)

with E experts, k of them per token, each of width I_moe; the softmax, top-k and weighting are not
counted (as the norms and activations are not). Which layers are sparse follows transformers'
``mlp_only_layers`` and ``decoder_sparse_step`` (``Architecture.sparse``); a dense layer keeps ``2·3·n·D·I``.
Attention and the KV cache are the dense formula's: experts hold no keys or values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from horizon.models.presets import Architecture

FORMULA_NAME = "dense-prefill (FastV count, GQA-aware)"


def layer_flops(arch: Architecture, n: int, layer: int | None = None) -> float:
    """Prefill FLOPs of decoder layer ``layer`` holding ``n`` tokens; ``layer`` may be left out where every layer
    costs the same (a dense decoder, or one whose layers are all sparse)."""
    if n < 0:
        raise ValueError(f"token count {n} must be >= 0")
    if layer is None:
        kinds = {arch.sparse(i) for i in range(arch.layers)}
        if len(kinds) > 1:
            raise ValueError("this decoder mixes dense and sparse (MoE) layers: give the layer whose FLOPs to count")
        sparse = kinds.pop()
    else:
        sparse = arch.sparse(layer)
    d, q, kv = arch.hidden, arch.heads * arch.head_dim, arch.kv_heads * arch.head_dim
    projections = 2 * n * d * q + 2 * 2 * n * d * kv + 2 * n * q * d
    attention = 2 * 2 * n * n * q
    if sparse:
        mlp = 2 * n * d * arch.experts + 2 * 3 * n * d * arch.moe_intermediate * arch.experts_per_token
    else:
        mlp = 2 * 3 * n * d * arch.intermediate
    return float(projections + attention + mlp)


def prefill_flops(arch: Architecture, tokens_per_layer: Sequence[int]) -> float:
    """Prefill FLOPs of the whole decoder; ``tokens_per_layer[i]`` tokens enter layer ``i``."""
    if len(tokens_per_layer) != arch.layers:
        raise ValueError(f"got {len(tokens_per_layer)} layer counts for a {arch.layers}-layer decoder")
    return sum(layer_flops(arch, n, i) for i, n in enumerate(tokens_per_layer))


def kv_cache_bytes(arch: Architecture, tokens_per_layer: Sequence[int], bytes_per_value: int = 2) -> float:
    """KV-cache bytes after prefill (keys and values of every layer's own length)."""
    if isinstance(bytes_per_value, bool) or bytes_per_value <= 0:
        raise ValueError(f"bytes per cached value must be > 0 (2 for fp16/bf16), got {bytes_per_value!r}")
    if len(tokens_per_layer) != arch.layers:
        raise ValueError(f"got {len(tokens_per_layer)} layer counts for a {arch.layers}-layer decoder")
    return float(sum(2 * n * arch.kv_heads * arch.head_dim * bytes_per_value for n in tokens_per_layer))


def map_flops(arch: Architecture, n_visual: int, text_tokens: int, layers: Iterable[int]) -> float:
    """Analytic FLOPs of one sample's batched information map at ``layers``: the shared prefill, then at each layer
    i the n_visual + 1 candidate rows (every token withdrawn, and none) through its L - i remaining layers."""
    L = arch.layers
    prefix = prefill_flops(arch, [text_tokens + n_visual] * L)
    rest = [layer_flops(arch, text_tokens + 1, j) for j in range(L)]  # one candidate row through layer j
    return prefix + sum((n_visual + 1) * sum(rest[i:]) for i in layers)
