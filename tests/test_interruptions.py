"""Interrupted and damaged baseline sessions, end to end through the real suite (subprocesses): a session killed
with -9 is never finished by a later one, Ctrl-C changes no baseline, a damaged baseline file is one clear failure
with the report still written, and only ``horizon baselines --clean`` removes the leftovers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from horizon.harness.baselines import SHARD, load

ROOT = Path(__file__).parents[1]
QWEN_MME = "tiny-qwen2.5-vl and mme"  # four cases, one model, one baseline file
GQA = "suite/test_matrix.py::test_case[tiny-llava-gqa-random@2:0.5]"


def _env(tmp: Path, horizon_cache: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HORIZON_CACHE": str(horizon_cache),
            "HF_HUB_OFFLINE": "1", "HOME": str(tmp)}  # fmt: skip


def _cmd(tmp: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider", "--baselines", str(tmp / "b"),
            "--results", str(tmp / "results"), "--reports", str(tmp / "reports")]  # fmt: skip


def _suite(tmp: Path, horizon_cache: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd(tmp, *args), cwd=cwd, capture_output=True, text=True, timeout=900,
                          env=_env(tmp, horizon_cache))  # fmt: skip


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _interrupt(tmp: Path, horizon_cache: Path, sig: str, stage: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a session that receives ``sig`` (SIGINT: Ctrl-C; SIGKILL: kill -9) at a known ``stage`` of itself (the
    ``tests/interrupt_at.py`` plugin, no timer), started with SIGINT at its default even when this test runs under
    a parent that ignores it (a ``cmd &`` in a non-interactive shell)."""
    env = {**_env(tmp, horizon_cache), "HORIZON_INTERRUPT_AT": stage, "HORIZON_INTERRUPT_SIGNAL": sig}
    return subprocess.run(_cmd(tmp, "-p", "tests.interrupt_at", *args), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900, preexec_fn=_default_sigint)  # fmt: skip


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


TWO_FILES = ("suite/test_matrix.py::test_case[tiny-llava-gqa-random@2:0.5]",
             "suite/test_matrix.py::test_case[tiny-llava-mme-random@2:0.5]")  # fmt: skip


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("stage", ["case", "shard", "merge", "report"])
def test_an_interrupted_recording_leaves_the_baselines_unchanged_or_fully_merged(tmp_path, horizon_cache, stage, sig):
    """Ctrl-C or kill -9 at each stage of a recording session of two cases in two baseline files: before the merge
    no baseline file exists (only shards); from the merge on both exist whole; never one of them."""
    run = _interrupt(tmp_path, horizon_cache, sig, stage, *TWO_FILES, "--record-baselines")
    out = run.stdout + run.stderr
    files = {name for name in _snapshot(tmp_path / "b") if SHARD not in name}
    shards = [name for name in _snapshot(tmp_path / "b") if SHARD in name]
    merged = stage == "report" or (stage == "merge" and sig == "SIGINT")
    assert files == ({"cpu/tiny-llava/gqa.json", "cpu/tiny-llava/mme.json"} if merged else set()), out[-2000:]
    assert (not shards) if merged else bool(shards)  # unmerged: its shards stay, for `horizon baselines --clean`
    if sig == "SIGKILL":
        assert run.returncode == -signal.SIGKILL
        return
    assert run.returncode == pytest.ExitCode.INTERRUPTED and "Traceback" not in out, out[-2000:]
    said = {"case": "interrupted: no baseline was changed", "shard": "interrupted: no baseline was changed",
            "merge": "SIGINT during the baseline merge: the merge finished first (2 files written",
            "report": "report not written (Ctrl-C while writing it; the 2 baseline files of this session were already "
                      "merged)"}[stage]  # fmt: skip
    assert said in run.stdout, run.stdout[-2000:]
    if merged:
        assert {len(load(tmp_path / "b" / f).cases) for f in files} == {1}


def test_the_plugin_is_told_a_stage_it_knows(tmp_path, horizon_cache):
    run = _interrupt(tmp_path, horizon_cache, "SIGINT", "lunch", TWO_FILES[0])
    assert run.returncode == 4 and "$HORIZON_INTERRUPT_AT 'lunch': one of case, shard, merge, report" in run.stderr


def test_a_killed_update_is_never_finished_by_a_later_plain_run(tmp_path, horizon_cache):
    shutil.copytree(ROOT / "baselines" / "cpu" / "tiny-qwen2.5-vl", tmp_path / "b" / "cpu" / "tiny-qwen2.5-vl")
    mme = tmp_path / "b" / "cpu" / "tiny-qwen2.5-vl" / "mme.json"
    data = json.loads(mme.read_text())
    for case in data["cases"].values():  # every case now disagrees: --update-baselines writes a shard for each
        case["metrics"]["visual_tokens"] += 50.0
    mme.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    _interrupt(tmp_path, horizon_cache, "SIGKILL", "case", "suite", "-k", QWEN_MME, "--update-baselines")
    before = _snapshot(tmp_path / "b")
    assert any(SHARD in name for name in before), "the killed session left its shards"
    plain = _suite(tmp_path, horizon_cache, "suite", "-k", QWEN_MME)
    assert _snapshot(tmp_path / "b") == before  # not a byte changed: the stale shards were not merged
    assert plain.returncode == 1 and "than the baseline" in plain.stdout  # the planted values still disagree
    assert "stale files from interrupted sessions" in plain.stdout and "horizon baselines --clean" in plain.stdout
    listed = subprocess.run([sys.executable, "-m", "horizon.cli", "baselines", "--baselines", str(tmp_path / "b")],
                            capture_output=True, text=True, env=_env(tmp_path, horizon_cache), check=False)  # fmt: skip
    assert listed.returncode == 0 and "stale: " in listed.stdout and SHARD in listed.stdout
    assert _snapshot(tmp_path / "b") == before  # listing removes nothing
    cleaned = subprocess.run([sys.executable, "-m", "horizon.cli", "baselines", "--baselines", str(tmp_path / "b"),
                              "--clean"], capture_output=True, text=True, env=_env(tmp_path, horizon_cache), check=False)  # fmt: skip
    assert cleaned.returncode == 0 and "removed: " in cleaned.stdout
    after = _snapshot(tmp_path / "b")
    assert not any(SHARD in name or name.endswith(".tmp") for name in after)
    assert after == {k: v for k, v in before.items() if SHARD not in k and not k.endswith(".tmp")}


