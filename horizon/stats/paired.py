"""Paired comparisons of two runs on the same units (samples, or a benchmark's scoring groups), in points.

Each unit has a value in [0, 1] in both runs (its correctness or score, averaged over seeds where a schedule
has several). :func:`compare` tests B against A:

* every value 0 or 1 in both runs: the **exact McNemar test** (scipy.stats.binomtest on the discordant pairs,
  two-sided), with the flips counted;
* otherwise: a **paired randomization test** (scipy.stats.permutation_test's, each unit's two values swapped at
  random, computed vectorized here; exact when the 2^n arrangements are at most the 1999 resamples);

and in both cases a **paired bootstrap** 95% interval of the difference of means (scipy.stats.bootstrap,
``paired=True``, percentile method, a fixed generator so a report is reproducible) and the smallest difference
the comparison could detect at power 0.8 (:mod:`horizon.stats.power`).

A comparison reads as one of: "B ahead/behind by D points (95% CI [a, b], p = ...)"; "no significant
difference (95% CI [a, b])" when it could have detected an effect of ``margin`` points; "inconclusive at
n = N: detects only >= D points" when it could not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy.stats import binomtest, bootstrap

from horizon.stats.power import ALPHA, POWER, mde_binary, mde_mean

MARGIN = 5.0  # points: the effect a "no significant difference" must have been able to detect (else inconclusive)
RESAMPLES = 1999
SEED = 0


@dataclass(frozen=True, slots=True)
class Paired:
    """B against A on ``n`` shared units; every number in points (unit values x 100)."""

    test: str  # "exact McNemar" or "paired randomization"
    n: int
    a: float  # A's mean
    b: float
    low: float  # 95% interval of b - a (paired bootstrap)
    high: float
    p_value: float
    mde: float  # the smallest |b - a| detectable at power 0.8 and ``alpha``
    flips: tuple[int, int] | None = None  # binary units: (A right and B wrong, A wrong and B right)
    alpha: float = ALPHA
    margin: float = MARGIN

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"a paired comparison needs at least one unit, got n = {self.n}")
        if not 0 <= self.p_value <= 1 or not self.low <= self.high:
            raise ValueError(f"p = {self.p_value}, interval [{self.low}, {self.high}]: not a valid comparison")

    @property
    def difference(self) -> float:
        return self.b - self.a

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    @property
    def conclusive(self) -> bool:
        """Significant, or able to detect an effect of ``margin`` points."""
        return self.significant or self.mde <= self.margin

    @property
    def same(self) -> bool:
        """No significant difference, with the power to have seen one of ``margin`` points."""
        return not self.significant and self.mde <= self.margin

    def verdict(self, a: str = "A", b: str = "B") -> str:
        interval = f"95% CI [{self.low:+.1f}, {self.high:+.1f}]"
        if self.significant:
            way = "ahead of" if self.difference > 0 else "behind"
            return f"{b} {way} {a} by {abs(self.difference):.1f} points ({interval}, p = {_p(self.p_value)})"
        if self.same:
            return f"no significant difference between {b} and {a} ({interval})"
        return f"inconclusive at n = {self.n}: detects only >= {self.mde:.1f} points ({interval})"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def compare(a: Sequence[float], b: Sequence[float], *, alpha: float = ALPHA, power: float = POWER,
            margin: float = MARGIN) -> Paired:  # fmt: skip
    """B against A: ``a[i]`` and ``b[i]`` are one unit's values (in [0, 1]) in the two runs."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError(f"paired values need two equal, non-empty lists, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()) or x.min() < 0 or y.min() < 0 or max(x.max(), y.max()) > 1:
        raise ValueError("unit values must be finite and in [0, 1] (a correctness or a score share)")
    n, d = x.size, y - x
    low, high = _interval(x, y)
    if binary(x, y):
        worse, better = flips(x, y)
        p = mcnemar_p(worse, better)
        background = max(min(worse, better) * 2 / n, 0.0)  # discordance apart from the effect
        mde = mde_binary(n, background, alpha, power)
        return Paired("exact McNemar", n, 100 * float(x.mean()), 100 * float(y.mean()), low, high, float(p), mde,
                      (worse, better), alpha, margin)  # fmt: skip
    p = _randomization_p(x, y)
    mde = mde_mean(n, float(d.std(ddof=1)) if n > 1 else 0.0, alpha, power)
    return Paired("paired randomization", n, 100 * float(x.mean()), 100 * float(y.mean()), low, high, p, mde, None,
                  alpha, margin)  # fmt: skip


