"""The smallest effect a paired comparison of ``n`` units can detect (power 0.8 by default), in points.

Both formulas are normal approximations (scipy.stats.norm for the quantiles), with one exact floor: a two-sided
exact test on discordant pairs cannot reach ``alpha`` with fewer than :func:`min_flips` of them all one way, so
no effect below ``min_flips / n`` is detectable whatever the noise.

* binary units (McNemar), Connor (1987): ``sqrt(n)·δ = z_{1-α/2}·sqrt(ψ) + z_{power}·sqrt(ψ - δ²)``, where ψ is
  the share of discordant pairs, solved for δ (scipy.optimize.brentq);
* real-valued units (a paired mean difference): ``δ = (z_{1-α/2} + z_{power})·sd / sqrt(n)``, ``sd`` the standard
  deviation of the per-unit differences.
"""

from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.stats import norm

ALPHA = 0.05
POWER = 0.8


def _check(n: int, alpha: float, power: float) -> None:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha} and {power}")


def min_flips(alpha: float = ALPHA, sides: int = 2) -> int:
    """The fewest discordant pairs, all one way, with which an exact sign test reaches ``alpha``."""
    if sides not in (1, 2) or not 0 < alpha < 1:
        raise ValueError(f"sides must be 1 or 2 and alpha in (0, 1), got {sides} and {alpha}")
    return math.ceil(math.log2(sides / alpha))


def mde_binary(n: int, discordant: float, alpha: float = ALPHA, power: float = POWER, sides: int = 2) -> float:
    """The smallest difference of two paired accuracies (points) detectable on ``n`` units whose share of
    discordant pairs apart from the effect is ``discordant`` (0 for a deterministic re-run)."""
    _check(n, alpha, power)
    if not 0 <= discordant <= 1:
        raise ValueError(f"the discordant share must be in [0, 1], got {discordant}")
    floor = min_flips(alpha, sides) / n
    za, zb = norm.ppf(1 - alpha / sides), norm.ppf(power)

    def gap(d: float) -> float:  # > 0 when an effect d is detectable with discordance psi = discordant + d
        psi = min(discordant + d, 1.0)
        return math.sqrt(n) * d - za * math.sqrt(psi) - zb * math.sqrt(max(psi - d * d, 0.0))

    if gap(1.0) <= 0:
        return 100.0
    delta = brentq(gap, 1e-12, 1.0) if gap(1e-12) < 0 else 0.0
    return 100.0 * min(max(delta, floor), 1.0)


def mde_mean(n: int, sd: float, alpha: float = ALPHA, power: float = POWER, sides: int = 2) -> float:
    """The smallest paired mean difference (points, for unit values in [0, 1]) detectable on ``n`` units whose
    per-unit differences have standard deviation ``sd``; at least :func:`min_flips` units' worth."""
    _check(n, alpha, power)
    if sd < 0:
        raise ValueError(f"sd must be >= 0, got {sd}")
    delta = (norm.ppf(1 - alpha / sides) + norm.ppf(power)) * sd / math.sqrt(n)
    return 100.0 * min(max(delta, min_flips(alpha, sides) / n), 1.0)
