"""Each method's selection on a constructed case whose answer was computed by hand."""

from __future__ import annotations

import pytest
import torch

from horizon.methods import METHODS
from horizon.methods.divprune import max_min_diverse
from tests.viewkit import make_view, unit

G = torch.Generator().manual_seed(0)


def select(name: str, view, keep: int) -> list[int]:
    return METHODS.get(name).select(view, keep, [G])[0].tolist()


def test_fastv_keeps_the_most_attended_by_the_last_query():
    # rows 1..4 visual; last-query attention of layer K-1 over the 6 rows
    attn = torch.tensor([0.1, 0.3, 0.05, 0.2, 0.15, 0.2])
    view = make_view(torch.zeros(6, 2), [1, 2, 3, 4], prev_last_query_attention=attn)
    assert select("fastv", view, 2) == [0, 2]  # visual scores .3 .05 .2 .15
    assert select("fastv", view, 3) == [0, 2, 3]


def test_fastv_ties_go_to_the_lower_index():
    view = make_view(torch.zeros(5, 2), [0, 1, 2, 3], prev_last_query_attention=torch.tensor([0.2, 0.2, 0.2, 0.1, 0.3]))
    assert select("fastv", view, 2) == [0, 1]


def test_pdrop_uses_the_pruning_layers_own_last_query_attention():
    view = make_view(
        torch.zeros(6, 2),
        [1, 2, 3, 4],
        last_query_attention=torch.tensor([0.1, 0.05, 0.3, 0.2, 0.15, 0.2]),
        prev_last_query_attention=torch.tensor([0.1, 0.3, 0.05, 0.2, 0.15, 0.2]),
    )
    assert select("pdrop", view, 2) == [1, 2]


def test_divprune_greedy_max_min_on_the_circle():
    # angles 0, 10, 90, 180, 185 degrees; distance 1 - cos.
    # nearest-other distances: 0°/10° .015, 90° .826, 180°/185° .004 -> first pick 90° (index 2);
    # distance to {90°}: 0° 1, 10° .826, 180° 1, 185° 1.087 -> pick 185° (4);
    # distance to {90°, 185°}: 0° 1, 10° .826, 180° .004 -> pick 0° (0)
    feats = unit([0, 10, 90, 180, 185])
    assert max_min_diverse(feats, 3).tolist() == [2, 4, 0]
    view = make_view(torch.cat([torch.zeros(1, 2), feats, torch.zeros(2, 2)]), [1, 2, 3, 4, 5])
    assert select("divprune", view, 3) == [0, 2, 4]


def test_divprune_returns_distinct_tokens_even_for_duplicates():
    feats = unit([0, 0, 0, 90])
    picks = max_min_diverse(feats, 3).tolist()
    assert len(set(picks)) == 3 and 3 in picks


def _dart_view(visual_angles, key_norms, text_angles, text_norms):
    """Row 0 system; visual rows 1..N; text rows after. Keys are 1-d with the given L1 norms."""
    x = torch.cat([unit([0.0]), unit(visual_angles), unit(text_angles)])  # (S, 2) hidden = normed hidden
    norms = torch.tensor([0.0, *key_norms, *text_norms])
    keys = norms.view(1, -1, 1)  # (KV=1, S, hd=1)
    return make_view(x, list(range(1, 1 + len(visual_angles))), prev_keys=keys, normed_hidden=x)


def test_dart_pivots_and_least_duplicated_candidates():
    # visual key norms 5 1 8 2 7 3 6 .5 -> image pivots (by norm) 2, 4, 6, 0; candidates 1, 3, 5, 7
    # angles: 0:0 1:10 2:90 3:160 4:180 5:95 6:45 7:270
    # keep 6 -> 2 extra tokens for the first two pivots:
    #   pivot 2 (90°): cos to 1 .17, 3 .34, 5 .996, 7 -1 -> 7;  pivot 4 (180°): 1 -.98, 3 .94, 5 .09 -> 1
    view = _dart_view([0, 10, 90, 160, 180, 95, 45, 270], [5, 1, 8, 2, 7, 3, 6, 0.5], [30, 200], [1, 2])
    assert select("dart", view, 6) == [0, 1, 2, 4, 6, 7]
    # keep 7 -> pivot 6 (45°) also picks: 3 cos115 = -.42, 5 cos50 = .64 -> 3
    assert select("dart", view, 7) == [0, 1, 2, 3, 4, 6, 7]


def test_dart_text_pivots_pick_too():
    # 10 visual tokens, 1 text token: P = 5 pivots, keep 9 -> one candidate per pivot.
    # image pivots by norm: 0 (9), 1 (8), 2 (7), 3 (6); candidates 4..9 at 0 1 2 3 4 and 180 degrees
    # pivots 0..3 (all at 0°) take the least similar: 9 (180°), then 8, 7, 6 (4°, 3°, 2°)
    # the text pivot at 0° then takes the least similar of {4, 5} (0°, 1°) -> 5
    angles = [0, 0, 0, 0, 0, 1, 2, 3, 4, 180]
    view = _dart_view(angles, [9, 8, 7, 6, 1, 1, 1, 1, 1, 1], [0], [5])
    assert select("dart", view, 9) == [0, 1, 2, 3, 5, 6, 7, 8, 9]


def test_dart_refuses_fewer_tokens_than_pivots():
    view = _dart_view([0, 10, 20], [1, 2, 3], [30], [1])
    with pytest.raises(ValueError, match="DART keeps its 4 image pivots"):
        select("dart", view, 2)
