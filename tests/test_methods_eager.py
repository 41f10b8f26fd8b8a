"""Attention-based selections under SDPA equal the ones read off the stock eager attention maps."""

from __future__ import annotations

import pytest
import torch

from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.schedule import parse_schedule


def _eager_attentions(loaded, prompt):
    loaded.adapter.reset(loaded.model)
    with torch.inference_mode():
        return loaded.model(**prompt.inputs, output_attentions=True).attentions  # L x (B, H, S, S)


def _top(scores: torch.Tensor, keep: int) -> tuple[int, ...]:
    return tuple(torch.sort(scores, descending=True, stable=True).indices[:keep].sort().values.tolist())


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl", "tiny-qwen3-vl"])
@pytest.mark.parametrize(("method", "layer", "attn_layer"), [("fastv", 3, 2), ("pdrop", 8, 8)])
def test_sdpa_selection_equals_eager_attention_map(tiny_model, name, method, layer, attn_layer):
    sdpa, eager = tiny_model(name, "sdpa"), tiny_model(name, "eager")
    prompt = prepare(sdpa, [demo_image()], ["What is written on the sign?"])
    out = run(sdpa, prompt, parse_schedule(f"{method}@{layer}:0.25"), max_new_tokens=1)
    attn = _eager_attentions(eager, prompt)[attn_layer][0, :, -1].mean(0)  # (S,) last query, head mean
    scores = attn[prompt.visual_mask[0]]
    assert out.stages[0].kept_index[0] == _top(scores, out.stages[0].kept)
