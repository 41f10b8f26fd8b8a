"""Qwen3-VL, DeepStack included: a tiny Qwen3-VL built here from its config (random weights, the stock
transformers classes, saved and loaded through horizon's loader) runs in the pruned loop exactly as the stock model
does at keep-all, with and without DeepStack levels, and its pruned runs (a stage before, inside and after the
DeepStack layers) equal the independent reference (horizon/doctor/reference.py), which applies DeepStack itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from horizon.doctor.reference import reference_logits
from horizon.engine.loop import PrunedDecoder
from horizon.engine.plan import RunPlan
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.schedule import parse_schedule

LAYERS = 5


def _build(folder: Path, levels: int) -> Path:
    """A tiny Qwen3-VL (DeepStack from vision blocks 0..levels-1) saved with its processor to ``folder``."""
    from transformers import Qwen2VLImageProcessorPil, Qwen3VLConfig, Qwen3VLForConditionalGeneration

    from horizon.models.qwen3_vl import ImageOnlyQwen3Processor
    from horizon.models.tiny import QWEN_SPECIALS, QWEN_TEMPLATE, _tokenizer, qwen_token_ids, qwen_tokenizer

    tok = qwen_tokenizer(_tokenizer(list(QWEN_SPECIALS), vocab_size=512))
    ids, specials = qwen_token_ids(tok)
    text = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=LAYERS, num_attention_heads=4,
                num_key_value_heads=2, head_dim=16, max_position_embeddings=4096, **specials,
                rope_parameters={"rope_type": "default", "rope_theta": 5e6, "mrope_section": [2, 3, 3],
                                 "mrope_interleaved": True})  # fmt: skip
    vision = dict(depth=3, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=16,
                  spatial_merge_size=2, temporal_patch_size=2, deepstack_visual_indexes=list(range(levels)),
                  num_position_embeddings=64)  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Qwen3VLForConditionalGeneration(Qwen3VLConfig(text_config=text, vision_config=vision, **ids)).eval()
    image = Qwen2VLImageProcessorPil(min_pixels=32 * 32 * 16, max_pixels=32 * 32 * 64, patch_size=16, merge_size=2,
                                     temporal_patch_size=2)  # fmt: skip
    model.save_pretrained(folder)
    ImageOnlyQwen3Processor(image_processor=image, tokenizer=tok, chat_template=QWEN_TEMPLATE).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module", params=[3, 0], ids=["deepstack", "no-deepstack"])
def qwen3(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from horizon.models.loading import load_model

    folder = _build(tmp_path_factory.mktemp(f"qwen3-{request.param}"), request.param)
    return load_model(str(folder), attn_implementation="sdpa")


def _prompt(loaded: Any, batch: int = 1) -> Any:
    questions = ["What is written on the sign?", "Is the sign red? Answer yes or no please."][:batch]
    return prepare(loaded, [demo_image()] * batch, questions)


def test_the_folder_loads_as_the_qwen3_vl_family_with_its_deepstack(qwen3):
    from horizon.models.qwen3_vl import deepstack_levels

    assert qwen3.adapter.family == "qwen3_vl" and qwen3.n_layers == LAYERS
    assert deepstack_levels(qwen3.model) == len(qwen3.model.config.vision_config.deepstack_visual_indexes)


@pytest.mark.parametrize("schedule", ["full", "random@0:1", "random@1:1+random@4:1"])
def test_keep_all_equals_the_stock_model_exactly(qwen3, schedule):
    prompt = _prompt(qwen3, batch=2)
    model = qwen3.model
    with torch.inference_mode():
        qwen3.adapter.reset(model)
        stock = model(**prompt.inputs, use_cache=False).logits
        plan = RunPlan.build(parse_schedule(schedule), prompt.visual_mask, n_layers=qwen3.n_layers, mrope=True, seed=0)
        qwen3.adapter.reset(model)
        with PrunedDecoder.of(qwen3) as pruner:
            pruner.begin(plan)
            pruned = model(**prompt.inputs, use_cache=False).logits
            pruner.finish()
    assert torch.equal(stock, pruned)


def test_deepstack_changes_the_answer_so_the_proofs_can_fail(qwen3, monkeypatch):
    """Without the engine's DeepStack the keep-all run would differ from the stock model where there are levels (they
    matter here), and equal it where there are none."""
    prompt = _prompt(qwen3)
    model = qwen3.model
    with torch.inference_mode():
        qwen3.adapter.reset(model)
        stock = model(**prompt.inputs, use_cache=False).logits
        qwen3.adapter.reset(model)
        taken = PrunedDecoder._deepstack  # the loop as it was before DeepStack: the levels taken out, never added
        monkeypatch.setattr(PrunedDecoder, "_deepstack", staticmethod(lambda h, kwargs, prefill: taken(
            h, kwargs, prefill=prefill)[:0]))  # fmt: skip
        plan = RunPlan.build(parse_schedule("full"), prompt.visual_mask, n_layers=qwen3.n_layers, mrope=True, seed=0)
        with PrunedDecoder.of(qwen3) as pruner:
            pruner.begin(plan)
            without = model(**prompt.inputs, use_cache=False).logits
            pruner.finish()
    if qwen3.model.config.vision_config.deepstack_visual_indexes:
        assert (stock - without).abs().max() > 1e-4
    else:
        assert torch.equal(stock, without)


def test_keep_all_greedy_decoding_equals_generate(qwen3):
    prompt = _prompt(qwen3, batch=2)
    ours = run(qwen3, prompt, parse_schedule("full"), max_new_tokens=5, stop_at_eos=False)
    qwen3.adapter.reset(qwen3.model)
    with torch.inference_mode():
        out = qwen3.model.generate(**prompt.inputs, max_new_tokens=5, min_new_tokens=5, do_sample=False,
                                   output_logits=True, return_dict_in_generate=True)  # fmt: skip
    for got, want in zip(ours.step_logits, out.logits, strict=True):
        assert torch.equal(got, want.float())


@pytest.mark.parametrize("schedule", ["random@0:0.25", "random@1:0.5", "random@2:0.4+random@4:0.2", "vtw@2",
                                      "divprune@1:0.3", "fastv@2:0.25", "dart@2:0.3", "random@3:0.5"])  # fmt: skip
def test_a_pruned_run_equals_the_independent_reference(qwen3, schedule):
    prompt = _prompt(qwen3)
    out = run(qwen3, prompt, parse_schedule(schedule), max_new_tokens=6, seed=3, stop_at_eos=False)
    ref = reference_logits(qwen3, prompt, out, steps=6, mrope=True)
    for step, (got, want) in enumerate(zip(out.step_logits, ref, strict=True)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5, msg=lambda m, step=step: f"step {step}: {m}")


def test_a_layer_0_stage_equals_the_stock_model_on_the_shortened_prompt(qwen3):
    """Keep some visual tokens before the first layer: the stock text model, handed only the kept rows (their
    embeddings, DeepStack features and M-RoPE positions as the stage keeps them), gives the same logits."""
    prompt = _prompt(qwen3)
    out = run(qwen3, prompt, parse_schedule("random@0:0.3"), max_new_tokens=1, seed=5, stop_at_eos=False)
    from horizon.doctor.reference import capture_decoder_inputs

    cap = capture_decoder_inputs(qwen3, prompt)
    vis = prompt.visual_mask[0]
    visual_rows = vis.nonzero().squeeze(-1)
    kept_visual = visual_rows[list(out.stages[0].kept_index[0])]
    keep = torch.sort(torch.cat([(~vis).nonzero().squeeze(-1), kept_visual])).values
    kept_of_visual = torch.tensor([int(i) for i in out.stages[0].kept_index[0]])
    deep = cap.get("deepstack_visual_embeds")
    dec = qwen3.decoder
    with torch.inference_mode():
        h = dec(inputs_embeds=cap["inputs_embeds"][:, keep], position_ids=cap["position_ids"][:, :, keep],
                attention_mask=None, use_cache=False, visual_pos_masks=vis[keep][None],
                deepstack_visual_embeds=None if deep is None else [d[kept_of_visual] for d in deep]).last_hidden_state  # fmt: skip
        logits = qwen3.model.lm_head(h[:, -1]).float()
    torch.testing.assert_close(out.step_logits[0], logits, atol=1e-5, rtol=1e-5)
