"""Baselines: tolerance bands, planted regressions caught, atomic writes, clear errors, shard merging."""

from __future__ import annotations

import json
import math

import pytest

from horizon.baselines import (
    BaselineError,
    BaselineFile,
    CaseBaseline,
    Tolerance,
    band,
    compare,
    dumps,
    load,
    loads,
    merge_shards,
    shard_path,
)
from horizon.files import write_atomic

TOL = Tolerance()


def test_accuracy_band_is_binomial_with_a_floor():
    # p = .5 on 400 samples: SE = sqrt(.25/400) = 2.5%, three of them = 7.5 points
    assert band("accuracy", 50.0, 400, TOL) == pytest.approx(7.5)
    assert band("accuracy", 99.99, 10_000, TOL) == 0.5  # the floor
    assert band("total", 1800.0, 200, TOL) == pytest.approx(36.0)  # MME's summed score: relative 2%
    assert band("prefill_ratio", 0.5, 200, TOL) == pytest.approx(0.075)


def test_planted_regressions_are_caught_and_honest_reruns_pass():
    expected = CaseBaseline(400, {"accuracy": 56.0, "prefill_ratio": 0.6, "total": 1500.0})
    honest = compare("m/b/dart@2:0.29", 400, {"accuracy": 54.0, "prefill_ratio": 0.62, "total": 1490.0}, expected, TOL)
    assert honest == []
    worse = compare("m/b/dart@2:0.29", 400, {"accuracy": 40.0, "prefill_ratio": 0.9, "total": 1500.0}, expected, TOL)
    assert [m.metric for m in worse] == ["accuracy", "prefill_ratio"]
    text = str(worse[0])
    assert "m/b/dart@2:0.29" in text and "accuracy = 40" in text and "baseline 56" in text
    assert f"±{3 * 100 * math.sqrt(0.56 * 0.44 / 400):.4g}" in text
    missing = compare("c", 400, {"accuracy": 56.0}, expected, TOL)
    assert {m.metric for m in missing} == {"prefill_ratio", "total"} and "was not produced" in str(missing[0])


def test_round_trip_is_sorted_rounded_and_newline_terminated(tmp_path):
    bf = BaselineFile("cpu", "tiny-llava", "mme").with_case("b", 2, {"total": 1.234567}).with_case("a", 2, {"x": 1})
    text = dumps(bf)
    assert text.endswith("}\n") and list(json.loads(text)["cases"]) == ["a", "b"]
    assert json.loads(text)["cases"]["b"]["metrics"]["total"] == 1.2346
    path = tmp_path / "cpu" / "tiny-llava" / "mme.json"
    write_atomic(path, text)
    assert load(path).cases["b"] == CaseBaseline(2, {"total": 1.2346})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema_version": 0, "cases": {}}', "schema_version 0, this horizon reads 1"),
        ('{"schema_version": 1, "device": "cpu", "model": "m", "benchmark": "b", "cases": {"c": {"n": 1}}}',
         "malformed baseline"),
        ('{"schema_version": 1, "device": "cpu", "model": "m", "benchmark": "b", "cases": {},'
         ' "tolerance": {"z": -1}}', "tolerance z must be >= 0"),
    ],
)  # fmt: skip
def test_corrupt_baselines_name_the_file(text, message):
    with pytest.raises(BaselineError, match=message) as err:
        loads(text, "baselines/cpu/m/b.json")
    assert str(err.value).startswith("baselines/cpu/m/b.json")


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "b.json"
    write_atomic(path, "old\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "new\n")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["b.json"]


def test_worker_shards_merge_into_one_file(tmp_path):
    path = tmp_path / "mme.json"
    base = BaselineFile("cpu", "tiny-llava", "mme").with_case("keep", 1, {"total": 1.0})
    for worker, case in (("gw0", "a"), ("gw1", "b")):
        write_atomic(
            shard_path(path, worker), dumps(BaselineFile("cpu", "tiny-llava", "mme").with_case(case, 4, {"total": 2.0}))
        )
    merged = merge_shards(path, base)
    assert set(merged.cases) == {"keep", "a", "b"} and load(path) == merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mme.json"]
