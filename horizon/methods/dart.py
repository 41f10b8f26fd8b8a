"""DART (Wen et al., "Stop Looking for Important Tokens... Duplication Matters More", EMNLP'25;
github.com/ZichenWen1/DART, read at the fork xqy1111111/DART@5a19452 with the Qwen2.5-VL port).

At a stage at layer K (reference default K=2), from layer K-1's outputs:

* pivots: the 4 visual tokens and the 4 text tokens after the image (question and template) with the
  largest L1 norm of layer K-1's post-rope key (all KV heads concatenated; for LLaVA-1.5, which has no
  GQA, this equals the reference's repeated keys, and repetition would not change the ranking anyway);
* for each pivot in turn (image pivots by descending norm, then text pivots), the T candidates least
  cosine-similar to it, measured on layer K-1's output through the decoder's final norm, join the kept
  set and leave the candidates.

The reference keeps ``4 + 8·T`` with ``T = ⌊budget/8⌋``; horizon keeps exactly ``keep`` by giving the first
``(keep - 4) mod P`` pivots one more token (P = number of pivots, 8 unless the question is shorter than 4
tokens). Original rope positions are kept (3-D M-RoPE ones on Qwen, as the port does). Only keys and
hidden states are read, so it is flash-attention compatible.

``dart-set`` is the same selection as the released code runs it (YahongWang1/Information-Horizon@75909b2
``llava/model/language_model/modeling_llama_self.py`` l.604-663, ``get_retained_image_token``; the same
algorithm as xqy1111111/DART@5a19452): the pivots are visited in the iteration order of the Python ``set``
built from the list ``image_positions + text_positions`` (absolute prompt positions, each part in top-k
order, largest norm first), i.e. ``for item in list(set(...))``, and every pivot takes ``T = ⌊keep/8⌋``
candidates, so it keeps ``4 + 8·T``: it refuses any other keep (the scripts' 60, 252 and 260 are of that
form) and a prompt with fewer than 4 text tokens after the image. CPython hashes a small int to itself, so
the order is that of the positions modulo the set's table size (32 slots for 8 pivots), collisions
resolved by probing: deterministic for an interpreter, but neither the norm order nor sorted in general.
``dart`` keeps its deterministic, hash-independent order and exact budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from horizon.methods.base import register_method
from horizon.methods.view import TokenView

IMAGE_PIVOTS = 4
TEXT_PIVOTS = 4


def pivot_order(norms: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the ``count`` largest norms, largest first (ties to the lower index)."""
    return torch.sort(norms, descending=True, stable=True).indices[:count]


def duplication_select(
    x: torch.Tensor, visual_rows: torch.Tensor, image_pivots: torch.Tensor, text_pivot_rows: torch.Tensor, keep: int
) -> torch.Tensor:
    """One sample: x (S, D) unit vectors, visual_rows (Nv,), pivots -> sorted kept visual indices (keep,)."""
    pivot_rows = torch.cat([visual_rows[image_pivots], text_pivot_rows])  # (P,)
    per_pivot, extra = divmod(keep - image_pivots.shape[0], pivot_rows.shape[0])
    takes = [per_pivot + (1 if i < extra else 0) for i in range(pivot_rows.shape[0])]
    return greedy_least_similar(x, visual_rows, image_pivots, pivot_rows, takes)


def greedy_least_similar(
    x: torch.Tensor, visual_rows: torch.Tensor, image_pivots: torch.Tensor, pivot_rows: torch.Tensor, takes: list[int]
) -> torch.Tensor:
    """One sample: pivots at rows ``pivot_rows`` (P,), visited in that order, the i-th taking the ``takes[i]``
    candidates (visual tokens other than ``image_pivots``) least cosine-similar to it (x (S, D) unit vectors;
    ties to the lower index), which then leave the candidates -> sorted kept visual indices."""
    Nv = visual_rows.shape[0]
    candidate = torch.ones(Nv, dtype=torch.bool, device=x.device)
    candidate[image_pivots] = False
    chosen = [image_pivots]
    vis = x[visual_rows]  # (Nv, D)
    for row, t in zip(pivot_rows, takes, strict=True):
        pool = candidate.nonzero().squeeze(-1)  # (C,)
        if t == 0 or pool.numel() == 0:
            continue
        sims = vis[pool] @ x[row]  # (C,) cosine similarity to the pivot
        least = pool[torch.sort(sims, stable=True).indices[:t]]  # the least duplicated
        candidate[least] = False
        chosen.append(least)
    return torch.cat(chosen).sort().values


def key_norms_and_units(view: TokenView) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, S) L1 norm of each token's layer K-1 post-rope key (all KV heads concatenated), and (B, S, D) the
    hidden states through the final norm as unit vectors: what DART's pivots and similarities read."""
    keys = view.prev_keys  # (B, KV, S, hd)
    B, _, S, _ = keys.shape
    norms = keys.transpose(1, 2).reshape(B, S, -1).float().abs().sum(-1)
    return norms, F.normalize(view.normed_hidden.float(), dim=-1)


