"""The pooling baseline (horizon/methods/pool.py): grids and bins by hand, values against torch's adaptive average
pooling, and a pool@0 run against the stock LLM fed the pooled grid."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.methods import METHODS
from horizon.methods.pool import bins, meetable_keep, pool_grid, pooled_grid
from horizon.schedule import parse_schedule
from tests.viewkit import make_view


def test_pooled_grids_and_meetable_keeps():
    assert pooled_grid(64, 24, 24) == (8, 8) and pooled_grid(192, 24, 24) == (12, 16)  # 16 x 12 ties: fewer rows
    assert pooled_grid(128, 24, 24) is None  # 8 x 16 is 2x off the square's aspect
    assert pooled_grid(48, 12, 16) == (6, 8) and pooled_grid(58, 12, 16) is None
    assert [meetable_keep(k, 576) for k in (64, 128, 144, 18, 576, 1)] == [64, 130, 144, 16, 576, 1]
    assert meetable_keep(58, 192, (12, 16)) == 56  # 7 x 8 (60 = 6 x 10 is as near, ties to the smaller)
    assert meetable_keep(58, 192) == 58  # an unknown, non-square grid: the stage checks it
    assert bins(5, 2) == [(0, 3), (2, 5)] and bins(4, 2) == [(0, 2), (2, 4)]  # adaptive pooling's overlapping bins
    with pytest.raises(ValueError, match="keep >= 1"):
        pooled_grid(0, 4, 4)


def test_pool_by_hand_and_as_torch_pools():
    x = torch.arange(16.0).view(16, 1)  # a 4 x 4 grid of scalars
    reps, values, sizes = pool_grid(x, 4, 4, 2, 2)
    assert reps.tolist() == [0, 2, 8, 10] and sizes.tolist() == [4, 4, 4, 4]
    assert values[:, 0].tolist() == [2.5, 4.5, 10.5, 12.5]  # mean of {0, 1, 4, 5}, ...
    g = torch.Generator().manual_seed(0)
    for rows, cols, h, w in ((5, 7, 2, 3), (24, 24, 10, 13), (6, 4, 6, 4)):
        feats = torch.randn(rows * cols, 3, generator=g)
        _, values, _ = pool_grid(feats, rows, cols, h, w)
        torch_pooled = F.adaptive_avg_pool2d(feats.T.reshape(3, rows, cols), (h, w)).reshape(3, -1).T
        assert torch.allclose(values, torch_pooled, atol=1e-6)


def test_the_selection_replaces_only_pooled_windows():
    hidden = torch.randn(1 + 6 + 2, 3)
    view = make_view(hidden, list(range(1, 7)), layer=0)
    view.__dict__["grid"] = torch.tensor([[2, 3]])
    sel = METHODS.get("pool").select(view, 2, [torch.Generator()])  # 2 x 3 -> 1 x 2: columns {0, 1} and {1, 2}
    assert sel.keep.tolist() == [[0, 1]] and sel.replaced.tolist() == [[True, True]]
    assert torch.allclose(sel.values[0, 0], hidden[[1, 2, 4, 5]].mean(0))
    whole = METHODS.get("pool").select(view, 6, [torch.Generator()])  # keep-all: every window one token, itself
    assert whole.keep.tolist() == [list(range(6))] and not bool(whole.replaced.any())
    with pytest.raises(ValueError, match="nearest it meets is 4"):
        METHODS.get("pool").select(view, 5, [torch.Generator()])


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_the_grid_comes_from_the_image(tiny_model, name):
    loaded = tiny_model(name)
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    assert prompt.grid is not None and int(prompt.grid.prod()) == prompt.n_visual
    if name == "tiny-qwen2.5-vl":  # from the image size: the processor's patch grid, merged 2 x 2
        assert prompt.grid.tolist() == (prompt.inputs["image_grid_thw"][:, 1:] // 2).tolist()


def test_pool_at_layer_0_is_the_stock_llm_on_the_pooled_grid(tiny_model):
    from horizon.doctor.reference import capture_decoder_inputs

    loaded = tiny_model("tiny-llava", "eager")
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    out = run(loaded, prompt, parse_schedule("pool@0:#64"), max_new_tokens=1)
    emb = capture_decoder_inputs(loaded, prompt)["inputs_embeds"]  # (1, S, D)
    mask = prompt.visual_mask[0]
    first, n = int(mask.nonzero().min()), int(mask.sum())
    grid = emb[0, first : first + n].T.reshape(-1, 24, 24)
    pooled = F.adaptive_avg_pool2d(grid, (8, 8)).reshape(grid.shape[0], -1).T[None]  # (1, 64, D) raster order
    seq = torch.cat([emb[:, :first], pooled, emb[:, first + n :]], 1)
    with torch.inference_mode():
        h = loaded.model.model.language_model(inputs_embeds=seq, position_ids=torch.arange(seq.shape[1])[None])
        logits = loaded.model.lm_head(h.last_hidden_state[:, -1]).float()
    assert torch.allclose(out.step_logits[0], logits, atol=1e-5)
    assert out.stages[0].kept_index[0] == (-1,) * 64 and out.visual_per_layer[0] == 64
