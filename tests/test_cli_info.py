"""``horizon info`` end to end on a tiny model and fixture data (2x2 windows, the paper's answer rule); its
option errors; oracle through eval."""

from __future__ import annotations

import json

import pytest

from horizon.cli import main
from horizon.cli.info import parse_layers


@pytest.fixture
def env(monkeypatch, horizon_cache, tmp_path):
    from horizon.benchmarks.fixtures import write_parquet

    monkeypatch.setenv("HORIZON_CACHE", str(horizon_cache))
    write_parquet("mme", tmp_path / "data" / "mme")
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path / "data"))
    return tmp_path


def test_info_writes_json_figures_and_markdown(capsys, env):
    out = env / "info"
    code = main(["info", "--model", "tiny-qwen2.5-vl", "--bench", "mme", "--samples", "2", "--layers", "0,5-6,27",
                 "--methods", "random,dart", "--keeps", "0.25", "--oracle-keeps", "0.5", "--max-new-tokens", "2",
                 "--window", "2", "--answer-rule", "paper", "--out", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "### Information: tiny-qwen2.5-vl on mme (2 samples)" in text
    data = json.loads((out / "info-tiny-qwen2.5-vl-mme.json").read_text())
    assert data["layers"] == [0, 5, 6, 27] and data["n"] == 2 and data["mode"] == "remove"
    assert data["window"] == 2 and data["answer_rule"] == "paper" and "2x2 windows" in data["rules"]["removal"]
    assert data["retained"]["dart"]["0.25"][0] is None  # DART reads the layer before: not at layer 0
    assert set(data["oracle"]["0.5"]) == {"0", "5", "6", "27"} and set(data["withdraw"]) == {"0", "5", "6", "27"}
    assert "answer" in data["rules"] and "horizon" in data["rules"]
    for name in ("layers", "maps", "retained", "oracle"):
        assert (out / f"info-tiny-qwen2.5-vl-mme-{name}.png").stat().st_size > 1000
    assert (out / "info-tiny-qwen2.5-vl-mme.md").read_text().startswith("### Information")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layers", "3,40"], "layers must be in 0..27"),
        (["--layers", "a-b"], "give 'all', a list"),
        (["--mode", "mask"], "mode 'mask' is not one of remove, zero"),
        (["--methods", "dartt"], "unknown method 'dartt'"),
        (["--keeps", "1.5"], "keep 1.5 is outside [0, 1]"),
        (["--samples", "0"], "--samples must be >= 1"),
        (["--window", "0"], "window 0 must be a whole number >= 1"),
        (["--answer-rule", "best"], "answer rule 'best' is not one of frequent, paper"),
        (["--bench", "pope", "--answer-rule", "paper"], "the paper's answer rule is defined for textvqa"),
    ],
)
def test_info_bad_options(capsys, env, args, message):
    assert main(["info", "--model", "tiny-qwen2.5-vl", "--bench", "mme", *args, "--out", str(env / "o")]) == 2
    assert message in capsys.readouterr().err


def test_parse_layers():
    assert parse_layers("all", 32) is None
    assert parse_layers("0,4, 2-3", 32) == (0, 2, 3, 4)


def test_eval_runs_the_oracle_with_each_samples_gold_answer(capsys, env):
    code = main(["eval", "--model", "tiny-llava", "--bench", "mme", "--schedule", "oracle@8:0.25", "--limit", "2",
                 "--max-new-tokens", "2"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "oracle@8:0.25 · " in out and " · 2 samples (0 failed" in out


def test_info_under_the_paper_protocol_takes_its_windows_and_answer_rule(capsys, env):
    out = env / "paper"
    code = main(["info", "--model", "tiny-llava", "--bench", "mme", "--samples", "2", "--layers", "8", "--methods", "",
                 "--oracle-keeps", "", "--no-withdraw", "--max-new-tokens", "1", "--protocol", "paper",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "info-tiny-llava-mme.json").read_text())
    assert data["window"] == 2 and data["answer_rule"] == "paper"
    assert main(["info", "--model", "tiny-qwen2.5-vl", "--bench", "mme", "--protocol", "paper",
                 "--out", str(out)]) == 2  # fmt: skip
    assert "defined for llava models only" in capsys.readouterr().err
