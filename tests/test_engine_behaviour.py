"""Engine behaviour beyond equivalence: kept counts, installation, dtypes, bad input."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaModel

from horizon.engine.loop import PrunedDecoder
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.schedule import parse_schedule


def _prompt(loaded):
    return prepare(loaded, [demo_image()], ["What is written on the sign?"])


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
@pytest.mark.parametrize(
    "schedule", ["random@0:0.5", "random@2:0.44+random@20:0.07", "random@1:#100+vtw@20", "vtw@0", "full"]
)
def test_kept_counts_per_layer_equal_the_schedule(tiny_model, name, schedule):
    loaded = tiny_model(name)
    prompt = _prompt(loaded)
    s = parse_schedule(schedule)
    out = run(loaded, prompt, s, max_new_tokens=2)
    assert out.visual_per_layer == s.tokens_per_layer(loaded.n_layers, prompt.n_visual)
    text = out.prompt_len - out.n_visual
    assert out.tokens_per_layer == tuple(text + v for v in out.visual_per_layer)


def test_kv_cache_lengths_follow_the_schedule(tiny_model):
    loaded = tiny_model("tiny-llava")
    prompt = _prompt(loaded)
    s = parse_schedule("random@1:0.25+random@3:0.05")
    with PrunedDecoder(loaded.decoder, mrope=False) as pruner, torch.inference_mode():
        from horizon.engine.plan import RunPlan

        pruner.begin(RunPlan.build(s, prompt.visual_mask, n_layers=loaded.n_layers, mrope=False, seed=0))
        out = loaded.model(**prompt.inputs, use_cache=True, logits_to_keep=1)
        pruner.finish()
    lengths = [layer.keys.shape[-2] for layer in out.past_key_values.layers]
    S = prompt.inputs["input_ids"].shape[1]
    assert lengths[0] == S and lengths[1:3] == [S - 576 + 144] * 2 and lengths[3] == S - 576 + 29


def test_install_is_per_instance_and_removable(tiny_model):
    loaded = tiny_model("tiny-llava")
    dec = loaded.decoder
    class_forward = LlamaModel.forward
    with PrunedDecoder(dec, mrope=False):
        assert "forward" in vars(dec)
        assert LlamaModel.forward is class_forward
        with pytest.raises(RuntimeError, match="already replaced"):
            PrunedDecoder(dec, mrope=False).install()
    assert "forward" not in vars(dec) and LlamaModel.forward is class_forward


def test_forward_without_run_plan_fails_clearly(tiny_model):
    loaded = tiny_model("tiny-llava")
    with PrunedDecoder(loaded.decoder, mrope=False), pytest.raises(RuntimeError, match="no active run"):
        loaded.model(**_prompt(loaded).inputs)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_half_precision_keep_all_equals_stock_and_prunes(tiny_model, name, dtype):
    loaded = tiny_model(name, "sdpa", dtype)
    prompt = _prompt(loaded)
    assert prompt.inputs["pixel_values"].dtype == getattr(torch, dtype)
    with torch.inference_mode():
        loaded.adapter.reset(loaded.model)
        stock = loaded.model(**prompt.inputs, logits_to_keep=1).logits[:, -1].float()
    out = run(loaded, prompt, parse_schedule("random@0:1"), max_new_tokens=1)
    assert torch.equal(out.step_logits[0], stock)
    pruned = run(loaded, prompt, parse_schedule("random@2:0.25+vtw@20"), max_new_tokens=3)
    assert pruned.dtype == dtype and pruned.visual_per_layer[2] == round(0.25 * prompt.n_visual)
    assert torch.isfinite(pruned.first_token_probs).all()


def test_bad_input_errors(tiny_model):
    loaded = tiny_model("tiny-qwen2.5-vl")
    prompt = _prompt(loaded)
    with pytest.raises(ValueError, match="past the model's depth: layers are 0..27"):
        run(loaded, prompt, parse_schedule("random@28:0.5"))
    with pytest.raises(ValueError, match=r"keeps 500 visual tokens but only \d+"):
        run(loaded, prompt, parse_schedule("random@2:#500"))
    with pytest.raises(ValueError, match="re-indexed positions are defined for 1-D RoPE"):
        run(loaded, prompt, parse_schedule("random@2:0.5/reindex"))
    with pytest.raises(ValueError, match="unknown method 'dartt'; did you mean 'dart'"):
        run(loaded, prompt, parse_schedule("dartt@2:0.5"))
    with pytest.raises(ValueError, match="max_new_tokens"):
        run(loaded, prompt, parse_schedule("full"), max_new_tokens=0)
    with pytest.raises(TypeError, match="must be a Schedule"):
        run(loaded, prompt, "random@2:0.5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"sparsevlm@3:0: sparsevlm keeps at least 1 visual token\(s\); use vtw@3"):
        run(loaded, prompt, parse_schedule("sparsevlm@3:0"))
    with pytest.raises(ValueError, match="seed must be an int >= 0 or one per sample"):
        run(loaded, prompt, parse_schedule("random@2:0.5"), seed=[1, 2])


def test_batch_with_unequal_visual_counts_is_refused(tiny_model):
    from PIL import Image

    loaded = tiny_model("tiny-qwen2.5-vl")
    prompt = prepare(loaded, [demo_image(), Image.new("RGB", (200, 120))], ["a?", "b?"])
    with pytest.raises(ValueError, match="different visual-token counts"):
        run(loaded, prompt, parse_schedule("random@2:0.5"))


def test_new_tokens_need_the_declaration_and_a_checked_shape():
    from horizon.methods import Selection, check_selection

    keep = torch.tensor([[0, 2]])
    with pytest.raises(RuntimeError, match="values without replaced"):
        check_selection("m", Selection(keep, values=torch.zeros(1, 2, 4)), 1, 2, 5)
    with pytest.raises(RuntimeError, match=r"expected \(1, 2, D\) and a \(1, 2\) bool mask"):
        check_selection("m", Selection(keep, values=torch.zeros(1, 3, 4), replaced=torch.ones(1, 2).bool()), 1, 2, 5)
    ok = check_selection("m", Selection(keep, values=torch.zeros(1, 2, 4), replaced=torch.tensor([[True, False]])), 1,
                         2, 5)  # fmt: skip
    assert ok.replaced is not None and ok.values is not None


def test_a_method_that_makes_new_tokens_undeclared_is_refused(tiny_model, monkeypatch):
    from dataclasses import replace

    from horizon.methods import METHODS

    loaded = tiny_model("tiny-llava")
    undeclared = replace(METHODS.get("pool"), merges=False)
    monkeypatch.setitem(METHODS._items, "pool", undeclared)
    with pytest.raises(RuntimeError, match="does not declare merges=True"):
        run(loaded, _prompt(loaded), parse_schedule("pool@0:#64"))


def test_replaced_tokens_keep_their_place_and_become_new(tiny_model):
    loaded = tiny_model("tiny-llava")
    out = run(loaded, _prompt(loaded), parse_schedule("visionzip@0:#64+random@4:#32"), max_new_tokens=1)
    first, second = out.stages
    assert first.kept == 64 and first.merged == 0 and first.kept_index[0].count(-1) > 0
    assert out.visual_per_layer == (64,) * 4 + (32,) * (loaded.n_layers - 4)
    assert set(second.kept_index[0]) <= set(first.kept_index[0])  # a later stage selects among them, -1 included
    with pytest.raises(ValueError, match="pool pools the whole visual grid"):
        run(loaded, _prompt(loaded), parse_schedule("random@0:0.5+pool@3:#16"))


def test_fractions_meet_a_method_s_count_on_the_prompt_s_grid(tiny_model):
    loaded = tiny_model("tiny-qwen2.5-vl")  # the demo image's grid: 12 x 16
    out = run(loaded, _prompt(loaded), parse_schedule("pool@0:0.3"), max_new_tokens=1)
    assert out.stages[0].kept == 56  # 0.3 of 192 is 58, which no 12 x 16-like grid pools; 7 x 8 does
    with pytest.raises(ValueError, match="nearest it meets is 56"):
        run(loaded, _prompt(loaded), parse_schedule("pool@0:#58"))
