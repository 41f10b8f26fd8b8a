"""Engine cases of the embedded default: tiny models x schedules, each id readable for ``-k``.

``pytest suite -k "qwen and vtw"`` selects as users expect. This is the seed of the benchmark matrix
(issue 5 grows it into models x benchmarks x schedules with baselines and reports); for now each case
checks the run end to end: kept counts per layer equal the schedule, probabilities are a distribution.
"""

from __future__ import annotations

import pytest
import torch

from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.schedule import parse_schedule

MODELS = ("tiny-llava", "tiny-qwen2.5-vl")
SCHEDULES = ("full", "random@0:0.5", "random@2:0.5+vtw@20", "random@2:0.44+random@20:0.07", "vtw@1")
CASES = [(m, s) for m in MODELS for s in SCHEDULES]


@pytest.mark.parametrize(("model", "schedule"), CASES, ids=[f"{m}-{s}" for m, s in CASES])
def test_case_runs_and_keeps_what_the_schedule_says(tiny_model, model, schedule):
    loaded = tiny_model(model)
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    s = parse_schedule(schedule)
    out = run(loaded, prompt, s, max_new_tokens=4)
    assert out.visual_per_layer == s.tokens_per_layer(loaded.n_layers, prompt.n_visual)
    probs = out.first_token_probs[0]
    assert torch.isfinite(probs).all() and abs(float(probs.sum()) - 1.0) < 1e-4
    assert 1 <= len(out.step_logits) <= 4
