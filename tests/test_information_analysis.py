"""Information analyses on hand-made maps: statistics, horizon rules, retained information."""

from __future__ import annotations

import pytest
import torch

from horizon.information.analysis import information_horizon, layer_statistics, retained, withdraw_horizon
from horizon.information.metric import InformationMap


def _map(p_keep: list[list[float]], p_text: list[float], layers=(0, 1)) -> InformationMap:
    return InformationMap(tuple(layers), 7, 0.5, torch.tensor(p_text), torch.tensor(p_keep), "remove", None)


def test_layer_statistics_hand_computed():
    a = _map([[0.3, 0.1], [0.2, 0.2]], [0.1, 0.2])  # I: [[0.2, 0.0], [0.0, 0.0]]
    b = _map([[0.5, 0.5], [0.1, 0.3]], [0.1, 0.2])  # I: [[0.4, 0.4], [-0.1, 0.1]]
    stats = layer_statistics([a, b])
    assert stats.mean == pytest.approx((0.25, 0.0), abs=1e-7)  # (0.1 + 0.4) / 2, (0 + 0) / 2 (float32)
    assert stats.variance == pytest.approx((0.005, 0.005), abs=1e-7)  # ((0.01) + 0) / 2, (0 + 0.01) / 2
    assert stats.p_text == pytest.approx((0.1, 0.2), abs=1e-7) and stats.n == 2
    with pytest.raises(ValueError, match="different layers"):
        layer_statistics([a, _map([[0.1, 0.1]], [0.1], layers=(3,))])


def test_information_horizon_rule():
    layers = [0, 4, 8, 12, 16]
    assert information_horizon(layers, [0.2, 0.3, 0.1, 0.01, 0.005]) == 12  # 0.01 <= 0.05 * 0.3
    assert information_horizon(layers, [0.2, 0.3, 0.01, 0.1, 0.005]) == 16  # settles only after the bump
    assert information_horizon(layers, [0.2, 0.3, 0.1, 0.1, 0.1]) is None
    assert information_horizon(layers, [0.0] * 5) is None
    with pytest.raises(ValueError, match="5 layers but 4 values"):
        information_horizon(layers, [0.1] * 4)


def test_withdraw_horizon_rule():
    acc = {0: 20.0, 5: 40.0, 10: 57.0, 15: 59.5, 20: 60.5, 25: 60.0}
    # n = 10000: the band is max(1, 2 * 100 * sqrt(.6 * .4 / 1e4) = 0.98) = 1 point -> from 15 (59.5 >= 59)
    assert withdraw_horizon(acc, 60.0, 10_000) == 15
    # n = 100: band 2 * 4.9 = 9.8 points -> 57 counts too, 40 does not
    assert withdraw_horizon(acc, 60.0, 100) == 10
    assert withdraw_horizon({0: 1000.0, 10: 1800.0, 20: 1790.0}, 1820.0, 50, percent=False) == 10  # 2% of 1820
    assert withdraw_horizon({0: 10.0, 20: 30.0}, 60.0, 100) is None


def test_retained_sums_the_kept_tokens():
    info = torch.tensor([0.5, -0.1, 0.25, 0.0])
    assert retained(info, (0, 2)) == pytest.approx(0.75)
    assert retained(info, (1, -1)) == pytest.approx(-0.1)  # a merged token carries none
    with pytest.raises(ValueError, match="outside the 4 visual tokens"):
        retained(info, (4,))
