"""CDPruner's selection core (Zhang et al., "Beyond Attention or Similarity: Maximizing Conditional Diversity for
Token Pruning in MLLMs"; github.com/Theia-4869/CDPruner @9541616, ``llava/model/llava_arch.py`` L148-185); pure.

* :func:`relevance`: r = -(mean over instruction embeddings of the cosine of each visual token to them),
  min-max normalised as the reference does (``(r - min + 1e-6) / (max - min)``, L155-160; the negation is the
  reference's, "only observed in CLIP" per its maintainer).
* :func:`conditional_kernel`: L = diag(r) S diag(r), S the cosine similarity of the visual tokens (L151-153, L167).
* :func:`greedy_map`: the fast greedy MAP inference of a DPP (Chen et al., 2018) with incremental Cholesky rows,
  exactly ``keep`` picks, no early stop, ties to the lowest index, returned in pick order (L169-185; the caller
  sorts). Not yet registered as a method: the instruction embedding (the reference's CLIP text tower is not in a
  LLaVA or Qwen checkpoint) needs a view field first (issue 21).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def relevance(visual: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
    """(N,) relevance of ``visual`` (N, D) to ``instruction`` (M, D), min-max normalised as the reference does."""
    if visual.ndim != 2 or instruction.ndim != 2 or visual.shape[1] != instruction.shape[1] or not len(instruction):
        raise ValueError(f"visual (N, D) and instruction (M >= 1, D) embeddings, got {tuple(visual.shape)} and "
                         f"{tuple(instruction.shape)}")  # fmt: skip
    r = -(F.normalize(visual.float(), dim=-1) @ F.normalize(instruction.float(), dim=-1).T).mean(-1)
    span = r.max() - r.min()
    if span == 0:  # every token equally relevant (the reference divides by zero here)
        return torch.ones_like(r)
    return (r - r.min() + 1e-6) / span


def conditional_kernel(features: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """(N, N) L = diag(r) S diag(r), S the cosine similarity of ``features`` (N, D)."""
    x = F.normalize(features.float(), dim=-1)
    return r[:, None] * (x @ x.T) * r[None, :]


def greedy_map(kernel: torch.Tensor, keep: int) -> torch.Tensor:
    """``keep`` indices in pick order: each the item that most increases log det of the chosen kernel block
    (Chen et al. 2018's incremental Cholesky form; its d_j^2 is that gain's exp)."""
    n = kernel.shape[0]
    if kernel.shape != (n, n) or not 0 <= keep <= n:
        raise ValueError(f"a square kernel and 0 <= keep <= N, got {tuple(kernel.shape)} and keep {keep}")
    gain = kernel.diagonal().clone().float()
    rows = torch.zeros(keep, n, dtype=torch.float32, device=kernel.device)
    picks = torch.empty(keep, dtype=torch.long, device=kernel.device)
    for i in range(keep):
        j = gain.argmax()
        picks[i] = j
        e = (kernel[j].float() - rows[:i, j] @ rows[:i]) / gain[j].clamp(min=1e-12).sqrt()
        rows[i] = e
        gain = gain - e * e
        gain[picks[: i + 1]] = float("-inf")
    return picks
