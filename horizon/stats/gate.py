"""The paired regression gate: a case's per-unit values against its baseline's, on the same units.

Beside the bands of :mod:`horizon.harness.baselines` (one per metric, from the sample count), a baseline that holds its
units is compared paired: the units that changed are counted (flips, for correctness) and tested with
:func:`horizon.stats.compare` at the file's ``paired_alpha`` (two-sided: a better number also means the
baseline no longer describes the code). Where the code is deterministic an honest re-run changes no unit, so
the gate never fires on one; under noise that flips units both ways at random its false-alarm rate is at most
``paired_alpha`` per case. It catches a drop of :func:`detects` points, all of it one way, for certain.
"""

from __future__ import annotations

from collections.abc import Mapping

from horizon.stats.paired import compare
from horizon.stats.power import min_flips

GATE_ALPHA = 0.01


def detects(n: int, alpha: float = GATE_ALPHA) -> float:
    """The smallest drop (points) the gate fails on every time, on ``n`` units where nothing else changed: that
    many whole units turned wrong (the exact test's ``min_flips`` at ``alpha``), or 100 when ``n`` is too few."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    k = min_flips(alpha)
    return 100.0 * k / n if k <= n else 100.0


def paired_gate(case: str, metric: str, expected: Mapping[str, float], obtained: Mapping[str, float],
                alpha: float = GATE_ALPHA) -> list[str]:  # fmt: skip
    """Problems of ``obtained`` units against ``expected`` (its baseline's): other units, or a significant change
    of ``metric`` (the units' measure) at ``alpha``, with the flips counted."""
    if set(expected) != set(obtained):
        gone, new = sorted(set(expected) - set(obtained)), sorted(set(obtained) - set(expected))
        return [f"{case}: the samples changed ({len(gone)} of the baseline's units missing, e.g. {gone[:3]}; "
                f"{len(new)} new, e.g. {new[:3]}): if the new samples are meant, re-recording its baseline accepts "
                "them"]  # fmt: skip
    units = sorted(expected)
    if all(expected[u] == obtained[u] for u in units):
        return []
    p = compare([expected[u] for u in units], [obtained[u] for u in units], alpha=alpha)
    if not p.significant:
        return []
    way = "dropped" if p.difference < 0 else "rose"
    flips = "" if p.flips is None else f"; {p.flips[0]} answers turned wrong, {p.flips[1]} turned right"
    return [f"{case}: {metric} {way} by {abs(p.difference):.2f} points on the same {p.n} units (paired {p.test}, "
            f"p = {p.p_value:.2g} < {alpha:g}{flips}; 95% CI [{p.low:+.2f}, {p.high:+.2f}])"]  # fmt: skip
