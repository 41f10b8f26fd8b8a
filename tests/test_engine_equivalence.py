"""The engine's proof of correctness (design §4) on both tiny models, CPU, fp32.

* keep-all pruning reproduces the stock model's logits exactly (torch.equal), SDPA and eager;
* pruned prefill and 8 cached greedy steps equal an independent reference (horizon/doctor/reference.py) to 1e-5.
"""

from __future__ import annotations

import pytest
import torch

from horizon.doctor.reference import reference_logits
from horizon.engine.loop import PrunedDecoder
from horizon.engine.plan import RunPlan
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.paper_presets import DERIVED_SETTINGS, PAPER_BUDGETS, PAPER_PRESETS, TABLE_SETTINGS
from horizon.schedule import parse_schedule

MODELS = ["tiny-llava", "tiny-qwen2.5-vl", "tiny-qwen3-vl", "tiny-qwen3-vl-moe"]
ATTN = ["sdpa", "eager"]


def _prompt(loaded, batch: int = 1):
    questions = ["What is written on the sign?", "Is the sign red? Answer yes or no please."][:batch]
    return prepare(loaded, [demo_image()] * batch, questions)


@pytest.mark.parametrize("attn", ATTN)
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("schedule", ["full", "random@0:1", "random@0:1+random@5:1+random@27:1"])
def test_keep_all_equals_stock_logits_exactly(tiny_model, name, attn, schedule):
    loaded = tiny_model(name, attn)
    prompt = _prompt(loaded, batch=2)
    model = loaded.model
    with torch.inference_mode():
        stock = model(**prompt.inputs, use_cache=False).logits  # (B, S, V)
        plan = RunPlan.build(
            parse_schedule(schedule),
            prompt.visual_mask,
            n_layers=loaded.n_layers,
            mrope=loaded.adapter.mrope,
            seed=0,
        )
        loaded.adapter.reset(model)
        with PrunedDecoder.of(loaded) as pruner:
            pruner.begin(plan)
            pruned = model(**prompt.inputs, use_cache=False).logits
            pruner.finish()
    assert torch.equal(stock, pruned)


@pytest.mark.parametrize("name", MODELS)
def test_keep_all_greedy_decoding_equals_stock_loop(tiny_model, name):
    loaded = tiny_model(name)
    prompt = _prompt(loaded, batch=2)
    ours = run(loaded, prompt, parse_schedule("full"), max_new_tokens=6, stop_at_eos=False)
    model = loaded.model
    loaded.adapter.reset(model)
    with torch.inference_mode():
        inputs = {k: v for k, v in prompt.inputs.items() if k != "position_ids"}
        out = model.generate(
            **inputs,
            max_new_tokens=6,
            min_new_tokens=6,
            do_sample=False,
            output_logits=True,
            return_dict_in_generate=True,
        )
    for ours_step, stock_step in zip(ours.step_logits, out.logits, strict=True):
        assert torch.equal(ours_step, stock_step.float())


SCHEDULES = {
    "layer0": "random@0:0.25",
    "middle": "random@14:0.3",
    "last": "random@{last}:0.1",
    "two-stage": "random@2:0.5+random@20:0.1",
    "then-vtw": "random@1:0.4+vtw@{near_last}",
    "counts": "random@3:#100+random@9:#7",
}


@pytest.mark.parametrize("attn", ATTN)
@pytest.mark.parametrize("case", sorted(SCHEDULES))
@pytest.mark.parametrize("name", MODELS)
def test_pruned_run_equals_independent_reference(tiny_model, name, case, attn):
    loaded = tiny_model(name, attn)
    L = loaded.n_layers
    schedule = parse_schedule(SCHEDULES[case].format(last=L - 1, near_last=L - 2))
    prompt = _prompt(loaded)
    out = run(loaded, prompt, schedule, max_new_tokens=9, seed=3, stop_at_eos=False)
    ref = reference_logits(loaded, prompt, out, steps=9, mrope=loaded.adapter.mrope)
    assert len(out.step_logits) == 9
    for step, (got, want) in enumerate(zip(out.step_logits, ref, strict=True)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5, msg=lambda m, step=step: f"step {step}: {m}")
        assert torch.equal(got.argmax(-1), want.argmax(-1))


