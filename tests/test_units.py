"""The paired statistics' units (Benchmark.unit_values): each benchmark's own scorer on one unit, and their mean is
the headline wherever the spec says so (tied here on every benchmark's fixture rows, under every protocol)."""

from __future__ import annotations

import statistics

import pytest

from horizon.benchmarks.fixtures import gold, rows, write_parquet
from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.samples import load_samples
from horizon.protocol import PROTOCOLS

CASES = [(name, protocol) for name in BENCHMARKS.names() for protocol in PROTOCOLS.names()]


def _fixture(tmp_path, name, protocol):
    bench = BENCHMARKS.get(name).under(protocol)
    write_parquet(name, tmp_path / name, split=bench.split)
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    golds = [gold(name, r) for r in rows(name)]
    wrong = {"yes": "no", "no": "yes"}.get(golds[0].lower(), "zzz") if name == "pope" else "zzz"  # "zzz" reads "yes"
    preds = [wrong if i == 0 else g for i, g in enumerate(golds)]  # the first answer wrong
    return bench, samples, preds


@pytest.mark.parametrize(("name", "protocol"), CASES)
def test_units_are_the_scorer_on_one_unit_and_average_to_the_headline(tmp_path, name, protocol):
    bench, samples, preds = _fixture(tmp_path, name, protocol)
    units = bench.unit_values(samples, preds)
    assert set(units) == {s.group for s in samples}
    assert all(0.0 <= v <= 1.0 for v in units.values())
    assert min(units.values()) < max(units.values())  # the wrong answers show
    if bench.unit_mean_is_headline:
        headline = bench.score(samples, preds)[bench.headline]
        assert 100 * statistics.fmean(units.values()) == pytest.approx(headline, abs=1e-9)


def test_which_benchmarks_test_their_headline_itself():
    differ = {n for n in BENCHMARKS.names() if not BENCHMARKS.get(n).unit_mean_is_headline}
    assert differ == {"mme", "pope"}  # MME weights categories equally; POPE's F1 is no mean over answers


def test_an_mme_unit_is_its_image_pairs_acc_and_acc_plus(tmp_path):
    bench, samples, _ = _fixture(tmp_path, "mme", "lmms-eval")
    golds = [str(s.target) for s in samples]
    one_wrong = ["zzz" if i == 0 else g for i, g in enumerate(golds)]  # the first image: one of two right
    units = bench.unit_values(samples, one_wrong)
    first = samples[0].group
    assert units[first] == pytest.approx((0.5 + 0.0) / 2)  # (acc + acc+) / 2
    assert all(v == 1.0 for g, v in units.items() if g != first)


def test_an_incomplete_group_is_left_out(tmp_path):
    bench, samples, preds = _fixture(tmp_path, "mme", "lmms-eval")
    units = bench.unit_values(samples[1:], preds[1:])
    assert samples[0].group not in units and len(units) == len({s.group for s in samples}) - 1
