"""CDPruner's selection core (Zhang et al., "Beyond Attention or Similarity: Maximizing Conditional Diversity for
Token Pruning in MLLMs"; github.com/Theia-4869/CDPruner @9541616, ``llava/model/llava_arch.py`` L148-185); pure.

* :func:`relevance`: r = -(mean over instruction embeddings of the cosine of each visual token to them),
  min-max normalised as the reference does (``(r - min + 1e-6) / (max - min)``, L155-160; the negation is the
  reference's, "only observed in CLIP" per its maintainer).
* :func:`conditional_kernel`: L = diag(r) S diag(r), S the cosine similarity of the visual tokens (L151-153, L167).
* :func:`greedy_map`: the fast greedy MAP inference of a DPP (Chen et al., 2018) with incremental Cholesky rows,
  exactly ``keep`` picks, no early stop, ties to the lowest index, returned in pick order (L169-185; the caller
  sorts).

The method is registered as **``cdpruner-llm``**, the closest variant a VLM checkpoint allows, named for its one
change. The reference's relevance reads CLIP's *text tower* (its pooled, projected embedding of the raw question,
``clip_encoder.py`` L38-48, L81-89) against CLIP-projected patch features (L93-95); neither the text tower nor CLIP's
projections are in a LLaVA or Qwen2.5-VL checkpoint. Here the instruction is the LLM's own states of the text after the
image (the question and the template's tail; at layer 0 its input embeddings), **mean-pooled to one vector** as the
reference's one sentence embedding is (and as Intel's openvino.genai port for Qwen does), and the visual features are
the states entering the pruning layer (at layer 0 the projector output, which the reference's kernel uses, L148-153).
The relevance is **not negated**: the reference negates it for CLIP only ("a phenomenon only observed in CLIP", its
maintainer in issues #14 and #19), the paper's formula has no minus, and Intel's LLM-embedding port drops it
(``NEGATE`` keeps the reference's sign for the pure functions). Positions: re-indexed on LLaVA (the reference feeds the
kept tokens as a shorter sequence); Qwen keeps original M-RoPE positions (no reference port: its maintainer prunes
"after the PatchMerger", issue #4, which is layer 0 here).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from horizon.methods.base import register_method
from horizon.methods.view import TokenView

NEGATE = True  # the reference's sign for CLIP features (L158); cdpruner-llm uses LLM states, unnegated


def relevance(visual: torch.Tensor, instruction: torch.Tensor, negate: bool = NEGATE) -> torch.Tensor:
    """(N,) relevance of ``visual`` (N, D) to ``instruction`` (M, D), min-max normalised as the reference does."""
    if visual.ndim != 2 or instruction.ndim != 2 or visual.shape[1] != instruction.shape[1] or not len(instruction):
        raise ValueError(f"visual (N, D) and instruction (M >= 1, D) embeddings, got {tuple(visual.shape)} and "
                         f"{tuple(instruction.shape)}")  # fmt: skip
    r = (F.normalize(visual.float(), dim=-1) @ F.normalize(instruction.float(), dim=-1).T).mean(-1)
    r = -r if negate else r
    span = r.max() - r.min()
    if span == 0:  # every token equally relevant (the reference divides by zero here)
        return torch.ones_like(r)
    return (r - r.min() + 1e-6) / span


def conditional_kernel(features: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """(N, N) L = diag(r) S diag(r), S the cosine similarity of ``features`` (N, D)."""
    x = F.normalize(features.float(), dim=-1)
    return r[:, None] * (x @ x.T) * r[None, :]


RANK_EPS = 1e-10  # a gain at or below this: the kernel's rank is exhausted


def greedy_map(kernel: torch.Tensor, keep: int) -> torch.Tensor:
    """``keep`` indices in pick order: each the item that most increases log det of the chosen kernel block
    (Chen et al. 2018's incremental Cholesky form; its d_j^2 is that gain's exp). Once no item adds any volume
    (more picks than the kernel's rank, e.g. more tokens than feature dimensions; the reference's 4096-wide
    features never get there at its budgets) the rest follow by the kernel's diagonal (relevance squared),
    ties to the lowest index."""
    n = kernel.shape[0]
    if kernel.shape != (n, n) or not 0 <= keep <= n:
        raise ValueError(f"a square kernel and 0 <= keep <= N, got {tuple(kernel.shape)} and keep {keep}")
    gain = kernel.diagonal().clone().float()
    rows = torch.zeros(keep, n, dtype=torch.float32, device=kernel.device)
    chosen = torch.zeros(n, dtype=torch.bool, device=kernel.device)
    picks = torch.empty(keep, dtype=torch.long, device=kernel.device)
    for i in range(keep):
        open_gain = gain.masked_fill(chosen, float("-inf"))
        j = open_gain.argmax()
        if not bool(open_gain[j] > RANK_EPS):  # rank exhausted: the rest by relevance
            rest = kernel.diagonal().float().masked_fill(chosen, float("-inf"))
            picks[i:] = torch.sort(rest, descending=True, stable=True).indices[: keep - i]
            break
        picks[i] = j
        chosen[j] = True
        e = (kernel[j].float() - rows[:i, j] @ rows[:i]) / gain[j].sqrt()
        rows[i] = e
        gain = gain - e * e
    return picks


@register_method(
    "cdpruner-llm",
    needs=frozenset({"hidden", "spans"}),
    positions="reindex",
    flash_compatible=True,
    reference="Zhang et al., CDPruner (github.com/Theia-4869/CDPruner); variant: the LLM's own text states as the "
    "instruction, unnegated (no CLIP text tower in a VLM checkpoint)",
)
def select_cdpruner(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    feats = view.visual_hidden  # (B, Nv, D); at layer 0 the projector output
    picks = []
    for b in range(view.batch):
        instruction = view.hidden[b, view.text_after_visual(b)].float().mean(0, keepdim=True)  # (1, D) pooled
        kernel = conditional_kernel(feats[b], relevance(feats[b], instruction, negate=False))
        picks.append(greedy_map(kernel, keep).sort().values)
    return torch.stack(picks)
