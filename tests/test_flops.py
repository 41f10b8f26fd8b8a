"""Analytic FLOPs and KV bytes against hand-computed values."""

from __future__ import annotations

import pytest

from horizon.efficiency.flops import kv_cache_bytes, layer_flops, prefill_flops
from horizon.models.presets import MODELS, Architecture


def test_layer_flops_hand_computed():
    arch = Architecture(layers=2, hidden=4, intermediate=8, heads=2, kv_heads=1, vocab=10)
    # n=3, D=4, q=4, kv=2: proj 2·3·4·4 + 4·3·4·2 + 2·3·4·4 = 96+96+96; attn 4·9·4 = 144; mlp 6·3·4·8 = 576
    assert layer_flops(arch, 3) == 96 + 96 + 96 + 144 + 576
    assert prefill_flops(arch, [3, 0]) == layer_flops(arch, 3)
    assert kv_cache_bytes(arch, [3, 1], bytes_per_value=2) == 2 * 4 * 1 * 2 * 2


def test_llava_7b_full_prefill_is_about_9_tflops():
    # the paper's Table 3 gives 9.22 T for LLaVA-1.5-7B on TextVQA (576 visual + ~116 text tokens)
    arch = MODELS.get("llava-1.5-7b").arch
    assert prefill_flops(arch, [692] * 32) / 1e12 == pytest.approx(9.22, abs=0.05)


def test_bad_counts():
    arch = MODELS.get("tiny-llava").arch
    with pytest.raises(ValueError, match="got 3 layer counts for a 32-layer decoder"):
        prefill_flops(arch, [1, 2, 3])
