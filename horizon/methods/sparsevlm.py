"""SparseVLM v1.5 (Zhang et al., ICML'25; github.com/Gumpest/SparseVLMs, read at commit b9619e6).

* **Raters**, once per prompt on the decoder-input embeddings: ``M = V·Tᵀ`` between the visual tokens
  and the text after the image (question and template), softmax over the text axis, mean over visual
  tokens; the raters are the text tokens scoring strictly above the mean score (all of them if none do,
  where the reference would produce NaN).
* **Score** at a stage at layer K: the head-mean causal attention of the rater rows at layer K-1 (q/k
  after rope, over all keys), restricted to the visual columns and averaged over raters; the top ``keep``
  visual tokens survive, in sequence order. The reference prunes *after* its layers [2, 6, 15], i.e.
  ``sparsevlm@3+@7+@16`` here; it computes the dense attention map, horizon only the rater rows.
* **Recycling**: of the deleted tokens, the top ``int(0.3·n_del)+1`` by score are clustered with DPC-kNN
  on their hidden states (distance ``‖xi−xj‖/√C``; density ``exp(−mean sq. distance to the k nearest,
  self included)`` plus 1e-6 noise drawn from the sample's generator; δ the distance to the nearest denser
  point; centers the top ``k = n_rec//10 + 1`` by ρ·δ) and each cluster's mean is inserted right after
  the kept visual tokens, in center order. Merged tokens count as visual tokens for later stages. The selection's
  ``mix`` rows say so (a cluster's row averages its members), so on Qwen3-VL a recycled token's pending DeepStack
  levels are its cluster's mean levels.
* Positions are **re-indexed** (contiguous, as the reference does); Qwen2.5-VL has no official port here:
  original M-RoPE positions are kept and merged tokens share the position of the last kept visual token.
* Keep-all is the identity (the reference always deletes at least one token: ``k ≤ v_num − 1``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from horizon.methods.base import Selection, register_method
from horizon.methods.mix import average, one_hot
from horizon.methods.scoring import top_k_sorted
from horizon.methods.view import TokenView

RECYCLE_FRACTION = 0.3


def rater_scores(visual: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Per text token relevance to the image: softmax_T(V·Tᵀ) averaged over V -> (T,)."""
    return (visual.float() @ text.float().T).softmax(-1).mean(0)


def select_raters(scores: torch.Tensor) -> torch.Tensor:
    """Indices of the text tokens scoring strictly above the mean (all of them if none does)."""
    chosen = (scores > scores.mean()).nonzero().squeeze(-1)
    return chosen if chosen.numel() else torch.arange(scores.numel(), device=scores.device)


def dpc_knn_merge(x: torch.Tensor, clusters: int, generator: torch.Generator) -> torch.Tensor:
    """Density-peak clustering with kNN density on ``x`` (N, C); returns the cluster means (clusters, C)."""
    assign = dpc_knn_assign(x, clusters, generator)
    xf = x.float()
    return torch.stack([xf[assign == c].mean(0) for c in range(min(clusters, x.shape[0]))])  # (k, C)


def dpc_knn_assign(x: torch.Tensor, clusters: int, generator: torch.Generator) -> torch.Tensor:
    """Density-peak clustering with kNN density on ``x`` (N, C): each row's cluster, (N,) in ``0..k-1`` (``k =
    min(clusters, N)``, clusters numbered in center order)."""
    N, C = x.shape
    xf = x.float()
    dist = torch.cdist(xf, xf) / math.sqrt(C)  # (N, N)
    k = min(clusters, N)
    nearest = dist.topk(k, dim=-1, largest=False).values  # (N, k), self included
    noise = torch.rand(N, generator=generator, device="cpu").to(x.device) * 1e-6
    rho = (-(nearest**2).mean(-1)).exp() + noise  # (N,)
    denser = rho[None, :] > rho[:, None]  # (N, N): column j denser than row i
    delta = torch.where(denser, dist, dist.max()).min(-1).values  # (N,)
    centers = (rho * delta).topk(k).indices  # (k,) descending rho·delta
    assign = dist[:, centers].argmin(-1)  # (N,)
    assign[centers] = torch.arange(k, device=x.device)
    return assign


def _rater_rows(view: TokenView, b: int) -> torch.Tensor:
    text_rows = view.text_after_visual(b)  # current rows of the question and template
    emb = view.prompt_embeddings[b]  # (S0, D)
    if view.prompt_visual_mask is None:
        raise ValueError("SparseVLM's raters need the prompt's visual mask in the view")
    visual = emb[view.prompt_visual_mask[b]]  # (Nv0, D) all original visual tokens
    text = emb[view.rows[b, text_rows]]  # (T, D)
    return text_rows[select_raters(rater_scores(visual, text))]


@register_method(
    "sparsevlm",
    needs=frozenset({"prev_attention", "embeddings", "hidden", "spans"}),
    positions="reindex",
    merges=True,
    flash_compatible=False,
    min_layer=1,
    min_keep=1,
    reference="Zhang et al., SparseVLM, ICML 2025 (github.com/Gumpest/SparseVLMs)",
)
def select_sparsevlm(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> Selection:
    B, Nv = view.batch, view.n_visual
    if keep == 0:
        raise ValueError("sparsevlm keeps at least one visual token (it recycles the rest); use vtw to drop all")
    raters = [_rater_rows(view, b) for b in range(B)]
    width = max(r.numel() for r in raters)
    padded = torch.stack([torch.cat([r, r[:1].expand(width - r.numel())]) for r in raters])  # (B, R)
    attn = view.prev_attention(padded)  # (B, R, S)
    scores = torch.stack(
        [
            attn[b, : r.numel()].gather(1, view.visual_rows[b].expand(r.numel(), -1)).mean(0)
            for b, r in enumerate(raters)
        ]
    )  # (B, Nv)
    kept = top_k_sorted(scores, keep)  # (B, keep)
    if keep == Nv:
        return Selection(kept)
    n_recycle = int(RECYCLE_FRACTION * (Nv - keep)) + 1
    clusters = n_recycle // 10 + 1
    merged, mix = [], []
    for b in range(B):
        dropped = torch.ones(Nv, dtype=torch.bool, device=scores.device)
        dropped[kept[b]] = False
        candidates = dropped.nonzero().squeeze(-1)
        recycled = candidates[torch.sort(scores[b, candidates], descending=True, stable=True).indices[:n_recycle]]
        feats = view.visual_hidden[b, recycled]  # (n_recycle, D)
        assign = dpc_knn_assign(feats, clusters, generators[b])
        merged.append(torch.stack([feats.float()[assign == c].mean(0) for c in range(clusters)]))  # (clusters, D)
        groups = [average(recycled[assign == c], Nv) for c in range(clusters)]
        mix.append(torch.cat([one_hot(kept[b].cpu(), Nv), torch.stack(groups)]))  # (keep + clusters, Nv)
    return Selection(kept, torch.stack(merged).to(view.hidden.dtype), mix=torch.stack(mix).to(kept.device))
