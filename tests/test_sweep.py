"""Prefix reuse: many schedules from one unpruned prefix equal separate runs."""

from __future__ import annotations

import pytest
import torch

from horizon.engine.run import prepare, run
from horizon.engine.sweep import run_many
from horizon.images import demo_image
from horizon.schedule import parse_schedule

SCHEDULES = ["full", "random@1:0.1", "fastv@4:0.1", "dart@4:0.25", "divprune@0:0.2", "random@2:0.5+vtw@20",
             "pdrop@3:0.5+pdrop@9:0.2", "sparsevlm@3:0.4", "vtw@5"]  # fmt: skip


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_run_many_equals_separate_runs(tiny_model, name):
    loaded = tiny_model(name)
    prompt = prepare(loaded, [demo_image()] * 2, ["What is written on the sign?", "Is it red?"])
    schedules = [parse_schedule(s) for s in SCHEDULES]
    together = run_many(loaded, prompt, schedules, max_new_tokens=4, seed=3, stop_at_eos=False)
    for schedule, got in zip(schedules, together, strict=True):
        alone = run(loaded, prompt, schedule, max_new_tokens=4, seed=3, stop_at_eos=False)
        assert got.schedule == alone.schedule and got.stages == alone.stages
        assert got.visual_per_layer == alone.visual_per_layer and got.tokens_per_layer == alone.tokens_per_layer
        for a, b in zip(got.step_logits, alone.step_logits, strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        assert got.token_ids == alone.token_ids


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_select_many_equals_the_selections_of_full_runs(tiny_model, name):
    from horizon.engine.sweep import select_many

    loaded = tiny_model(name)
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    texts = ["random@1:0.1", "fastv@4:0.1", "dart@4:0.25", "divprune@0:0.2", "pdrop@3:0.5", "sparsevlm@3:0.4"]
    schedules = [parse_schedule(s) for s in texts]
    chosen = select_many(loaded, prompt, schedules, seed=5)
    for schedule, kept in zip(schedules, chosen, strict=True):
        alone = run(loaded, prompt, schedule, max_new_tokens=1, seed=5)
        assert kept == alone.stages[0].kept_index, str(schedule)
    with pytest.raises(ValueError, match="single-stage"):
        select_many(loaded, prompt, [parse_schedule("random@2:0.5+vtw@20")])
