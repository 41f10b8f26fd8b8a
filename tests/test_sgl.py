"""SGL: the guide's importance equals a sum over the stock eager attention maps; selection and errors."""

from __future__ import annotations

import pytest
import torch

from horizon.engine.guide import _extend, guide_importance
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.schedule import parse_schedule

Q = "What is written on the sign?"


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_guide_importance_equals_eager_attention_sum(tiny_model, name):
    sdpa, eager = tiny_model(name, "sdpa"), tiny_model(name, "eager")
    got = guide_importance(sdpa, [demo_image()], [Q], new_tokens=3)  # (1, Nv)
    prompt = prepare(eager, [demo_image()], [Q])
    answer = run(eager, prompt, parse_schedule("full"), max_new_tokens=3)
    gen = torch.tensor([answer.token_ids[0]])
    inputs = _extend(prompt.inputs, gen, torch.ones_like(gen))
    eager.adapter.reset(eager.model)
    with torch.inference_mode():
        attentions = eager.model(**inputs, output_attentions=True).attentions  # L x (1, H, T, T)
    vis = prompt.visual_mask[0]
    last = int(vis.nonzero().max())
    want = sum(a[0, :, last + 1 :, : vis.shape[0]].sum((0, 1))[vis] for a in attentions)  # (Nv,)
    torch.testing.assert_close(got[0], want, atol=1e-4, rtol=1e-4)


def test_sgl_keeps_the_guides_most_important(tiny_model):
    loaded = tiny_model("tiny-llava")
    prompt = prepare(loaded, [demo_image()], [Q])
    importance = torch.arange(576, dtype=torch.float32).flip(0)[None]  # token 0 most important
    out = run(loaded, prompt, parse_schedule("sgl@12:#10"), guide_importance=importance, max_new_tokens=1)
    assert out.stages[0].kept_index[0] == tuple(range(10))
    out = run(loaded, prompt, parse_schedule("random@2:0.5+sgl@12:#10"), guide_importance=importance, max_new_tokens=1)
    survivors = out.stages[0].kept_index[0]
    assert out.stages[1].kept_index[0] == survivors[:10]  # the most important among the survivors


def test_sgl_without_or_with_a_mismatched_guide_fails_clearly(tiny_model):
    llava, qwen = tiny_model("tiny-llava"), tiny_model("tiny-qwen2.5-vl")
    prompt = prepare(qwen, [demo_image()], [Q])
    with pytest.raises(ValueError, match="sgl@11:0.4 needs a guide model"):
        run(qwen, prompt, parse_schedule("sgl@11:0.4"))
    wrong = guide_importance(llava, [demo_image()], [Q], new_tokens=1)  # 576 tokens vs Qwen's 192
    with pytest.raises(ValueError, match="the guide must see the same image geometry"):
        run(qwen, prompt, parse_schedule("sgl@11:0.4"), guide_importance=wrong)
