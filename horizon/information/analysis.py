"""Analyses of information maps (the paper, Sec. 4.1-4.2, Figures 5, 7, 8, 9 and 12); pure functions.

* :func:`layer_statistics`: per layer, the mean over samples of the mean and of the variance of
  I_i(V_k) across a sample's visual tokens (Fig. 8 and Fig. 7a), and the mean of p_text and p_full.
* :func:`information_horizon`: the first layer from which the mean information stays within ``rel`` of zero,
  relative to its largest magnitude over the measured layers (``HORIZON_RULE``).
* :func:`withdraw_horizon`: the first layer from which withdrawing every visual token keeps the accuracy
  within a band of the unpruned model's (``WITHDRAW_RULE``): the paper's Fig. 9 "convergence layer".
* :func:`retained`: the information a selection keeps, Σ_{k ∈ kept} I_i(V_k) (Fig. 5 and 12).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from horizon.information.metric import InformationMap

HORIZON_REL = 0.05
HORIZON_RULE = (
    "information horizon: the first measured layer i from which |mean information| stays at most "
    f"{HORIZON_REL:g} x its largest magnitude over the measured layers"
)
WITHDRAW_Z, WITHDRAW_FLOOR = 2.0, 1.0
WITHDRAW_REL = 0.02
WITHDRAW_RULE = (
    "withdraw horizon: the first layer K from which withdrawing every visual token at any K' >= K keeps the "
    f"headline metric at least the unpruned one minus max({WITHDRAW_FLOOR:g} point, {WITHDRAW_Z:g} binomial "
    f"standard errors) for percentages, minus {WITHDRAW_REL:.0%} for scores (MME)"
)


@dataclass(frozen=True)
class LayerStats:
    layers: tuple[int, ...]
    mean: tuple[float, ...]  # mean over samples of the mean information over tokens (Fig. 8)
    variance: tuple[float, ...]  # mean over samples of the variance of information over tokens (Fig. 7a)
    p_text: tuple[float, ...]
    p_full: float
    n: int


def _same_layers(maps: Sequence[InformationMap]) -> tuple[int, ...]:
    if not maps:
        raise ValueError("no information maps to analyse")
    layers = maps[0].layers
    if any(m.layers != layers for m in maps):
        raise ValueError("information maps measured at different layers cannot be averaged")
    return layers


def layer_statistics(maps: Sequence[InformationMap]) -> LayerStats:
    layers = _same_layers(maps)
    mean = torch.stack([m.information.mean(1) for m in maps]).mean(0)  # (n_layers,)
    var = torch.stack([m.information.var(1, correction=0) for m in maps]).mean(0)
    p_text = torch.stack([m.p_text for m in maps]).mean(0)
    p_full = sum(m.p_full for m in maps) / len(maps)
    return LayerStats(layers, _floats(mean), _floats(var), _floats(p_text), p_full, len(maps))


def _floats(t: torch.Tensor) -> tuple[float, ...]:
    return tuple(float(x) for x in t)


def information_horizon(layers: Sequence[int], mean: Sequence[float], rel: float = HORIZON_REL) -> int | None:
    """The first layer from which |mean| <= rel * max|mean| for good (None: it never settles, or all zero)."""
    if len(layers) != len(mean) or not layers:
        raise ValueError(f"{len(layers)} layers but {len(mean)} values")
    if not 0 < rel < 1:
        raise ValueError(f"rel must be in (0, 1), got {rel}")
    peak = max(abs(v) for v in mean)
    if peak == 0:
        return None
    horizon = None
    for layer, value in zip(reversed(layers), reversed(mean), strict=True):
        if abs(value) > rel * peak:
            break
        horizon = layer
    return horizon


def withdraw_horizon(accuracy: Mapping[int, float], full: float, n: int, percent: bool = True) -> int | None:
    """The first layer from which the withdraw-all metric stays within the band of ``full`` (``WITHDRAW_RULE``);
    ``percent``: the metric is a percentage (0-100), else a score compared relatively."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if percent:
        p = min(max(full / 100, 0.0), 1.0)
        band = max(WITHDRAW_FLOOR, WITHDRAW_Z * 100 * math.sqrt(p * (1 - p) / n))
    else:
        band = WITHDRAW_REL * abs(full)
    horizon = None
    for layer in sorted(accuracy, reverse=True):
        if accuracy[layer] < full - band:
            break
        horizon = layer
    return horizon


def retained(info: torch.Tensor, kept: Sequence[int]) -> float:
    """Σ of ``info`` (Nv,) over the kept original visual indices (merged tokens, -1, carry none)."""
    index = [k for k in kept if k >= 0]
    if any(k >= info.numel() for k in index):
        raise ValueError(f"kept index {max(index)} is outside the {info.numel()} visual tokens")
    return float(info[index].sum()) if index else 0.0
