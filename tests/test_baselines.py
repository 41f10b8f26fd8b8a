"""Baselines: tolerance bands, planted regressions caught, atomic writes, clear errors, shard merging."""

from __future__ import annotations

import json
import math

import pytest

from horizon.files import write_atomic
from horizon.harness.baselines import (
    BaselineError,
    BaselineFile,
    CaseBaseline,
    Tolerance,
    band,
    compare,
    dumps,
    load,
    loads,
    shard_path,
)
from horizon.harness.merge import merge_session, stale_files
from horizon.metrics import Metric, percent, table

TOL = Tolerance()


DECLARED = table((percent("accuracy"), Metric(name="prefill_ratio", kind="ratio", direction="lower"),
                  Metric(name="total", kind="score", maximum=2800.0)))  # fmt: skip


def _compare(obtained, expected, n=400, failures=0):
    return compare("m/b/dart@2:0.29", obtained, expected, TOL, DECLARED, n=n, failures=failures)


def test_accuracy_band_is_binomial_with_a_floor():
    # p = .5 on 400 samples: SE = sqrt(.25/400) = 2.5%, three of them = 7.5 points
    assert band("percent", 50.0, 400, TOL) == pytest.approx(7.5)
    assert band("percent", 99.99, 10_000, TOL) == 0.5  # the floor
    assert band("score", 1800.0, 200, TOL) == pytest.approx(36.0)  # MME's summed score: relative 2%
    assert band("ratio", 0.5, 200, TOL) == pytest.approx(0.075)
    with pytest.raises(BaselineError, match="'accuracy' is not one of percent"):
        band("accuracy", 50.0, 400, TOL)  # type: ignore[arg-type]


def test_planted_regressions_are_caught_and_honest_reruns_pass():
    expected = CaseBaseline(400, {"accuracy": 56.0, "prefill_ratio": 0.6, "total": 1500.0}, failures=0)
    assert _compare({"accuracy": 54.0, "prefill_ratio": 0.62, "total": 1490.0}, expected) == []
    worse = _compare({"accuracy": 40.0, "prefill_ratio": 0.9, "total": 1500.0}, expected)
    assert len(worse) == 2 and "prefill_ratio = 0.9" in worse[1]
    text = worse[0]
    assert "m/b/dart@2:0.29" in text and "accuracy = 40" in text and "baseline 56" in text
    assert f"±{3 * 100 * math.sqrt(0.56 * 0.44 / 400):.4g}" in text
    missing = _compare({"accuracy": 56.0}, expected)
    assert len(missing) == 2 and all("was not produced" in m for m in missing)


def test_a_changed_sample_count_or_more_failures_fail():
    expected = CaseBaseline(400, {"accuracy": 56.0}, failures=1)
    assert _compare({"accuracy": 56.0}, expected, failures=1) == []
    (fewer,) = _compare({"accuracy": 56.0}, expected, n=399)
    assert "ran on 399 samples, the baseline on 400" in fewer
    (more,) = _compare({"accuracy": 56.0}, expected, failures=4)
    assert "4 samples failed, the baseline had 1" in more
    assert _compare({"accuracy": 56.0}, CaseBaseline(400, {"accuracy": 56.0}), failures=4) == []  # not recorded


@pytest.mark.parametrize(("got", "want"), [(math.nan, 56.0), (56.0, math.nan), (math.inf, 56.0)])
def test_nan_is_never_a_pass(got, want):
    (problem,) = _compare({"accuracy": got}, CaseBaseline(400, {"accuracy": want}))
    assert "not a finite number" in problem


def test_an_undeclared_metric_fails_instead_of_getting_a_guessed_band():
    (problem,) = _compare({"accuracy_mystery": 1.0}, CaseBaseline(400, {"accuracy_mystery": 1.0}))
    assert "'accuracy_mystery' has no declared kind" in problem


def test_round_trip_is_sorted_rounded_and_newline_terminated(tmp_path):
    a, b, c = (f"tiny-llava-mme-{k}" for k in "abc")
    bf = BaselineFile("cpu", "tiny-llava", "mme").with_case(b, 2, {"total": 1.234567}).with_case(a, 2, {"x": 1})
    text = dumps(bf)
    assert text.endswith("}\n") and list(json.loads(text)["cases"]) == [a, b]
    assert json.loads(text)["cases"][b]["metrics"]["total"] == 1.2346
    path = tmp_path / "cpu" / "tiny-llava" / "mme.json"
    write_atomic(path, text)
    assert load(path, tmp_path).cases[b] == CaseBaseline(2, {"total": 1.2346})
    with_failures = bf.with_case(c, 3, {"total": 1.0}, failures=2)
    assert loads(dumps(with_failures), "x").cases[c] == CaseBaseline(3, {"total": 1.0}, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema_version": 0, "cases": {}}', "schema_version 0, this horizon reads 1"),
        ('{"schema_version": 1, "device": "cpu", "model": "m", "benchmark": "b", "cases": {"m-b-c": {"n": 1}}}',
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


def test_a_sessions_worker_shards_merge_into_one_file_and_nobody_elses(tmp_path):
    path = tmp_path / "mme.json"
    write_atomic(path, dumps(BaselineFile("cpu", "tiny-llava", "mme").with_case("tiny-llava-mme-keep", 1, {"total": 1.0})))
    for owner, case in (("111xaa-gw0", "a"), ("111xaa-gw1", "b"), ("222xbb-gw0", "stale")):
        shard = BaselineFile("cpu", "tiny-llava", "mme").with_case(f"tiny-llava-mme-{case}", 4, {"total": 2.0})
        write_atomic(shard_path(path, owner), dumps(shard))
    written, problems = merge_session(tmp_path, "111xaa", replace_damaged=False)
    assert written == [path] and problems == []
    assert set(load(path).cases) == {f"tiny-llava-mme-{k}" for k in ("keep", "a", "b")}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mme.json", "mme.shard-222xbb-gw0.json"]
    assert stale_files(tmp_path, "111xaa") == [tmp_path / "mme.shard-222xbb-gw0.json"]


def test_an_atomic_write_has_the_permissions_of_an_ordinary_one(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "b.json", "x\n")
    finally:
        os.umask(mask)
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o644
