"""horizon/stats: paired tests, intervals and power, against hand-computed values and a simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from horizon.stats import Paired, compare, mde_binary, mde_mean, min_flips, paired_values


def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_pairs():
    a = [1] * 10 + [0] * 2 + [1] * 50 + [0] * 38  # 10 right->wrong, 2 wrong->right, 88 concordant
    b = [0] * 10 + [1] * 2 + [1] * 50 + [0] * 38
    r = compare(a, b)
    assert r.test == "exact McNemar" and r.flips == (10, 2) and r.n == 100
    assert r.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)  # P(X <= 2), X ~ Bin(12, 1/2), two-sided
    assert r.difference == pytest.approx(-8.0) and r.significant
    assert r.low <= -8.0 <= r.high and r.high < 0


def test_eight_one_way_flips_of_96_are_significant_and_five_are_not():
    a = [1.0] * 96
    assert compare(a, [0.0] * 8 + [1.0] * 88).p_value == pytest.approx(2 * 0.5**8)
    five = compare(a, [0.0] * 5 + [1.0] * 91)
    assert five.p_value == pytest.approx(2 * 0.5**5) and not five.significant
    assert five.verdict().startswith("inconclusive at n = 96: detects only >= ")


def test_identical_runs_have_no_difference_and_say_whether_they_could_have_seen_one():
    small = compare([1, 0, 1, 1], [1, 0, 1, 1])
    assert (small.p_value, small.low, small.high, small.flips) == (1.0, 0.0, 0.0, (0, 0))
    assert not small.conclusive  # 4 units cannot show 5 points
    big = compare([1.0, 0.0] * 1000, [1.0, 0.0] * 1000)
    assert big.same and big.verdict() == "no significant difference between B and A (95% CI [+0.0, +0.0])"


def test_real_valued_units_take_the_paired_randomization_test():
    rng = np.random.default_rng(3)
    x = rng.random(400)
    y = np.clip(x + 0.05 + rng.normal(0, 0.05, 400), 0, 1)
    r = compare(x, y)
    assert r.test == "paired randomization" and r.flips is None and r.significant and r.difference > 0
    assert r.low < r.difference < r.high


@pytest.mark.parametrize("n", [4, 10, 11, 96, 700])
@pytest.mark.parametrize("kind", ["thirds", "continuous", "mixed"])
def test_the_randomization_p_is_scipys_permutation_test_exactly(n, kind):
    """horizon's vectorized test against scipy.stats.permutation_test (permutation_type="samples") itself: the same
    p on exact (n <= 10) and drawn arrangements, units in thirds (many ties with the observed difference) included."""
    from scipy.stats import permutation_test

    from horizon.stats.paired import RESAMPLES, SEED, _randomization_p

    rng = np.random.default_rng(n)
    for _ in range(3):
        x = rng.integers(0, 4, n) / 3 if kind != "continuous" else rng.random(n)
        y = {"thirds": rng.integers(0, 4, n) / 3, "continuous": x + rng.normal(0.01, 0.1, n),
             "mixed": rng.integers(0, 2, n).astype(float)}[kind]  # fmt: skip
        ref = permutation_test((x, y), lambda u, v, axis: v.mean(axis) - u.mean(axis), permutation_type="samples",
                               vectorized=True, n_resamples=RESAMPLES, rng=np.random.default_rng(SEED))  # fmt: skip
        assert _randomization_p(x, y) == min(float(ref.pvalue), 1.0)


def test_min_flips_is_the_exact_sign_tests_threshold():
    assert min_flips(0.05) == 6 and 2 * 0.5**6 <= 0.05 < 2 * 0.5**5
    assert min_flips(0.01) == 8 and min_flips(0.05, sides=1) == 5


def test_mde_binary_solves_connors_sample_size_formula():
    # Connor (1987): n = (z_a sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2; psi = 0.2, d = 0.1 -> n = 154.6
    n = (1.959964 * math.sqrt(0.2) + 0.841621 * math.sqrt(0.2 - 0.01)) ** 2 / 0.01
    assert n == pytest.approx(154.6, abs=0.1)
    assert mde_binary(round(n), discordant=0.1) == pytest.approx(10.0, abs=0.05)  # psi = 0.1 background + d
    assert mde_binary(96, 0.0) > mde_binary(2000, 0.0) >= 100 * 6 / 2000  # never below the exact floor


def test_mde_mean_is_the_normal_formula():
    assert mde_mean(400, 0.2) == pytest.approx(100 * (1.959964 + 0.841621) * 0.2 / 20, rel=1e-5)
    assert mde_mean(100, 0.0) == pytest.approx(6.0)  # six whole units' worth at least


def test_an_effect_of_the_mde_is_detected_about_80_percent_of_the_time():
    n, background = 400, 0.1
    d = mde_binary(n, background) / 100
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(300):
        a = (rng.random(n) < 0.6).astype(float)
        b = a.copy()
        u = rng.random(n)
        b[(u < background / 2) & (a == 1)] = 0  # background flips both ways
        b[(u > 1 - background / 2) & (a == 0)] = 1
        gain = np.flatnonzero(b == 0)
        b[rng.choice(gain, min(len(gain), rng.binomial(n, d)), replace=False)] = 1  # the effect
        hits += compare(a, b).significant
    assert 0.7 <= hits / 300 <= 0.92


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [([], [], "non-empty"), ([1, 0], [1], "equal"), ([1.5], [1.0], r"in \[0, 1\]"), ([float("nan")], [1], "finite")],
)
def test_bad_values_are_refused(a, b, message):
    with pytest.raises(ValueError, match=message):
        compare(a, b)


def test_pairs_are_the_shared_units():
    ids, a, b = paired_values({"x": 1.0, "y": 0.0, "z": 1.0}, {"z": 0.0, "y": 1.0, "w": 1.0})
    assert (ids, a, b) == (["y", "z"], [0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="share no unit"):
        paired_values({"x": 1.0}, {"y": 1.0})


def test_a_comparison_refuses_an_impossible_interval():
    with pytest.raises(ValueError, match="not a valid comparison"):
        Paired("exact McNemar", 10, 50.0, 40.0, 1.0, -1.0, 0.5, 5.0)


def test_the_withdraw_horizon_is_the_first_layer_not_significantly_below_unpruned():
    from horizon.stats.horizon import withdraw_horizon

    full = {f"s{i}": 1.0 if i < 90 else 0.0 for i in range(100)}

    def lost(k: int) -> dict[str, float]:  # k of the right answers lost
        return {u: 0.0 if i < k else v for i, (u, v) in enumerate(sorted(full.items(), key=lambda x: int(x[0][1:])))}

    curve = {0: lost(80), 1: lost(40), 2: lost(6), 3: lost(5), 4: lost(0)}
    layer, after = withdraw_horizon(full, curve)
    assert layer == 3 and len(after) == 2  # 6 one-way losses: p = 0.031; 5: p = 0.0625
    assert withdraw_horizon(full, {0: lost(80)}) == (None, ())