@register_method(
    "dart",
    needs=frozenset({"prev_keys", "normed_hidden", "spans"}),
    positions="original",
    flash_compatible=True,
    min_layer=1,
    reference="Wen et al., DART, EMNLP 2025 (github.com/ZichenWen1/DART)",
)
def select_dart(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    if keep == 0:
        return torch.empty(view.batch, 0, dtype=torch.long)
    if view.n_visual < IMAGE_PIVOTS or keep < IMAGE_PIVOTS:
        raise ValueError(
            f"DART keeps its {IMAGE_PIVOTS} image pivots: it needs at least {IMAGE_PIVOTS} surviving visual "
            f"tokens and keep >= {IMAGE_PIVOTS} (got {view.n_visual} surviving, keep {keep}); use vtw to drop all"
        )
    norms, x = key_norms_and_units(view)
    out = []
    for b in range(view.batch):
        vrows = view.visual_rows[b]
        image_pivots = pivot_order(norms[b, vrows], IMAGE_PIVOTS)  # indices into 0..Nv-1
        text_rows = view.text_after_visual(b)
        text_pivots = text_rows[pivot_order(norms[b, text_rows], min(TEXT_PIVOTS, text_rows.numel()))]
        out.append(duplication_select(x[b], vrows, image_pivots, text_pivots, keep))
    return torch.stack(out)  # (B, keep)


def released_visit_order(positions: list[int]) -> list[int]:
    """The order in which the released code visits pivots at these absolute prompt ``positions`` (image pivots
    in top-k order, then text ones): a real Python ``set``'s iteration order, ``list(set(positions))``."""
    return list(set(positions))


def _released_keep_error(keep: int, n_visual: int) -> ValueError:
    step = IMAGE_PIVOTS + TEXT_PIVOTS
    below = IMAGE_PIVOTS + step * max((keep - IMAGE_PIVOTS) // step, 0)
    near = [str(v) for v in dict.fromkeys((below, below + step)) if v <= n_visual]  # the allowed keeps nearest
    nearest = f"; nearest {' and '.join(near)}" if near else ""
    return ValueError(
        f"dart-set keeps {IMAGE_PIVOTS} + {step}·⌊keep/{step}⌋ tokens as the released code does: give a keep of "
        f"that form ({IMAGE_PIVOTS}, {IMAGE_PIVOTS + step}, {IMAGE_PIVOTS + 2 * step}, ...{nearest}; the scripts' "
        f"60, 252, 260) or all {n_visual}, got {keep}"
    )


def released_keep(keep: int, n_visual: int, grid: tuple[int, int] | None = None) -> int:
    """The largest keep up to ``keep`` that dart-set meets (4 + 8·T, the released count; none; or all ``n_visual``;
    the grid does not matter)."""
    if keep >= n_visual:
        return n_visual
    if keep < IMAGE_PIVOTS:
        return 0
    step = IMAGE_PIVOTS + TEXT_PIVOTS
    return IMAGE_PIVOTS + step * ((keep - IMAGE_PIVOTS) // step)


@register_method(
    "dart-set",
    keeps=released_keep,
    needs=frozenset({"prev_keys", "normed_hidden", "spans"}),
    positions="original",
    flash_compatible=True,
    min_layer=1,
    reference="Wen et al., DART, EMNLP 2025, as released: YahongWang1/Information-Horizon@75909b2 "
    "llava/model/language_model/modeling_llama_self.py l.604-663 (set-order pivots, 4 + 8·⌊keep/8⌋)",
)
def select_dart_set(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    """DART with the released code's pivot order (a Python set of their prompt positions) and count
    (⌊keep/8⌋ per pivot); keeping none or all is the empty set or the identity, as for every method."""
    Nv = view.n_visual
    if keep == 0:
        return torch.empty(view.batch, 0, dtype=torch.long)
    if keep == Nv:
        return torch.arange(Nv, device=view.visual_rows.device).expand(view.batch, Nv)
    step = IMAGE_PIVOTS + TEXT_PIVOTS
    per_pivot = keep // step  # the release's TOKEN_TOPK = ceil(save_num // (4 + 4))
    if keep != IMAGE_PIVOTS + step * per_pivot or Nv < IMAGE_PIVOTS:
        raise _released_keep_error(keep, Nv)
    if bool((view.visual_index < 0).any()):
        raise ValueError("dart-set orders its pivots by prompt position, which merged tokens (from recycling) lack")
    norms, x = key_norms_and_units(view)
    out = []
    for b in range(view.batch):
        vrows = view.visual_rows[b]
        text_rows = view.text_after_visual(b)
        if text_rows.numel() < TEXT_PIVOTS:
            raise ValueError(
                f"dart-set takes the released code's {TEXT_PIVOTS} text pivots after the image, but sample {b} has "
                f"only {text_rows.numel()} text tokens there"
            )
        image_pivots = pivot_order(norms[b, vrows], IMAGE_PIVOTS)  # indices into 0..Nv-1, largest norm first
        text_pivots = text_rows[pivot_order(norms[b, text_rows], TEXT_PIVOTS)]
        pivot_rows = torch.cat([vrows[image_pivots], text_pivots])  # (8,) rows, in the release's list order
        rows = view.rows[b]
        first = 0 if view.pad is None else int(rows[view.pad[b]][0])  # the sample's first real token
        positions = (rows[pivot_rows] - first).tolist()  # absolute prompt positions, as the release counts
        row_at = dict(zip(positions, pivot_rows.tolist(), strict=True))
        order = torch.tensor([row_at[p] for p in released_visit_order(positions)], device=vrows.device)
        out.append(greedy_least_similar(x[b], vrows, image_pivots, order, [per_pivot] * step))
    return torch.stack(out)  # (B, keep)
