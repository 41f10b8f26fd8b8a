"""The paired bootstrap of two models' horizons (horizon/stats/horizon.py): the array form of the withdraw horizon
is the paired one, and the bootstrap's intervals separate horizons that differ and do not separate equal ones."""

from __future__ import annotations

import numpy as np
import pytest

from horizon.information.analysis import information_horizon
from horizon.stats.horizon import (
    HorizonGap,
    paired_horizons,
    withdraw_columns,
    withdraw_horizon,
    withdraw_rows_horizon,
)


def _runs(accuracy: float, curve: list[float], n: int, rng: np.random.Generator) -> tuple[
        dict[str, float], dict[int, dict[str, float]]]:  # fmt: skip
    """Unpruned 0/1 units at ``accuracy`` and a withdrawal at each layer losing a random share of the right ones."""
    full = {f"s{i:03d}": float(rng.random() < accuracy) for i in range(n)}
    withdrawn = {}
    for k, keep in enumerate(curve):
        withdrawn[k] = {u: v * float(rng.random() < keep) for u, v in full.items()}
    return full, withdrawn


@pytest.mark.parametrize("seed", range(6))
def test_the_rows_form_finds_the_paired_withdraw_horizon(seed: int) -> None:
    rng = np.random.default_rng(seed)
    full, withdrawn = _runs(0.8, [0.1, 0.5, 0.9, 0.95, 0.97, 1.0], 120, rng)
    units, layers, rows = withdraw_columns(full, withdrawn)
    assert units == sorted(full) and layers == list(range(6)) and rows.shape == (120, 7)
    memo: dict[tuple[int, int], float] = {}
    expected = withdraw_horizon(full, withdrawn)[0]
    assert withdraw_rows_horizon(layers, rows) == expected == withdraw_rows_horizon(layers, rows, memo)
    assert memo  # the exact p-values were kept by their discordant counts


def test_a_real_valued_withdrawal_takes_the_randomization_test_as_compare_does() -> None:
    full = {f"u{i}": 0.5 + 0.5 * (i % 2) for i in range(40)}
    wobble = {u: v + (0.05 if i % 4 == 0 else -0.05 if i % 4 == 2 else 0.0) for i, (u, v) in enumerate(full.items())}
    withdrawn = {0: {u: v * 0.2 for u, v in full.items()}, 1: wobble}  # a large loss, then none on average
    units, layers, rows = withdraw_columns(full, withdrawn)
    assert withdraw_rows_horizon(layers, rows) == withdraw_horizon(full, withdrawn)[0] == 1


def test_deeper_horizons_are_separated_and_equal_ones_are_not() -> None:
    rng = np.random.default_rng(1)
    n = 200
    # A: withdrawing loses nothing from layer 2 on; B: loses half its right answers until layer 5
    a_full, a_w = _runs(0.9, [0.1, 0.3, 1, 1, 1, 1, 1, 1], n, rng)
    b_full = a_full
    b_w = {k: ({u: v * float(rng.random() < 0.5) for u, v in b_full.items()} if k < 5 else dict(b_full))
           for k in range(8)}  # fmt: skip
    _, layers, a = withdraw_columns(a_full, a_w)
    _, _, b = withdraw_columns(b_full, b_w)

    def rule(rows: np.ndarray) -> int | None:
        return withdraw_rows_horizon(layers, rows)

    gap = paired_horizons("withdraw", a, b, rule, depth=8, resamples=300)
    assert (gap.a, gap.b, gap.point, gap.n) == (2, 5, 3, n)
    assert gap.sign == 1 and gap.difference[0] > 0 and gap.deeper > 0.95
    assert gap.a_interval[0] <= 2 <= gap.a_interval[1] and gap.b_interval == (5, 5)
    same = paired_horizons("withdraw", a, a, rule, depth=8, resamples=300)
    assert same.difference == (0, 0) and same.sign == 0 and same.deeper == 0.0
    flipped = paired_horizons("withdraw", b, a, rule, depth=8, resamples=300)
    assert flipped.sign == -1 and flipped.point == -3


def test_a_horizon_not_reached_counts_as_the_depth() -> None:
    layers = [0, 1, 2, 3]
    never = np.tile([1.0, 0.9, 0.8, 0.7], (30, 1))  # information never settles near zero: not reached
    early = np.tile([1.0, 0.0, 0.0, 0.0], (30, 1))  # settles at layer 1

    def rule(rows: np.ndarray) -> int | None:
        return information_horizon(layers, [float(x) for x in rows.mean(0)])

    gap = paired_horizons("information", early, never, rule, depth=4, resamples=50)
    assert (gap.a, gap.b, gap.point, gap.b_interval, gap.difference) == (1, None, 3, (4, 4), (3, 3))


def test_noisy_information_gets_a_wide_interval_and_bad_input_is_refused() -> None:
    rng = np.random.default_rng(0)
    layers = list(range(6))
    signal = np.array([1.0, 0.8, 0.4, 0.08, 0.02, 0.0])
    a = signal + rng.normal(0, 0.12, size=(25, 6))  # 25 noisy samples: the horizon is uncertain

    def rule(rows: np.ndarray) -> int | None:
        return information_horizon(layers, [float(x) for x in rows.mean(0)])

    gap = paired_horizons("information", a, a + rng.normal(0, 0.12, size=(25, 6)), rule, depth=6, resamples=200)
    assert gap.a_interval[1] - gap.a_interval[0] >= 2
    with pytest.raises(ValueError, match="the same, non-empty samples"):
        paired_horizons("information", a, a[:3], rule, depth=6)
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        paired_horizons("information", a, a, rule, depth=6, resamples=0)
    with pytest.raises(ValueError, match="not a valid bootstrap"):
        HorizonGap("withdraw", 10, 8, 1, 2, (1, 1), (2, 2), (3, 1), 0.5)
    with pytest.raises(ValueError, match="level must be in"):
        paired_horizons("information", a, a, rule, depth=6, level=1.0)
    with pytest.raises(ValueError, match=r"rows of shape \(3, 2\) do not hold"):
        withdraw_rows_horizon([0, 1], np.ones((3, 2)))
    with pytest.raises(ValueError, match="finite and in"):
        withdraw_rows_horizon([0], np.array([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match="share no unit"):
        withdraw_columns({"a": 1.0}, {0: {"b": 0.0}})


def test_a_higher_level_widens_the_difference_interval() -> None:
    rng = np.random.default_rng(3)
    layers = list(range(6))
    signal = np.array([1.0, 0.8, 0.4, 0.08, 0.02, 0.0])
    a, b = (signal + rng.normal(0, 0.12, size=(25, 6)) for _ in range(2))

    def rule(rows: np.ndarray) -> int | None:
        return information_horizon(layers, [float(x) for x in rows.mean(0)])

    narrow = paired_horizons("information", a, b, rule, depth=6, resamples=300)
    wide = paired_horizons("information", a, b, rule, depth=6, resamples=300, level=0.9875)
    assert wide.difference[0] <= narrow.difference[0] and narrow.difference[1] <= wide.difference[1]
    assert (wide.a_interval, wide.level) == (narrow.a_interval, 0.9875)  # the models' own stay at 95%