def test_after_an_interrupted_recording_a_plain_run_writes_and_merges_nothing(tmp_path, horizon_cache):
    _interrupt(tmp_path, horizon_cache, "SIGINT", "shard", "suite", "-k", QWEN_MME, "--record-baselines")
    left = _snapshot(tmp_path / "b")
    assert left and all(SHARD in name for name in left)  # Ctrl-C: the session did not merge its part
    plain = _suite(tmp_path, horizon_cache, GQA)
    assert plain.returncode == 1 and "no baseline" in plain.stdout
    assert _snapshot(tmp_path / "b") == left  # a plain run wrote nothing and merged nothing


def test_a_truncated_baseline_is_one_clear_failure_and_the_report_is_written(tmp_path, horizon_cache):
    folder = tmp_path / "b" / "cpu" / "tiny-llava"
    shutil.copytree(ROOT / "baselines" / "cpu" / "tiny-llava", folder)
    (folder / "mme.json").write_text((folder / "mme.json").read_text()[:200])  # cut mid-file
    mme = "suite/test_matrix.py::test_case[tiny-llava-mme-random@2:0.5]"
    run = _suite(tmp_path, horizon_cache, GQA, mme)
    assert run.returncode == 1 and "1 failed, 1 passed" in run.stdout  # the gqa case never needed mme.json
    assert f"{folder / 'mme.json'}: not valid JSON" in run.stdout and "Traceback" not in run.stdout + run.stderr
    report = (tmp_path / "reports" / "report.md").read_text()
    assert "mme.json: not valid JSON" in report  # the report names it among the regressions
    update = _suite(tmp_path, horizon_cache, mme, "--update-baselines")
    assert update.returncode == 0, update.stdout
    assert set(load(folder / "mme.json").cases) == {"tiny-llava-mme-random@2:0.5"}
    assert _suite(tmp_path, horizon_cache, mme).returncode == 0


def test_folders_come_from_the_rootdir_not_the_working_directory(tmp_path, horizon_cache):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cmd = [sys.executable, "-m", "pytest", str(ROOT / GQA), "-q", "-p",
           "no:cacheprovider", "--results", str(tmp_path / "results"), "--reports", str(tmp_path / "reports")]  # fmt: skip
    run = subprocess.run(cmd, cwd=elsewhere, capture_output=True, text=True, timeout=900,
                         env=_env(tmp_path, horizon_cache))  # fmt: skip
    assert run.returncode == 0, run.stdout  # compared with the repository's own baselines, found from here
    assert list(elsewhere.iterdir()) == []  # and nothing was written where the command was typed


def test_xdist_workers_write_the_sessions_shards_and_the_controller_merges_them(tmp_path, horizon_cache):
    cases = [GQA, "suite/test_matrix.py::test_case[tiny-qwen2.5-vl-gqa-random@2:0.5]"]  # two models: two workers
    recorded = _suite(tmp_path, horizon_cache, *cases, "-n", "2", "--record-baselines")
    assert recorded.returncode == 0, recorded.stdout
    files = _snapshot(tmp_path / "b")
    assert sorted(files) == ["cpu/tiny-llava/gqa.json", "cpu/tiny-qwen2.5-vl/gqa.json"]  # merged, no shard left
    assert _suite(tmp_path, horizon_cache, *cases, "-n", "2").returncode == 0
    assert _snapshot(tmp_path / "b") == files


def _full_disk(tmp: Path, horizon_cache: Path, where: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**_env(tmp, horizon_cache), "HORIZON_FULL_DISK": where}
    return subprocess.run(_cmd(tmp, "-p", "tests.full_disk", *args), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip


def test_a_record_that_cannot_be_written_fails_its_case_saying_where(tmp_path, horizon_cache):
    run = _full_disk(tmp_path, horizon_cache, "record", GQA)
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert f"tiny-llava-gqa-random@2:0.5: its record could not be written under {tmp_path / 'results'}" in run.stdout
    assert "No space left on device (planted)" in run.stdout


def test_a_report_that_cannot_be_written_says_where_and_keeps_the_records(tmp_path, horizon_cache):
    run = _full_disk(tmp_path, horizon_cache, "report", GQA)
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert f"report not written to {tmp_path / 'reports'}: [Errno 28] No space left on device (planted)" in run.stdout
    assert "writes it elsewhere" in run.stdout and list((tmp_path / "results").rglob("*.json"))