def p_value(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """The two-sided p-value :func:`compare` reports for B against A, without its interval and power (what a
    bootstrap of a decision made by tests, such as a horizon, recomputes many times)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return mcnemar_p(*flips(x, y)) if binary(x, y) else _randomization_p(x, y)


def binary(x: np.ndarray, y: np.ndarray) -> bool:
    """Every value 0 or 1 in both runs (correctness): the exact McNemar test applies."""
    return bool(np.isin(x, (0.0, 1.0)).all() and np.isin(y, (0.0, 1.0)).all())


def flips(x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(A right and B wrong, A wrong and B right) of 0/1 units: the discordant pairs McNemar counts."""
    return int(((x == 1) & (y == 0)).sum()), int(((x == 0) & (y == 1)).sum())


def mcnemar_p(worse: int, better: int) -> float:
    """The exact McNemar test's two-sided p-value from the discordant pairs (1 when there are none)."""
    return float(binomtest(better, worse + better).pvalue) if worse + better else 1.0


def _interval(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    d = y - x
    if x.size < 2 or np.all(d == d[0]):  # no spread to resample: the interval is the difference itself
        return 100 * float(d.mean()), 100 * float(d.mean())
    res = bootstrap((x, y), lambda u, v, axis: v.mean(axis) - u.mean(axis), paired=True, vectorized=True,
                    n_resamples=RESAMPLES, method="percentile", rng=np.random.default_rng(SEED))  # fmt: skip
    return 100 * float(res.confidence_interval.low), 100 * float(res.confidence_interval.high)


def _randomization_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p of the paired randomization test: scipy.stats.permutation_test's ``permutation_type="samples"``
    (each unit's two values swapped at random) with its statistic, draws, tolerance and +1 adjustment, vectorized
    (scipy's loop over units took a second per thousand units; tests/test_stats.py checks the two agree exactly)."""
    if np.all(x == y):
        return 1.0
    n = x.size
    if 2**n <= RESAMPLES:  # every arrangement (scipy's exact test)
        first, adjustment = np.array(list(product((0, 1), repeat=n)), dtype=np.int64), 0
    else:  # scipy's draws: one permutation of each unit's (A, B) per resample, from the same generator call
        perms = np.random.default_rng(SEED).permuted(np.tile(np.arange(2), (RESAMPLES, n, 1)), axis=-1)
        first, adjustment = perms[..., 0], 1
    # unit-major in memory, as scipy's arrays are: the means then add the units in scipy's order, and the null
    # values that tie with the observed difference (units scored in thirds tie often) tie the same way
    low = np.ascontiguousarray(first.T) == 0
    u, v = np.where(low, x[:, None], y[:, None]).T, np.where(low, y[:, None], x[:, None]).T
    null = v.mean(axis=-1) - u.mean(axis=-1)
    observed = y.mean() - x.mean()
    gamma = abs(np.finfo(float).eps * 100 * observed)
    total = len(null) + adjustment
    less = (np.count_nonzero(null <= observed + gamma) + adjustment) / total
    greater = (np.count_nonzero(null >= observed - gamma) + adjustment) / total
    return float(min(2 * min(less, greater), 1.0))


def paired_values(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[list[str], list[float], list[float]]:
    """The units both runs have (sorted), with their values in each: the pairs :func:`compare` takes."""
    shared = sorted(set(a) & set(b))
    if not shared:
        raise ValueError("the two runs share no unit: nothing to pair (different benchmarks or subsets?)")
    return shared, [a[u] for u in shared], [b[u] for u in shared]
