"""SparseVLM: raters, scoring and recycling on hand-computed cases, and merged tokens in the engine."""

from __future__ import annotations

import pytest
import torch

from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.methods.sparsevlm import dpc_knn_merge, rater_scores, select_raters, select_sparsevlm
from horizon.schedule import parse_schedule
from tests.viewkit import make_view

G = torch.Generator().manual_seed(0)


def test_raters_score_above_the_mean():
    # M = V·Tᵀ = [[2, 0, 0], [0, 0, 2]]; row softmax: [.787, .107, .107] and [.107, .107, .787];
    # mean over V: [.447, .107, .447]; mean .333 -> raters 0 and 2
    V = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    T = torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    scores = rater_scores(V, T)
    torch.testing.assert_close(scores, torch.tensor([0.4468, 0.1065, 0.4468]), atol=1e-4, rtol=0)
    assert select_raters(scores).tolist() == [0, 2]
    assert select_raters(torch.tensor([0.5, 0.5])).tolist() == [0, 1]  # none above the mean: all rate


def test_dpc_knn_finds_two_separated_clusters():
    x = torch.tensor([[0, 0], [0.1, 0], [0, 0.1], [10, 10], [10.1, 10], [10, 10.1]])
    merged = dpc_knn_merge(x, 2, torch.Generator().manual_seed(0))
    got = sorted(merged.tolist())
    torch.testing.assert_close(torch.tensor(got), torch.tensor([[0.1 / 3, 0.1 / 3], [10 + 0.1 / 3, 10 + 0.1 / 3]]))


def _view(attn_scores: list[float]):
    # rows: 0 system, 1..5 visual, 6..7 text; hidden of visual token i is (i, 10 i)
    hidden = torch.zeros(8, 2)
    hidden[1:6] = torch.tensor([[float(i), 10.0 * i] for i in range(5)])
    hidden[6:] = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    view = make_view(hidden, [1, 2, 3, 4, 5], layer=3)
    view.prompt_visual_mask = torch.tensor([[False, True, True, True, True, True, False, False]])
    row = torch.zeros(8)
    row[1:6] = torch.tensor(attn_scores)
    view.prev_attention = lambda rows: row.expand(1, rows.shape[1], 8)  # same attention for every rater
    return view


def test_keeps_the_most_attended_and_recycles_the_best_deleted():
    # scores .5 .1 .3 .2 .05; keep 2 -> [0, 2]; 3 deleted -> int(.9)+1 = 1 recycled (token 3, score .2)
    sel = select_sparsevlm(_view([0.5, 0.1, 0.3, 0.2, 0.05]), 2, [G])
    assert sel.keep.tolist() == [[0, 2]]
    torch.testing.assert_close(sel.merged, torch.tensor([[[3.0, 30.0]]]))


def test_recycled_tokens_merge_into_their_mean():
    # keep 1 -> [2]; 4 deleted -> int(1.2)+1 = 2 recycled (tokens 3 and 1: scores .2 and .1), one cluster
    sel = select_sparsevlm(_view([0.05, 0.1, 0.5, 0.2, 0.01]), 1, [G])
    assert sel.keep.tolist() == [[2]]
    torch.testing.assert_close(sel.merged, torch.tensor([[[2.0, 20.0]]]))


def test_keep_all_merges_nothing():
    sel = select_sparsevlm(_view([0.5, 0.1, 0.3, 0.2, 0.05]), 5, [G])
    assert sel.keep.tolist() == [[0, 1, 2, 3, 4]] and sel.merged is None


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_merged_tokens_in_the_engine(tiny_model, name):
    sdpa, eager = tiny_model(name, "sdpa"), tiny_model(name, "eager")
    prompt = prepare(sdpa, [demo_image()], ["What is written on the sign?"])
    schedule = parse_schedule("sparsevlm@3:0.5+sparsevlm@7:0.3")
    a = run(sdpa, prompt, schedule, max_new_tokens=4, stop_at_eos=False)
    b = run(eager, prompt, schedule, max_new_tokens=4, stop_at_eos=False)
    n1, n2 = (s.kept for s in a.stages)
    m1, m2 = (s.merged for s in a.stages)
    assert m1 == (int(0.3 * (prompt.n_visual - n1)) + 1) // 10 + 1
    assert m2 == (int(0.3 * (n1 + m1 - n2)) + 1) // 10 + 1
    assert a.visual_per_layer[3] == n1 + m1 and a.visual_per_layer[7] == n2 + m2
    assert a.tokens_per_layer[7] == a.prompt_len - prompt.n_visual + n2 + m2
    assert a.stages == b.stages  # the same selections and merges under both attention implementations
    for x, y in zip(a.step_logits, b.step_logits, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)
