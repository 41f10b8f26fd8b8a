"""A suite session's logic without pytest (horizon/harness/session.py): options, selection, what its end says. The
root conftest.py only wires these to pytest's hooks; tests/test_suite_options.py checks that wiring end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from horizon.harness import session as hs
from horizon.harness.baselines import BaselineFile, dumps, load, shard_path
from horizon.models.settings import DEFAULT_ATTENTION, DEFAULT_DEVICE, DEFAULT_DTYPE


def test_options_parse_or_name_the_bad_value() -> None:
    assert hs.parse_shard(None) is None and hs.parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "a/b", "1"):
        with pytest.raises(ValueError, match=f"--shard {bad!r}: write i/n"):
            hs.parse_shard(bad)
    assert hs.parse_models(" tiny-llava, organism-llava,") == {"tiny-llava", "organism-llava"}
    with pytest.raises(ValueError, match="--models ' , ' names no model"):
        hs.parse_models(" , ")
    with pytest.raises(ValueError, match="--models: unknown model 'tiny-lava'; did you mean 'tiny-llava'"):
        hs.parse_models("tiny-lava")
    hs.check_protocol(None)
    with pytest.raises(ValueError, match="--protocol: unknown protocol"):
        hs.check_protocol("papr")
    hs.check_markexpr("paper and not (sweep or xdist_group)")
    with pytest.raises(ValueError, match="unknown marker 'papper'"):
        hs.check_markexpr("papper or sweep")
    with pytest.raises(ValueError, match="--batch must be >= 1, got 0"):
        hs.check_batch(0)
    with pytest.raises(ValueError, match="not both"):
        hs.check_modes(True, True)
    assert [hs.baseline_mode(u, r) for u, r in ((False, False), (True, False), (False, True))] == [
        "compare", "update", "record"]  # fmt: skip


def test_the_recorded_settings_are_the_models_defaults() -> None:
    assert dict(hs.RECORDED_SETTINGS) == {"device": DEFAULT_DEVICE, "dtype": DEFAULT_DTYPE, "attn": DEFAULT_ATTENTION,
                                          "batch": 1}  # fmt: skip
    assert hs.unreached_settings(dict(hs.RECORDED_SETTINGS), 0) == ""
    assert hs.unreached_settings({**hs.RECORDED_SETTINGS, "dtype": "bfloat16"}, 3) == ""
    assert hs.unreached_settings({**hs.RECORDED_SETTINGS, "dtype": "bfloat16"}, 0).startswith("--dtype reached no case")


def test_folders_resolve_from_the_rootdir_or_the_invocation(tmp_path: Path) -> None:
    root, here = tmp_path / "repo", tmp_path / "elsewhere"
    got = hs.resolve_folders(root, here, {"baselines": None, "results": "r", "reports": None}, stand_ins=True)
    assert got == {"baselines": str(root / "baselines"), "results": str(here / "r"),
                   "reports": str(root / "reports" / "stand-in")}  # fmt: skip
    assert hs.resolve_folders(root, here, {}, stand_ins=False)["reports"] == str(root / "reports")


def test_shards_partition_the_selection() -> None:
    ids = [f"suite/test_matrix.py::test_case[{k}]" for k in "qwertyuiopasdfg"]
    parts = [hs.shard_keep(ids, (i, 4)) for i in range(1, 5)]
    assert set().union(*parts) == set(ids) and sum(len(p) for p in parts) == len(ids)
    assert hs.shard_keep(list(reversed(ids)), (2, 4)) == parts[1]  # the order given does not matter
    assert hs.tiers_deselected("default") == ("organism_full", "deepstack")
    assert hs.tiers_deselected("organism_full and sweep") == ("deepstack",) and hs.tiers_deselected("deepstack") == ("organism_full",)


def test_gpus_are_counted_from_the_visible_devices_first() -> None:
    assert hs.gpu_count({"CUDA_VISIBLE_DEVICES": "0, 3,"}) == 2


def test_cases_ran_counts_what_the_cases_report() -> None:
    ran = hs.CasesRan()
    ran.saw([("horizon_case", "default"), ("horizon_id", "a")])
    ran.saw([("horizon_case", "stand-in"), ("horizon_id", "b"), ("horizon_gpu", "gw0: H100 (GPU-1; ...)")])
    ran.saw([("something", "else")])  # a test of tests/: not a case
    assert (ran.ran, ran.real, ran.ids, ran.gpus) == (2, 1, {"a", "b"}, {"gw0": {"H100 (GPU-1; ...)"}})


def test_the_end_merges_this_sessions_shards_only_unless_interrupted(tmp_path: Path) -> None:
    target = tmp_path / "cpu" / "m" / "b.json"
    target.parent.mkdir(parents=True)
    part = BaselineFile("cpu", "m", "b").with_case("m-b-full", 4, {"accuracy": 50.0})
    shard_path(target, "1x01-gw0").write_text(dumps(part))
    shard_path(target, "2x02-gw0").write_text(dumps(part))  # another session's: stale, never merged
    end = hs.finish_baselines(tmp_path, "1x01", interrupted=True, update=False)
    assert not end.failed and not end.stopped and end.written == 0 and not target.exists()
    assert end.said[0].startswith("interrupted: no baseline was changed (2 ")
    end = hs.finish_baselines(tmp_path, "1x01", interrupted=False, update=False)
    assert not end.failed and not end.stopped and end.written == 1
    assert load(target).cases["m-b-full"].metrics == {"accuracy": 50.0}
    assert len(end.said) == 1 and end.said[0].startswith("1 stale files from interrupted sessions")
    assert shard_path(target, "2x02-gw0").exists()


def test_the_header_says_what_the_options_reach() -> None:
    lines = hs.header("1x01", "/b", {**hs.RECORDED_SETTINGS, "dtype": "bfloat16"}, None, stand_ins=True)
    assert "--dtype bfloat16" in lines[1] and "of each case" in lines[2] and "--stand-ins" in lines[3]


def _two_shards(root: Path) -> None:
    """Session 1x01's shards of two baseline files (benchmarks a and b of model m), one case each."""
    for bench in ("a", "b"):
        target = root / "cpu" / "m" / f"{bench}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        part = BaselineFile("cpu", "m", bench).with_case(f"m-{bench}-full", 4, {"accuracy": 1.0})
        shard_path(target, "1x01-gw0").write_text(dumps(part))


