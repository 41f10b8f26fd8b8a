"""CDPruner's core (horizon/methods/cdpruner_core.py) against the definitions: the greedy MAP picks what a naive
greedy log-det maximiser picks; the kernel and relevance by hand."""

from __future__ import annotations

import pytest
import torch

from horizon.methods.cdpruner_core import conditional_kernel, greedy_map, relevance


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
