"""CDPruner's core (horizon.methods.cdpruner.py) against the definitions: the greedy MAP picks what a naive
greedy log-det maximiser picks; the kernel and relevance by hand."""

from __future__ import annotations

import pytest
import torch

from horizon.methods.cdpruner import conditional_kernel, greedy_map, relevance


def _naive(kernel: torch.Tensor, keep: int) -> list[int]:
    chosen: list[int] = []
    for _ in range(keep):
        best, best_j = -float("inf"), -1
        for j in range(kernel.shape[0]):
            if j in chosen:
                continue
            s = chosen + [j]
            value = float(torch.logdet(kernel[s][:, s].double()))
            if value > best + 1e-9:
                best, best_j = value, j
        chosen.append(best_j)
    return chosen


@pytest.mark.parametrize("seed", range(5))
def test_greedy_map_is_the_greedy_log_det_maximiser(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(12, 6, generator=g)
    r = torch.rand(12, generator=g) + 0.1
    kernel = conditional_kernel(feats, r)
    assert greedy_map(kernel, 5).tolist() == _naive(kernel, 5)


def test_kernel_relevance_and_ties_by_hand() -> None:
    feats = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    r = torch.tensor([1.0, 0.5, 2.0])
    k = conditional_kernel(feats, r)
    assert torch.allclose(k, torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.25, 0.0], [2.0, 0.0, 4.0]]))
    # token 2 has the largest r^2, then token 1 (orthogonal to it) beats token 0 (its duplicate: gain 0)
    assert greedy_map(k, 2).tolist() == [2, 1]
    assert greedy_map(torch.eye(3), 2).tolist() == [0, 1]  # ties go to the lowest index
    rel = relevance(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), torch.tensor([[1.0, 0.0]]))
    assert torch.allclose(rel, torch.tensor([1e-6 / 2, 0.5 + 1e-6 / 2, 1.0 + 1e-6 / 2]))  # negated, min-max
    with pytest.raises(ValueError, match="keep 4"):
        greedy_map(torch.eye(3), 4)


def test_the_method_reads_the_text_after_the_image_as_its_instruction() -> None:
    from horizon.methods import METHODS
    from tests.viewkit import make_view

    # rows: 1 system token along y, 4 visual tokens, 2 text tokens along x (pooled: along x); visual token 0 along x
    # (most relevant), 2 nearly along x (its near-duplicate), 1 along y, 3 along -x (least relevant, unnegated)
    hidden = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [-1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    view = make_view(hidden, [1, 2, 3, 4], layer=0)
    picked = METHODS.get("cdpruner-llm").select(view, 2, [torch.Generator()])
    r = relevance(hidden[1:5], hidden[5:].mean(0, keepdim=True), negate=False)
    assert torch.allclose(r, torch.tensor([1.0, 0.5, 0.5 + 0.5 / 1.01**0.5, 0.0]) + 0.5e-6)
    expected = greedy_map(conditional_kernel(hidden[1:5], r), 2).sort().values
    # token 0 first (r^2 = 1); then token 1 (orthogonal, gain 0.25) beats token 2 (a near-duplicate of 0)
    assert picked.tolist() == [expected.tolist()] == [[0, 1]]
    assert view.accessed == {"hidden", "spans"}


def test_more_picks_than_the_kernels_rank_follow_relevance() -> None:
    feats = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])  # rank 2
    r = torch.tensor([0.5, 0.9, 0.7, 0.6])
    picks = greedy_map(conditional_kernel(feats, r), 4).tolist()
    assert picks[:2] == _naive(conditional_kernel(feats, r), 2) and sorted(picks) == [0, 1, 2, 3]
    assert picks[:2] == [1, 3] and picks[2:] == [2, 0]  # the plane is spanned; then by r^2: 0.49, 0.25


@pytest.mark.parametrize("seed", range(4))
def test_matches_the_released_selection(seed: int) -> None:
    from tests.reference import released_cdpruner

    g = torch.Generator().manual_seed(seed)
    features = torch.randn(1, 20, 32, generator=g)  # the projector output (the kernel's similarity)
    image_embeds, text_embeds = torch.randn(1, 20, 8, generator=g), torch.randn(2, 8, generator=g)
    kernel = conditional_kernel(features[0], relevance(image_embeds[0], text_embeds))  # the reference's negation
    for keep in (1, 6, 15):
        ours = greedy_map(kernel, keep).sort().values
        assert ours.tolist() == released_cdpruner(features, image_embeds, text_embeds, keep)[0].tolist()
