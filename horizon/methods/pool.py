"""Spatial average pooling of the visual grid: the downsampling baseline (VTC-Bench, Liao et al., ACL 2026, found
plain image downsampling beats many pruning methods; github.com/Chenfei-Liao/VTC-Bench).

The prompt's visual grid (H, W) (LLaVA-1.5: CLIP's 24 x 24 patches; Qwen2.5-VL: its merged grid, from the image size)
is average-pooled to an (h, w) grid with ``h * w = keep``, with adaptive pooling's bins (``torch.nn.functional.
adaptive_avg_pool2d``: bin i covers rows ``floor(i H / h)`` to ``ceil((i + 1) H / h) - 1``, likewise columns), of the
hidden states entering the pruning layer (at layer 0 the projector output: pooling the projected grid, as LLaVA-style
pooling baselines do). (h, w) is the factorisation of ``keep`` whose aspect is nearest the grid's, at most 1.5x off
it; :func:`meetable_keep` gives the nearest such ``keep`` on the prompt's grid (a square one when the grid is
unknown; ``Method.meetable``), which the plan uses for a fraction.

Each pooled token takes the place of its bin's top-left token (so kept indices ascend in the pooled raster order) and
is a new token (original index -1) unless its bin holds that token alone; its ``Selection.mix`` row is the bin's
averaging weights (:func:`pool_mix`), so on Qwen3-VL its pending DeepStack levels are pooled the same way. Positions:
**re-indexed** on LLaVA (the pooled grid enters the LLM as a shorter sequence, as a downsampled image would);
Qwen2.5-VL keeps each pooled token's top-left M-RoPE position (every Qwen port here keeps original positions). Pooling
needs the whole original grid at its stage (a first stage, or after stages that kept everything).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from horizon.methods.base import Selection, register_method
from horizon.methods.mix import average
from horizon.methods.view import TokenView

MAX_DISTORTION = 1.5  # the pooled grid's aspect may differ from the grid's by at most this factor


def pooled_grid(keep: int, rows: int, cols: int) -> tuple[int, int] | None:
    """(h, w) with ``h * w == keep``, ``h <= rows``, ``w <= cols`` and the aspect nearest ``rows / cols`` (at most
    :data:`MAX_DISTORTION` off; ties to fewer rows); None if no factorisation fits."""
    if keep < 1 or rows < 1 or cols < 1:
        raise ValueError(f"pooling needs keep >= 1 and a grid of at least 1 x 1, got {keep} of {rows} x {cols}")
    best: tuple[float, int, int] | None = None
    for h in range(1, min(keep, rows) + 1):
        w, rest = divmod(keep, h)
        if rest or w > cols:
            continue
        off = abs(math.log((h / w) / (rows / cols)))
        if off <= math.log(MAX_DISTORTION) + 1e-12 and (best is None or off < best[0] - 1e-12):
            best = (off, h, w)
    return None if best is None else (best[1], best[2])


def meetable_keep(wanted: int, n_visual: int, grid: tuple[int, int] | None = None) -> int:
    """The keep nearest ``wanted`` (ties to the smaller) that pools the visual grid ``grid`` (rows, cols; None: a
    square grid of ``n_visual`` tokens); ``wanted`` itself when the grid is unknown and not square (the stage then
    checks it against the prompt's grid)."""
    side = math.isqrt(n_visual)
    rows, cols = grid if grid is not None else (side, side)
    if rows * cols != n_visual or wanted >= n_visual or wanted < 1:
        return min(wanted, n_visual)
    for delta in range(n_visual):
        for keep in (wanted - delta, wanted + delta):
            if 1 <= keep <= n_visual and pooled_grid(keep, rows, cols) is not None:
                return keep
    return n_visual


def bins(size: int, out: int) -> list[tuple[int, int]]:
    """Adaptive pooling's bins of ``size`` cells into ``out``: [start, end) per bin."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def pool_mix(rows: int, cols: int, h: int, w: int) -> torch.Tensor:
    """The pooling weights: row ``i`` averages bin ``i``'s raster indices of the (rows, cols) grid, (h*w, rows*cols)
    float32 (``pool_mix(...) @ x`` is :func:`pool_grid`'s values; ``Selection.mix``)."""
    cells = torch.arange(rows * cols).view(rows, cols)
    return torch.stack([average(cells[r0:r1, c0:c1].flatten(), rows * cols) for r0, r1 in bins(rows, h)
                        for c0, c1 in bins(cols, w)])  # fmt: skip


def pool_grid(x: torch.Tensor, rows: int, cols: int, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pool ``x`` (rows * cols, D), a raster grid, to (h, w): (representatives (h*w,) top-left raster indices,
    values (h*w, D), sizes (h*w,) tokens per bin)."""
    reps, values, sizes = [], [], []
    grid = x.float().view(rows, cols, -1)
    for r0, r1 in bins(rows, h):
        for c0, c1 in bins(cols, w):
            reps.append(r0 * cols + c0)
            values.append(grid[r0:r1, c0:c1].mean((0, 1)))
            sizes.append((r1 - r0) * (c1 - c0))
    return torch.tensor(reps), torch.stack(values), torch.tensor(sizes)


@register_method(
    "pool",
    needs=frozenset({"hidden", "grid"}),
    positions="reindex",
    merges=True,
    flash_compatible=True,
    min_keep=1,
    keeps=meetable_keep,
    reference="spatial average pooling, the downsampling baseline (VTC-Bench, ACL 2026; "
    "github.com/Chenfei-Liao/VTC-Bench)",
)
def select_pool(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> Selection:
    if keep == 0:
        raise ValueError("pool keeps at least one visual token (a 1 x 1 grid); use vtw to drop them all")
    if bool((view.visual_index < 0).any()):
        raise ValueError(f"pool pools the original visual grid, but an earlier stage made new tokens (merged or "
                         f"pooled) before layer {view.layer}; pool at the first stage")  # fmt: skip
    if view.n_visual != view.n_visual_original:
        raise ValueError(f"pool pools the whole visual grid, but only {view.n_visual} of its "
                         f"{view.n_visual_original} tokens survive to layer {view.layer}; pool at the first stage")  # fmt: skip
    feats = view.visual_hidden  # (B, Nv, D)
    kept, values, replaced, mix = [], [], [], []
    for b, (rows, cols) in enumerate(view.grid.tolist()):
        shape = pooled_grid(keep, rows, cols)
        if shape is None:
            nearest = meetable_keep(keep, rows * cols, (rows, cols))
            raise ValueError(f"pool cannot pool the {rows} x {cols} visual grid to {keep} tokens (an h x w grid whose "
                             f"aspect is within {MAX_DISTORTION}x of the grid's); the nearest it meets is {nearest}")  # fmt: skip
        reps, pooled, sizes = pool_grid(feats[b], rows, cols, *shape)
        kept.append(reps)
        values.append(pooled)
        replaced.append(sizes > 1)
        mix.append(pool_mix(rows, cols, *shape))
    device = feats.device
    return Selection(torch.stack(kept).to(device), values=torch.stack(values).to(device, feats.dtype),
                     replaced=torch.stack(replaced).to(device), mix=torch.stack(mix).to(device))  # fmt: skip