@pytest.mark.parametrize("schedule", ["random@3:0.4/reindex", "random@2:0.5+random@9:0.2/reindex+random@20:0.05"])
def test_reindexed_positions_equal_reference(tiny_model, schedule):
    loaded = tiny_model("tiny-llava")
    prompt = _prompt(loaded)
    out = run(loaded, prompt, parse_schedule(schedule), max_new_tokens=9, seed=1, stop_at_eos=False)
    assert "reindex" in {s.positions for s in out.stages}
    ref = reference_logits(loaded, prompt, out, steps=9, mrope=False)
    for got, want in zip(out.step_logits, ref, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_batch_of_two_equals_reference_per_sample(tiny_model, name):
    loaded = tiny_model(name)
    prompt = _prompt(loaded, batch=2)  # different question lengths: left padding
    assert bool((prompt.inputs["attention_mask"] == 0).any())
    out = run(loaded, prompt, parse_schedule("random@2:0.5+random@20:0.1"), max_new_tokens=5, stop_at_eos=False)
    ref = reference_logits(loaded, prompt, out, steps=5, mrope=loaded.adapter.mrope)
    for got, want in zip(out.step_logits, ref, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    # a sample's random subset does not depend on the batch it runs in
    alone = run(loaded, _prompt(loaded), parse_schedule("random@2:0.5+random@20:0.1"), max_new_tokens=1)
    assert [s.kept_index[0] for s in out.stages] == [s.kept_index[0] for s in alone.stages]
    seeded = run(loaded, prompt, parse_schedule("random@2:0.5"), max_new_tokens=1, seed=[0, 1])
    assert seeded.stages[0].kept_index[0] == out.stages[0].kept_index[0] != seeded.stages[0].kept_index[1]


@pytest.mark.parametrize("preset", sorted(TABLE_SETTINGS))
@pytest.mark.parametrize("name", MODELS)
def test_paper_presets_run_and_equal_reference(tiny_model, name, preset):
    loaded = tiny_model(name)
    prompt = _prompt(loaded)
    schedule = PAPER_PRESETS.get(preset)
    out = run(loaded, prompt, schedule, max_new_tokens=3, stop_at_eos=False)
    assert out.visual_per_layer == schedule.tokens_per_layer(loaded.n_layers, prompt.n_visual)
    ref = reference_logits(loaded, prompt, out, steps=3, mrope=loaded.adapter.mrope)
    for got, want in zip(out.step_logits, ref, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


DEPTH_TINY = {32: "tiny-llava", 36: "tiny-qwen3-vl"}  # a derived preset runs on the tiny model of its table's depth


@pytest.mark.parametrize("preset", sorted(DERIVED_SETTINGS))
def test_derived_presets_run_at_their_depth(tiny_model, preset):
    loaded = tiny_model(DEPTH_TINY[PAPER_BUDGETS[preset.rpartition(":")[0]][0]])
    prompt = _prompt(loaded)
    schedule = PAPER_PRESETS.get(preset)
    out = run(loaded, prompt, schedule, max_new_tokens=3, stop_at_eos=False)
    merged = [s.merged for s in out.stages]
    expected = list(schedule.tokens_per_layer(loaded.n_layers, prompt.n_visual))
    bounds = [s.layer for s in schedule.stages[1:]] + [loaded.n_layers]
    for stage, record, end in zip(schedule.stages, out.stages, bounds, strict=True):
        for layer in range(stage.layer, end):  # a stage's recycled tokens join its kept ones until the next stage
            expected[layer] += record.merged
    assert list(out.visual_per_layer) == expected
    if not any(merged):
        ref = reference_logits(loaded, prompt, out, steps=3, mrope=loaded.adapter.mrope)
        for got, want in zip(out.step_logits, ref, strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
