"""Contract tests over the whole method registry, on both tiny models through the real engine.

A new method is covered with no new test code: sorted unique indices of the exact count, keep-all is
the identity, deterministic for a seed, runs on both model families.
"""

from __future__ import annotations

import pytest
import torch

from horizon.engine.guide import guide_importance
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.information import answer_token, oracle_information
from horizon.methods import METHODS
from horizon.schedule import WITHDRAW_ALL_METHODS, Keep, Schedule, Stage

MODELS = ["tiny-llava", "tiny-qwen2.5-vl", "tiny-qwen3-vl", "tiny-qwen3-vl-moe"]


def _meetable(method: str, keep: Keep, n_visual: int, grid: tuple[int, int]) -> Keep:
    """``keep`` as the nearest count the method meets (dart-set: 4 + 8·⌊k/8⌋; pool: an h x w grid; most: any)."""
    return Keep(METHODS.get(method).meetable(keep.count(n_visual), n_visual, grid), absolute=True)


def _run(loaded, method: str, keep: Keep, seed: int = 0, layer: int | None = None):
    m = METHODS.get(method)
    layer = max(m.min_layer, 2) if layer is None else layer
    image, question = demo_image(), "What is written on the sign?"
    prompt = prepare(loaded, [image], [question])
    guide = None
    if "guide_importance" in m.needs:  # the model guides itself: same geometry, real attention
        guide = guide_importance(loaded, [image], [question], new_tokens=2)
    information = None
    if "information" in m.needs:  # the oracle: the model's own information for a fixed answer token
        information = oracle_information(loaded, prompt, answer_token(loaded.processor, question, "STOP"), [layer])
    if method not in WITHDRAW_ALL_METHODS:
        keep = _meetable(method, keep, prompt.n_visual, tuple(prompt.grid[0].tolist()))
    schedule = Schedule((Stage(method, layer, keep),))
    return run(loaded, prompt, schedule, max_new_tokens=1, seed=seed, guide_importance=guide, information=information)


def _grid(name: str) -> tuple[int, int]:
    return {"tiny-llava": (24, 24), "tiny-qwen2.5-vl": (12, 16), "tiny-qwen3-vl": (10, 14),
            "tiny-qwen3-vl-moe": (10, 14)}[name]  # the demo image's



@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("method", METHODS.names())
def test_exact_count_sorted_unique(tiny_model, name, method):
    loaded = tiny_model(name)
    keep = Keep(0) if method in WITHDRAW_ALL_METHODS else Keep(0.3)
    out = _run(loaded, method, keep)
    (stage,) = out.stages
    want = METHODS.get(method).meetable(keep.count(out.n_visual), out.n_visual, _grid(name))
    for row in stage.kept_index:
        assert len(row) == want == stage.kept
        old = [i for i in row if i >= 0]  # -1: a new token (merged or pooled), only from a merging method
        assert len(old) == len(row) or METHODS.get(method).merges
        assert old == sorted(set(old)) and all(i < out.n_visual for i in old)
    layer = stage.layer
    assert out.visual_per_layer[layer:] == (want + stage.merged,) * (loaded.n_layers - layer)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("method", [m for m in METHODS.names() if m not in WITHDRAW_ALL_METHODS])
def test_keep_all_is_identity(tiny_model, name, method):
    out = _run(tiny_model(name), method, Keep(1.0))
    assert out.stages[0].kept_index[0] == tuple(range(out.n_visual))


@pytest.mark.parametrize("method", METHODS.names())
def test_deterministic_for_a_seed(tiny_model, method):
    loaded = tiny_model("tiny-llava")
    keep = Keep(0) if method in WITHDRAW_ALL_METHODS else Keep(0.2)
    a, b = _run(loaded, method, keep, seed=7), _run(loaded, method, keep, seed=7)
    assert a.stages[0].kept_index == b.stages[0].kept_index
    assert torch.equal(a.first_token_probs, b.first_token_probs)


def test_a_method_meets_any_keep_unless_it_says_which_it_meets():
    from horizon.methods.dart import released_keep

    for name in METHODS.names():
        m = METHODS.get(name)
        assert (m.keeps is None) == (name not in ("dart-set", "pool")), name
        met = {"dart-set": [0, 172, 576], "pool": [0, 176, 576]}.get(name, [0, 173, 576])  # pool: 11 x 16
        assert [m.meetable(k, 576) for k in (0, 173, 576)] == met, name
    assert [released_keep(k, 576) for k in (3, 4, 11, 12, 60, 253, 575)] == [0, 4, 4, 12, 60, 252, 572]


def test_random_depends_on_seed_and_is_uniform_over_survivors(tiny_model):
    loaded = tiny_model("tiny-llava")
    a, b = _run(loaded, "random", Keep(0.2), seed=1), _run(loaded, "random", Keep(0.2), seed=2)
    assert a.stages[0].kept_index != b.stages[0].kept_index
    counts = torch.zeros(576)
    for seed in range(40):
        counts[list(_run(loaded, "random", Keep(0.5), seed=seed).stages[0].kept_index[0])] += 1
    # each token is kept with probability 1/2: 40 draws give mean 20, sd ~3.2
    assert abs(counts.mean().item() - 20) < 1e-6 and counts.min() >= 5 and counts.max() <= 35


def test_second_stage_selects_among_survivors(tiny_model):
    loaded = tiny_model("tiny-qwen2.5-vl")
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    from horizon.schedule import parse_schedule

    out = run(loaded, prompt, parse_schedule("random@2:0.5+random@20:0.1"), max_new_tokens=1)
    first, second = (set(s.kept_index[0]) for s in out.stages)
    assert second <= first and len(second) == round(0.1 * out.n_visual)


def test_method_declarations_are_valid():
    for name, m in METHODS.items():
        assert m.name == name and m.reference and m.positions in ("original", "reindex")
