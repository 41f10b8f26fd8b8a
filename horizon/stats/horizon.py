"""Horizons judged on the same samples: the withdraw horizon by paired tests (the first layer from which
withdrawing every visual token is no longer significantly below the unpruned model; Fig. 9's "convergence
layer"), and a paired bootstrap of any horizon of two models measured on the same samples (the capacity
finding: is the stronger model's horizon deeper?)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from horizon.stats.paired import ALPHA, Paired, binary, compare, flips, mcnemar_p, p_value, paired_values

WITHDRAW_RULE = (
    "withdraw horizon: the first layer K from which withdrawing every visual token at any K' >= K is not "
    f"significantly below the unpruned model, paired on the same samples (p < {ALPHA:g}, two-sided)"
)
RESAMPLES = 1000  # the horizons' paired bootstrap (each resample re-decides every layer's test)
SEED = 0
BOOTSTRAP_RULE = (
    f"horizon intervals: a paired bootstrap of the samples ({RESAMPLES} resamples, the same samples drawn for both "
    "models), each resample's horizons found by the same rule; percentile intervals (95% for each model's), a "
    "horizon not reached counted as the model's depth; 'deeper' when the interval of the difference lies above 0"
)


def withdraw_horizon(
    full: Mapping[str, float], withdrawn: Mapping[int, Mapping[str, float]]
) -> tuple[int | None, tuple[Paired, ...]]:
    """(the horizon, the comparisons from it on): ``full`` and ``withdrawn[k]`` are unit -> value of the unpruned
    run and of withdrawing every visual token from layer k. None when the deepest withdrawal already falls short
    (or shares no unit with the unpruned run)."""
    horizon: int | None = None
    kept: list[Paired] = []
    for layer in sorted(withdrawn, reverse=True):
        try:
            _, a, b = paired_values(full, withdrawn[layer])
        except ValueError:
            break
        p = compare(a, b)
        if p.significant and p.difference < 0:
            break
        horizon = layer
        kept.append(p)
    return horizon, tuple(kept)


def withdraw_columns(full: Mapping[str, float], withdrawn: Mapping[int, Mapping[str, float]]) -> tuple[
        list[str], list[int], np.ndarray]:  # fmt: skip
    """(units, layers ascending, rows): row u is [unpruned, withdrawn at each layer] of the units *every* run holds
    (where :func:`withdraw_horizon` pairs each layer on its own shared units), the form
    :func:`withdraw_rows_horizon` and :func:`paired_horizons` take."""
    layers = sorted(withdrawn)
    units = sorted(set(full).intersection(*(set(withdrawn[k]) for k in layers)))
    if not units:
        raise ValueError("the unpruned and withdrawn runs share no unit: nothing to pair")
    return units, layers, np.array([[full[u], *(withdrawn[k][u] for k in layers)] for u in units], dtype=float)


def withdraw_rows_horizon(layers: Sequence[int], rows: np.ndarray, memo: dict[tuple[int, int], float] | None = None
                          ) -> int | None:  # fmt: skip
    """:func:`withdraw_horizon` of ``rows`` (:func:`withdraw_columns`): the same tests, the same layer. ``memo``, a
    cache the caller owns, keeps exact McNemar p-values by their discordant counts across calls (a bootstrap
    repeats them); nothing else is changed."""
    if rows.ndim != 2 or rows.shape[1] != len(layers) + 1 or rows.shape[0] < 1:
        raise ValueError(f"rows of shape {rows.shape} do not hold [unpruned, one value per layer] for {len(layers)} "
                         "layers")  # fmt: skip
    if not np.isfinite(rows).all() or rows.min() < 0 or rows.max() > 1:
        raise ValueError("unit values must be finite and in [0, 1] (a correctness or a score share)")
    full = rows[:, 0]
    horizon: int | None = None
    for j in range(len(layers) - 1, -1, -1):
        y = rows[:, j + 1]
        if y.mean() < full.mean():
            if binary(full, y):
                key = flips(full, y)
                p = memo[key] if memo is not None and key in memo else mcnemar_p(*key)
                if memo is not None:
                    memo[key] = p
            else:
                p = p_value(full, y)
            if p < ALPHA:
                break
        horizon = layers[j]
    return horizon


@dataclass(frozen=True, slots=True)
class HorizonGap:
    """Two models' horizons by one measure on the same ``n`` samples: A's, B's and B - A, each with its 95%
    paired-bootstrap interval; a horizon not reached counts as ``depth`` (the models' layer count)."""

    measure: str
    n: int
    depth: int
    a: int | None
    b: int | None
    a_interval: tuple[int, int]
    b_interval: tuple[int, int]
    difference: tuple[int, int]  # B - A, at ``level``
    deeper: float  # share of resamples in which B's horizon is deeper than A's
    level: float = 0.95  # the difference's interval (the models' own are 95%)

    def __post_init__(self) -> None:
        if self.n < 1 or self.depth < 1:
            raise ValueError(f"a horizon gap needs samples and layers, got n = {self.n}, depth = {self.depth}")
        if not self.difference[0] <= self.difference[1] or not 0 <= self.deeper <= 1 or not 0 < self.level < 1:
            raise ValueError(f"interval {self.difference}, share {self.deeper}, level {self.level}: not a valid bootstrap")

    @property
    def point(self) -> int:
        """B - A on the samples themselves (a horizon not reached counts as ``depth``)."""
        return as_layer(self.b, self.depth) - as_layer(self.a, self.depth)

    @property
    def sign(self) -> int:
        """+1: B's horizon deeper beyond the interval; -1: shallower; 0: not separated."""
        return 1 if self.difference[0] > 0 else -1 if self.difference[1] < 0 else 0


def as_layer(h: int | None, depth: int) -> int:
    """A horizon as a layer number, one not reached counted as ``depth``."""
    return depth if h is None else h


def paired_horizons(measure: str, a: np.ndarray, b: np.ndarray, horizon: Callable[[np.ndarray], int | None],
                    depth: int, resamples: int = RESAMPLES, seed: int = SEED, level: float = 0.95) -> HorizonGap:  # fmt: skip
    """Model A's and B's ``horizon`` of their per-sample rows ``a`` and ``b`` (row i of both: the same sample),
    and a paired bootstrap: each resample draws the same samples for both models and recomputes both horizons.
    The models' intervals are 95%, the difference's at ``level`` (higher where a verdict combines several)."""
    if a.shape[0] != b.shape[0] or a.shape[0] < 1:
        raise ValueError(f"paired horizons need the same, non-empty samples, got {a.shape[0]} and {b.shape[0]} rows")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n = a.shape[0]
    draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    ha = np.array([as_layer(horizon(a[i]), depth) for i in draws])
    hb = np.array([as_layer(horizon(b[i]), depth) for i in draws])
    return HorizonGap(measure, n, depth, horizon(a), horizon(b), _interval(ha), _interval(hb),
                      _interval(hb - ha, level), float((hb > ha).mean()), level)  # fmt: skip


def _interval(values: np.ndarray, level: float = 0.95) -> tuple[int, int]:
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail], method="inverted_cdf")
    return int(low), int(high)
