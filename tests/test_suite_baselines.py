"""The suite's baseline workflow end to end: record, a planted regression caught, update still fails and
leaves .obtained.json, the honest re-run passes, a corrupt baseline names its file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from horizon.harness.baselines import load
from horizon.harness.check import check
from horizon.harness.merge import merge_session
from horizon.harness.records import Record

ROOT = Path(__file__).parents[1]
CASE = "tiny-llava-gqa-random@2:0.5"
SESSION = "1x00"  # a session id as horizon.harness.baselines.new_session makes them
OWNER = f"{SESSION}-main"


def _suite(tmp: Path, horizon_cache: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", f"suite/test_matrix.py::test_case[{CASE}]", "-q", "-p", "no:cacheprovider",
           "--baselines", str(tmp / "baselines"), "--results", str(tmp / "results"), "--reports", str(tmp / "reports"),
           *extra]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "HORIZON_CACHE": str(horizon_cache), "HF_HUB_OFFLINE": "1", "HOME": str(tmp)}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_record_regress_update_rerun(tmp_path, horizon_cache):
    path = tmp_path / "baselines" / "cpu" / "tiny-llava" / "gqa.json"
    first = _suite(tmp_path, horizon_cache)
    assert first.returncode == 1 and "no baseline" in first.stdout and "--record-baselines" in first.stdout
    assert _suite(tmp_path, horizon_cache, "--record-baselines").returncode == 0 and path.exists()
    assert _suite(tmp_path, horizon_cache).returncode == 0  # an honest re-run passes
    data = json.loads(path.read_text())
    data["cases"][CASE]["metrics"]["visual_tokens"] = 150.0  # plant a regression: the schedule kept more
    path.write_text(json.dumps(data))
    caught = _suite(tmp_path, horizon_cache)
    assert caught.returncode == 1
    assert f"{CASE}: visual_tokens = " in caught.stdout and "than the baseline 150" in caught.stdout
    update = _suite(tmp_path, horizon_cache, "--update-baselines")
    assert update.returncode == 1  # rewritten, and still failing for a person to review
    assert path.with_name("gqa.obtained.json").exists()
    assert load(path).cases[CASE].metrics["visual_tokens"] != 150.0
    assert _suite(tmp_path, horizon_cache).returncode == 0


def _record(**metrics: float) -> Record:
    return Record(case="m-gqa-s", model="m", benchmark="gqa", schedule="s", device="cpu", dtype="float32",
                  attn_implementation="sdpa", n=100, failures=0, metrics=dict(metrics),
                  average_visual_tokens=64.0)  # fmt: skip


def test_a_worse_method_fails_with_case_metric_baseline_obtained_tolerance(tmp_path):
    check(_record(accuracy=60.0), tmp_path, "record", owner=OWNER)
    merge_session(tmp_path, SESSION, replace_damaged=False)
    problems = check(_record(accuracy=40.0), tmp_path, "compare", owner=OWNER)
    assert problems == ["m-gqa-s: accuracy = 40, lower than the baseline 60 by more than the tolerance ±14.7"]
    assert check(_record(accuracy=58.0), tmp_path, "compare", owner=OWNER) == []


def test_corrupt_baseline_and_bad_mode(tmp_path):
    path = tmp_path / "cpu" / "m" / "gqa.json"
    path.parent.mkdir(parents=True)
    path.write_text("{oops")
    for mode in ("compare", "record"):  # the case fails naming the file; nothing is raised, nothing written
        (problem,) = check(_record(accuracy=1.0), tmp_path, mode, owner=OWNER)
        assert str(path) in problem and "not valid JSON" in problem and "--update-baselines" in problem
    assert sorted(p.name for p in path.parent.iterdir()) == ["gqa.json"]
    assert check(_record(accuracy=1.0), tmp_path, "update", owner=OWNER) == []  # update replaces it
    assert merge_session(tmp_path, SESSION, replace_damaged=True) == ([path], [])
    assert load(path).cases["m-gqa-s"].metrics["accuracy"] == 1.0
    with pytest.raises(ValueError, match="baseline mode 'fix'"):
        check(_record(accuracy=1.0), tmp_path, "fix", owner=OWNER)


def test_efficiency_cases_keep_time_ratios_to_the_unpruned_run(tmp_path, horizon_cache):
    from horizon.benchmarks.fixtures import write_all
    from horizon.harness.check import baseline_metrics
    from horizon.harness.matrix import Case
    from horizon.harness.runner import CaseRunner

    runner = CaseRunner({"HORIZON_DATA": str(write_all(tmp_path / "data"))}, {"HORIZON_CACHE": str(horizon_cache)})
    marks = ("efficiency",)
    full = runner.run(Case("tiny-llava", "gqa", "full", marks, max_new_tokens=2, label="full"))
    pruned = runner.run(Case("tiny-llava", "gqa", "random@0:0.1", marks, max_new_tokens=2, label="r"))
    assert full.timing["prefill_ratio"] == 1.0 and full.timing["latency_ratio"] == 1.0
    # the ratio is this session's pruned time over the unpruned one on the same prompt (not asserted < 1: a tiny
    # model's sub-millisecond prefill on a loaded CI machine is noise; `horizon doctor` measures speed-ups)
    ratio = pruned.timing["measured_prefill_ms"] / full.timing["measured_prefill_ms"]
    assert pruned.timing["prefill_ratio"] == pytest.approx(ratio) and 0 < ratio < float("inf")
    latency = pruned.timing["e2e_ms"] / full.timing["e2e_ms"]
    assert pruned.timing["latency_ratio"] == pytest.approx(latency)
    kept = baseline_metrics(pruned)
    assert "prefill_ratio" in kept and "measured_prefill_ms" not in kept and "e2e_ms" not in kept


def test_a_planted_failure_fails_its_case_and_an_engine_error_is_not_counted(tmp_path, horizon_cache, monkeypatch):
    from horizon.benchmarks.base import DatasetFormatError, Sample
    from horizon.benchmarks.fixtures import write_all
    from horizon.harness.matrix import Case
    from horizon.harness.runner import CaseRunner

    runner = CaseRunner({"HORIZON_DATA": str(write_all(tmp_path / "data"))}, {"HORIZON_CACHE": str(horizon_cache)})
    case = Case("tiny-llava", "gqa", "random@2:0.5", ("default",), max_new_tokens=2, label="random")
    honest = runner.run(case)
    assert honest.failures == 0
    check(honest, tmp_path / "b", "record", owner=OWNER)
    merge_session(tmp_path / "b", SESSION, replace_damaged=False)
    assert check(runner.run(case), tmp_path / "b", "compare", owner=OWNER) == []

    decode = Sample.pil
    broken = set(sorted(_ids(runner, case))[:1])

    def failing_pil(sample: Sample):  # a sample's image starts failing to decode
        if sample.id in broken:
            raise DatasetFormatError(f"sample {sample.id}: its image cannot be decoded (planted)")
        return decode(sample)

    monkeypatch.setattr(Sample, "pil", failing_pil)
    planted = runner.run(case)
    assert planted.failures == 1 and planted.n == honest.n - 1
    problems = "\n".join(check(planted, tmp_path / "b", "compare", owner=OWNER))
    assert f"ran on {honest.n - 1} samples, the baseline on {honest.n}" in problems
    assert "1 samples failed, the baseline had 0" in problems and "(planted)" in problems
    assert "re-recording the baseline would accept the failures" in problems  # never advised as the fix
    assert "1 of the baseline's units are missing from this run: their samples now fail" in problems
    assert "re-recording its baseline accepts" not in problems

    def out_of_memory(sample: Sample):  # not a data error: raised, never counted as a failed sample
        raise RuntimeError("CUDA out of memory (planted)")

    monkeypatch.setattr(Sample, "pil", out_of_memory)
    with pytest.raises(RuntimeError, match="out of memory"):
        runner.run(case)


def _ids(runner, case) -> list[str]:
    from horizon.benchmarks.samples import subset

    return [s.id for s in subset(runner.samples(case.benchmark), case.limit, seed=case.seed)]
