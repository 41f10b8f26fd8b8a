"""VisionZip (Yang et al., "VisionZip: Longer is Better but Not Necessary in Vision Language Models", CVPR 2025;
github.com/dvlab-research/VisionZip, read at commit 3151f6d): dominant tokens chosen by the vision tower's own
attention, contextual tokens merged from the rest (``visionzip/clip_encoder.py`` L42-80).

* **Dominant**: the ``d`` visual tokens the tower attends to most (:class:`~horizon.methods.view.Tower`'s
  ``attention``: LLaVA's CLS attention at the feature layer, summed over heads, L50-53), ties to the lower index.
* **Contextual**: the other ``N`` tokens, in order; ``c`` targets at a uniform stride (``step = max(1, N // c)``,
  the first ``c`` of ``0, step, 2 step, ...`` of that list, L67-68); every other token joins the target its tower key
  (head mean, L2-normalised) is most cosine-similar to (L64, L71-74); each target becomes ``x_target +
  mean(x_joined)`` (not a mean including the target, L75-80), or stays itself when nothing joins it.
* **Budget**: ``keep = d + c`` with ``d = round(keep * 54 / 64)``, the README's 54 + 10 split for 64 tokens (108 +
  20 and 162 + 30 at 128 and 192).
* **Where**: at layer 0 (the reference's place, before the LLM) ``x`` is the tower's features and a merged target
  goes through the projector (the reference merges before ``mm_projector``, llava_arch.py L31-35); at a deeper
  layer (the layer sweeps) the same selection and assignment merge the hidden states entering that layer.
* **DeepStack** (Qwen3-VL): the selection's ``mix`` holds the merge's weights over the visual tokens (a target 1, each
  joined token ``1 / n``; :func:`merge_mix`), so a merged token's pending DeepStack levels are merged the same way:
  ``level_target + mean(level_joined)``. At a deeper layer ``mix`` reproduces the merged hidden states exactly; at
  layer 0 it is the merge of the tower's features before the projector, and the levels (already projected by their
  own DeepStack mergers) are merged after theirs: the same weights on the LLM side, not the block features merged
  before each DeepStack merger, which the engine does not hold.

Where horizon differs from the reference, and why:

* The reference keeps CLIP's CLS token as one of its ``d`` dominant tokens (clip_encoder.py L54); LLaVA-1.5 as
  Hugging Face runs it has no CLS row (its ``default`` strategy drops CLS, and the LLM never saw one in training), so
  horizon spends that slot on one more patch (``d`` patches).
* The reference places the contextual tokens after the dominant ones (L83); here each merged token takes its target
  patch's place in raster order (the engine keeps a merged token at a kept token's position). With re-indexed
  positions (as the reference's contiguous ones, llava_arch.py L232-241) only the order of the ``keep`` tokens differs.
* Qwen2.5-VL: no reference port; the tower probe is horizon's natural port (horizon/models/tower.py) and the stage
  keeps original M-RoPE positions (as every Qwen port here).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from horizon.methods.base import Selection, register_method
from horizon.methods.mix import average, one_hot
from horizon.methods.scoring import top_k_sorted
from horizon.methods.view import TokenView

DOMINANT_SHARE = (54, 64)  # the README's 64-token split: 54 dominant + 10 contextual


def split(keep: int) -> tuple[int, int]:
    """(dominant, contextual) for a budget of ``keep`` tokens."""
    dominant = round(keep * DOMINANT_SHARE[0] / DOMINANT_SHARE[1])
    return dominant, keep - dominant


def contextual_groups(keys: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For the remaining tokens' keys (N, d): (targets (c,) positions in that list, owner (N,) each token's target
    number, -1 for the targets themselves)."""
    n = keys.shape[0]
    if count == 0 or n == 0:
        return torch.empty(0, dtype=torch.long), torch.full((n,), -1, dtype=torch.long)
    step = max(1, n // count)
    targets = torch.arange(0, n, step)[:count]
    unit = F.normalize(keys.float(), dim=-1)
    owner = (unit @ unit[targets].T).argmax(-1).cpu()  # (N,) most similar target (ties: the first)
    owner[targets] = -1
    return targets, owner


def merge(x: torch.Tensor, targets: torch.Tensor, owner: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x_target + mean(x_joined)`` per target of ``x`` (N, F): (values (c, F), joined counts (c,))."""
    xf = x.float()
    values, counts = [], []
    for j, t in enumerate(targets.tolist()):
        joined = (owner == j).nonzero().squeeze(-1)
        counts.append(joined.numel())
        values.append(xf[t] + xf[joined.to(x.device)].mean(0) if joined.numel() else xf[t])
    return torch.stack(values), torch.tensor(counts)


def merge_mix(n_visual: int, dominant: torch.Tensor, others: torch.Tensor, targets: torch.Tensor,
              owner: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """The weights that form the dominant tokens (d,) then the targets' merged tokens from the ``n_visual`` visual
    tokens (``others`` (N,) the rest, ``targets``/``owner`` from :func:`contextual_groups`): (d + c, n_visual)
    float32; a target's row is one-hot at it plus ``1 / n`` on each of its ``n`` joined tokens (:func:`merge`)."""
    rows = [one_hot(dominant, n_visual)]
    for j, t in enumerate(targets.tolist()):
        rows.append((one_hot(others[t : t + 1], n_visual)[0] + average(others[owner == j], n_visual))[None])
    return torch.cat(rows)


@register_method(
    "visionzip",
    needs=frozenset({"hidden", "tower"}),
    positions="reindex",
    merges=True,
    flash_compatible=True,
    reference="Yang et al., VisionZip, CVPR 2025 (github.com/dvlab-research/VisionZip)",
)
def select_visionzip(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> Selection | torch.Tensor:
    Nv = view.n_visual
    if keep == Nv:
        return torch.arange(Nv).expand(view.batch, Nv)
    if keep == 0:
        return torch.empty(view.batch, 0, dtype=torch.long)
    tower = view.tower  # per surviving token
    d, c = split(keep)
    hidden = view.visual_hidden  # (B, Nv, D)
    dominants = top_k_sorted(tower.attention.float(), d)  # (B, d) ascending; ties to the lower index
    if c == 0:  # a budget of 1-3 tokens: dominant ones only, nothing to merge
        return dominants
    kept, values, replaced, mix = [], [], [], []
    for b in range(view.batch):
        dominant = dominants[b].cpu()
        rest = torch.ones(Nv, dtype=torch.bool)
        rest[dominant] = False
        others = rest.nonzero().squeeze(-1)  # (N,) ascending
        targets, owner = contextual_groups(tower.keys[b, others.to(tower.keys.device)], c)
        if view.layer == 0:  # the reference's place: merge the tower's features, then project them
            merged, counts = merge(tower.features[b, others.to(tower.features.device)], targets, owner)
            merged = tower.project(merged[None].to(tower.features.dtype))[0]
        else:
            merged, counts = merge(hidden[b, others.to(hidden.device)], targets, owner)
        chosen = torch.cat([dominant, others[targets]])
        order = chosen.argsort()
        value = torch.cat([hidden[b, dominant.to(hidden.device)].float(), merged.float().to(hidden.device)])
        kept.append(chosen[order])
        values.append(value[order.to(value.device)])
        replaced.append(torch.cat([torch.zeros(d, dtype=torch.bool), counts > 0])[order])
        mix.append(merge_mix(Nv, dominant, others, targets, owner)[order])
    device = hidden.device
    return Selection(torch.stack(kept).to(device), values=torch.stack(values).to(device, hidden.dtype),
                     replaced=torch.stack(replaced).to(device), mix=torch.stack(mix).to(device))  # fmt: skip
