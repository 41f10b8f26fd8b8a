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
    assert hs.tier_deselected("default") and not hs.tier_deselected("organism_full and sweep")


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
    said, failed = hs.finish_baselines(tmp_path, "1x01", interrupted=True, update=False)
    assert not failed and not target.exists() and said[0].startswith("interrupted: no baseline was changed (2 ")
    said, failed = hs.finish_baselines(tmp_path, "1x01", interrupted=False, update=False)
    assert not failed and load(target).cases["m-b-full"].metrics == {"accuracy": 50.0}
    assert len(said) == 1 and said[0].startswith("1 stale files from interrupted sessions")
    assert shard_path(target, "2x02-gw0").exists()


def test_the_header_says_what_the_options_reach() -> None:
    lines = hs.header("1x01", "/b", {**hs.RECORDED_SETTINGS, "dtype": "bfloat16"}, None, stand_ins=True)
    assert "--dtype bfloat16" in lines[1] and "of each case" in lines[2] and "--stand-ins" in lines[3]