def test_ctrl_c_during_the_merge_waits_for_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGINT sent while the merge writes: every file of the session is written, then the end says so and stops."""
    import os
    import signal

    import horizon.harness.merge as merge

    _two_shards(tmp_path)
    real = merge.write_all_atomic

    def interrupted(files: dict[Path, str]) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives as the merge starts writing
        real(files)

    monkeypatch.setattr(merge, "write_all_atomic", interrupted)
    end = hs.finish_baselines(tmp_path, "1x01", interrupted=False, update=False)
    assert end.stopped and not end.failed
    assert "SIGINT during the baseline merge: the merge finished first (2 files" in end.said[0]
    assert {p.name for p in tmp_path.rglob("*.json")} == {"a.json", "b.json"}  # both merged, no shard left
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored


def test_a_failed_write_changes_no_file_of_the_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    import horizon.files as files

    done = []
    _two_shards(tmp_path)
    real = os.fdopen

    def full_on_second(fd: int, *args: object) -> object:
        done.append(fd)
        if len(done) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, *args)

    monkeypatch.setattr(files.os, "fdopen", full_on_second)
    end = hs.finish_baselines(tmp_path, "1x01", interrupted=False, update=False)
    assert end.failed and "could not write" in end.said[0] and "No space left" in end.said[0]
    names = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert not any(n in ("a.json", "b.json") or n.endswith(".tmp") for n in names)  # none written, no leftovers
    assert len(names) == 2  # the two shards stay


def test_folders_that_cannot_be_written_are_refused_before_any_case(tmp_path: Path) -> None:
    a_file = tmp_path / "results.txt"
    a_file.write_text("x")
    hs.check_folders({"results": str(tmp_path / "new" / "deeper"), "baselines": str(a_file.parent)}, {"results"})
    with pytest.raises(ValueError, match=f"--results '{a_file}' is a file: give a folder"):
        hs.check_folders({"results": str(a_file)}, {"results"})
    with pytest.raises(ValueError, match=f"--reports '{a_file / 'r'}' is under {a_file}, which is a file"):
        hs.check_folders({"reports": str(a_file / "r")}, set())
    with pytest.raises(ValueError, match="--baselines '/proc/self/b': cannot write in /proc/self"):
        hs.check_folders({"baselines": "/proc/self/b"}, {"baselines"})  # not writable, even by root
    hs.check_folders({"baselines": "/proc/self/b"}, set())  # a compare session writes no baseline


def test_a_baseline_that_cannot_be_written_fails_its_case_saying_so(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import errno

    import horizon.harness.check as check
    from horizon.harness.records import Record

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(check, "write_atomic", full)
    record = Record(case="m-gqa-s", model="m", benchmark="gqa", schedule="s", device="cpu", dtype="float32",
                    attn_implementation="sdpa", n=4, failures=0, metrics={"accuracy": 50.0}, average_visual_tokens=1.0)
    (problem,) = check.check(record, tmp_path, "record", owner="1x01-main")
    assert problem.startswith("m-gqa-s: its baseline could not be written beside") and "No space left" in problem


def test_only_sessions_that_reach_the_suite_check_their_folders(tmp_path: Path) -> None:
    root = Path(__file__).parents[1]
    assert hs.runs_suite([], root, root) and hs.runs_suite(["suite/test_matrix.py::test_case[x]"], root, root)
    assert hs.runs_suite(["."], root, root) and hs.runs_suite([str(root / "suite")], tmp_path, root)
    assert not hs.runs_suite(["tests/test_layout.py"], root, root) and not hs.runs_suite(["tests"], root, root)
