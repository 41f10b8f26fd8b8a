"""Each method's selection on a constructed case whose answer was computed by hand."""

from __future__ import annotations

import torch

from horizon.methods import METHODS
from horizon.methods.divprune import max_min_diverse
from tests.viewkit import make_view, unit

G = torch.Generator().manual_seed(0)


def select(name: str, view, keep: int) -> list[int]:
    return METHODS.get(name).select(view, keep, G)[0].tolist()


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
