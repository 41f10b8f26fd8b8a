"""Every ``horizon`` command and sub-command once, at tiny scale, through ``horizon.cli.main``: it exits 0 and
prints what it is for. ``test_every_command_has_a_smoke_test`` walks the parser, so a new command fails
until it has a test here (declared with ``@smoke(...)``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from horizon.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]
F = TypeVar("F", bound=Callable[..., Any])
COVERED: set[tuple[str, ...]] = set()


def smoke(*command: str) -> Callable[[F], F]:
    """Declares the test as the smoke test of ``command`` (e.g. ``smoke("bench", "suite")``)."""

    def deco(fn: F) -> F:
        COVERED.add(command)
        return fn

    return deco


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every command the parser accepts: its sub-parsers, recursively, and a ``what`` positional's choices
    (``horizon list models``, ``horizon bench suite``) as sub-commands."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if subs:
        return {
            path for a in subs for name, child in a.choices.items() for path in command_paths(child, (*prefix, name))
        }
    what = next((a.choices for a in parser._actions if not a.option_strings and a.dest == "what"), None)
    return {(*prefix, str(c)) for c in what} if what is not None else {prefix}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``horizon ARGV``: asserts exit code 0 and returns what it printed."""
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


@pytest.fixture
def cache_env(monkeypatch: pytest.MonkeyPatch, horizon_cache: Path) -> None:
    monkeypatch.setenv("HORIZON_CACHE", str(horizon_cache))


@pytest.fixture
def mme_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache_env: None) -> Path:
    from horizon.benchmarks.fixtures import write_parquet

    write_parquet("mme", tmp_path / "data" / "mme")
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path / "data"))
    return tmp_path


def test_every_command_has_a_smoke_test() -> None:
    paths = command_paths(build_parser())
    assert {("organism", "ship"), ("bench", "suite"), ("list", "presets"), ("flops",)} <= paths  # the walk works
    assert {p[0] for p in paths} == set(COMMANDS)
    assert sorted(paths - COVERED) == [], "commands without a smoke test in tests/test_cli_smoke.py"
    assert sorted(COVERED - paths) == [], "smoke tests of commands the parser does not have"


@smoke("run")
def test_run(capsys: pytest.CaptureFixture[str], cache_env: None) -> None:
    out = cli(capsys, "run", "--model", "tiny-llava", "--schedule", "random@2:0.5", "--max-new-tokens", "2")
    assert "answer" in out and "visual tokens per layer: 0-1:" in out and "random@2:0.5" in out


@smoke("eval")
def test_eval(capsys: pytest.CaptureFixture[str], mme_data: Path) -> None:
    out = cli(capsys, "eval", "--model", "tiny-llava", "--bench", "mme", "--limit", "2", "--max-new-tokens", "1")
    assert "mme · tiny-llava · full · protocol lmms-eval · 2 samples (0 failed" in out and "total" in out
    paper = cli(capsys, "eval", "--model", "tiny-llava", "--bench", "mme", "--limit", "2", "--max-new-tokens", "1",
                "--protocol", "paper", "--schedule", "paper:llava-64:dart+random")  # fmt: skip
    assert "dart-set@1:#60/reindex+random@20:#27/reindex · protocol paper · 2 samples" in paper
    assert "mean of 3 seeds" in paper and "seed 2" in paper


def test_eval_on_a_stand_in(capsys: pytest.CaptureFixture[str], cache_env: None, tmp_path: Path) -> None:
    """``--stand-ins``: the real preset's stand-in (32 layers, 576 visual tokens) runs the paper preset on mme's
    fixture rows under the paper protocol; the JSON record says it is a stand-in."""
    import json

    out = cli(capsys, "eval", "--model", "llava-1.5-7b", "--bench", "mme", "--limit", "2", "--stand-ins",
              "--protocol", "paper", "--schedule", "paper:llava-64:dart+random", "--json", str(tmp_path / "e.json"))  # fmt: skip
    head = "mme · stand-in-llava-1.5-7b · dart-set@1:#60/reindex+random@20:#27/reindex · protocol paper · 2 samples"
    assert head in out and "mean of 3 seeds" in out
    record = json.loads((tmp_path / "e.json").read_text())
    assert record["stand_in"] is True and record["model"] == "stand-in-llava-1.5-7b" and record["n"] == 2


def test_info_on_a_stand_in(capsys: pytest.CaptureFixture[str], cache_env: None, tmp_path: Path) -> None:
    """``horizon info --stand-ins``: the 28-layer stand-in of qwen2.5-vl-7b, its last layer measurable, on
    textvqa's fixture rows; its files are named after the stand-in, never after the real checkpoint."""
    out = cli(capsys, "info", "--model", "qwen2.5-vl-7b", "--bench", "textvqa", "--stand-ins", "--samples", "1",
              "--layers", "0,27", "--methods", "random", "--keeps", "0.25", "--oracle-keeps", "", "--no-withdraw",
              "--out", str(tmp_path))  # fmt: skip
    assert "### Information: stand-in-qwen2.5-vl-7b on textvqa (1 samples)" in out
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["info-stand-in-qwen2.5-vl-7b-textvqa.json"]


@smoke("doctor")
def test_doctor(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "doctor", "--models", "tiny-llava", "--attn", "sdpa", "--no-numbers")
    assert "horizon doctor · cpu · float32 · attention sdpa · tiny-llava" in out and "every check passed" in out


@smoke("compare")
def test_compare(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from horizon.harness.records import Record, write_record

    for side, values in (("a", [1.0] * 10), ("b", [1.0] * 9 + [0.0])):
        write_record(tmp_path / side, Record(
            case="c", model="organism-llava", benchmark="synth", schedule="full", device="cpu", dtype="float32",
            attn_implementation="sdpa", n=10, failures=0, metrics={"accuracy": 10.0 * sum(values)},
            average_visual_tokens=144.0, samples=[[f"s{i}", "x", v] for i, v in enumerate(values)]))  # fmt: skip
    out = cli(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert "1 shared cases" in out and "inconclusive at n = 10" in out and "1 inconclusive" in out


@smoke("plan")
def test_plan(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "plan", "-m", "paper", "-k", "qwen2.5-vl-7b-mme-full")
    assert "horizon plan · 1 real-checkpoint cases" in out and "qwen2.5-vl-7b  mme" in out and "2374" in out


@smoke("list", "protocols")
def test_list_protocols(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "list", "protocols")
    assert "lmms-eval" in out and "vicuna_v1" in out and "docs/protocol.md" in out


@smoke("info")
def test_info(capsys: pytest.CaptureFixture[str], mme_data: Path) -> None:
    out_dir = mme_data / "info"
    out = cli(capsys, "info", "--model", "tiny-qwen2.5-vl", "--bench", "mme", "--samples", "2", "--layers", "0,27",
              "--methods", "random", "--keeps", "0.25", "--oracle-keeps", "", "--no-withdraw", "--max-new-tokens", "1",
              "--out", str(out_dir))  # fmt: skip
    assert "### Information: tiny-qwen2.5-vl on mme (2 samples)" in out
    assert (out_dir / "info-tiny-qwen2.5-vl-mme.json").is_file() and (out_dir / "info-tiny-qwen2.5-vl-mme.md").is_file()


@smoke("organism", "data")
def test_organism_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = cli(capsys, "organism", "data", "--out", str(tmp_path / "synth"), "--n", "6", "--seed", "1")
    assert "6 synth rows (seed 1) -> " in out and any((tmp_path / "synth").iterdir())


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``horizon organism train`` for two steps (one pre-training step), and what it printed."""
    import contextlib
    import io

    run = tmp_path_factory.mktemp("organism") / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["organism", "train", "organism-llava", "--out", str(run), "--pretrain-steps", "1", "--steps", "1",
                     "--batch", "2", "--warmup", "1", "--threads", "1", "--eval-rows", "0"])  # fmt: skip
    assert code == 0
    return run, printed.getvalue()


@smoke("organism", "train")
def test_organism_train(trained_run: tuple[Path, str]) -> None:
    run, out = trained_run
    assert "finished at step 2" in out and f"model in {run / 'model'}" in out
    assert (run / "model" / "model.safetensors").is_file() and (run / "log.txt").read_text().startswith("step")


@smoke("organism", "ship")
def test_organism_ship(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                       trained_run: tuple[Path, str]) -> None:  # fmt: skip
    import horizon.evaluation.heldout as heldout

    real = heldout.heldout_run
    # the card's 600 held-out rows take ~35 s here; 12 rows go through the same code
    monkeypatch.setattr(heldout, "heldout_run", lambda model_dir, name, n=12: real(model_dir, name, n))
    notes = tmp_path / "notes.md"
    notes.write_text("Two steps: a smoke test.\n")
    dest = tmp_path / "shipped"
    out = cli(capsys, "organism", "ship", str(trained_run[0]), "--dest", str(dest), "--notes", str(notes))
    assert f"organism-llava -> {dest}: held-out global " in out
    assert (dest / "model.safetensors").is_file() and "Two steps: a smoke test." in (dest / "README.md").read_text()


@smoke("flops")
def test_flops(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "flops", "--model", "llava-1.5-7b", "--text-tokens", "116", "--schedule", "random@2:0.5")
    assert "llava-1.5-7b · random@2:0.5 · 116 text + 576 visual tokens" in out and " 9.21 " in out


@smoke("flops")
def test_flops_table3(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "flops", "--table3", "--paper", str(ROOT / "baselines" / "paper"))
    assert "Table 3 · llava-1.5-7b · 116 text + 576 visual tokens" in out and "9.21 (-0.1%)" in out


@smoke("report")
def test_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from horizon.harness.records import Record, write_record

    write_record(tmp_path / "results", Record(
        case="tiny-llava-mme-full", model="tiny-llava", benchmark="mme", schedule="full", device="cpu",
        dtype="float32", attn_implementation="sdpa", n=2, failures=0, metrics={"total": 100.0},
        average_visual_tokens=576.0, label="full"))  # fmt: skip
    out = cli(capsys, "report", str(tmp_path / "results"), "--out", str(tmp_path / "reports"),
              "--baselines", str(tmp_path / "none"))  # fmt: skip
    assert out == f"1 records -> {tmp_path / 'reports' / 'report.md'}\n"
    assert "tiny-llava" in (tmp_path / "reports" / "report.md").read_text()


@smoke("baselines")
def test_baselines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import shutil

    shutil.copytree(Path(__file__).parents[1] / "baselines", tmp_path / "b")
    (tmp_path / "b" / "cpu" / "tiny-llava" / "gqa.shard-999999999x00-gw0.json").write_text("{}")  # a killed session's
    out = cli(capsys, "baselines", "--baselines", str(tmp_path / "b"))
    assert " 0 damaged" in out and "stale: " in out and "gqa.shard-999999999x00-gw0.json" in out
    out = cli(capsys, "baselines", "--baselines", str(tmp_path / "b"), "--clean")
    assert "removed: " in out and not list((tmp_path / "b").rglob("*.shard-*"))


@smoke("list", "models")
def test_list_models(capsys: pytest.CaptureFixture[str]) -> None:
    from horizon.models.presets import MODELS

    out = cli(capsys, "list", "models")
    assert out.split()[:3] == ["model", "family", "checkpoint"] and all(name in out for name in MODELS.names())


@smoke("list", "methods")
def test_list_methods(capsys: pytest.CaptureFixture[str]) -> None:
    from horizon.methods import METHODS

    out = cli(capsys, "list", "methods")
    assert out.split()[:2] == ["method", "needs"] and all(f"\n{name} " in out for name in METHODS.names())


@smoke("list", "presets")
def test_list_presets(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "list", "presets")
    assert "paper:llava-192:dart+random" in out and "paper:qwen-50:dart+random" in out


@smoke("list", "benchmarks")
def test_list_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.cli.listing import headline_metric

    out = cli(capsys, "list", "benchmarks")
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    for name, bench in BENCHMARKS.items():
        assert f" {headline_metric(bench)} " in lines[name]


@smoke("bench", "engine")
def test_bench_engine(capsys: pytest.CaptureFixture[str], cache_env: None) -> None:
    out = cli(capsys, "bench", "engine", "--models", "tiny-llava", "--repeats", "1")
    assert "stock (no engine)" in out and "time / stock" in out and "random@2:0.5" in out


@smoke("bench", "methods")
def test_bench_methods_times_every_method(capsys: pytest.CaptureFixture[str]) -> None:
    from horizon.methods import METHODS

    out = cli(capsys, "bench", "methods", "--geometry", "tiny-llava", "--repeats", "1")
    rows = [line.split() for line in out.splitlines() if line.startswith("tiny-llava ")]
    assert [r[1] for r in rows] == METHODS.names()  # the oracle too, on random information of the right shape
    assert all(r[2] == "671" and float(r[3]) > 0 for r in rows) and "Keep 25% of the visual tokens" in out


@smoke("bench", "suite")
def test_bench_suite(capsys: pytest.CaptureFixture[str], cache_env: None) -> None:
    out = cli(capsys, "bench", "suite", "--repeats", "2", "--models", "organism-llava", "--organisms",
              "organism-llava", "--rows", "3")  # fmt: skip
    lines = out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("2 default cases:") and "harness overhead" in lines[0]
    assert lines[1].startswith("organism-llava: layer sweep of 21 schedules (prefill + first token):")
    assert lines[2].startswith("organism-llava: sweep group of 87 schedules on 3 synth-fine rows:")
    assert lines[2].endswith("same answers: True")


@smoke("bench", "info")
def test_bench_info(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "bench", "info", "--models", "organism-qwen2.5-vl", "--layers", "1")
    row = next(line.split() for line in out.splitlines() if line.startswith("organism-qwen2.5-vl "))
    assert row[1] == "0" and float(row[-1]) < 1e-4  # layer 0; the naive and batched maps agree
    assert "llava-1.5-7b full map (32 layers x 577 suffix runs, 116 text tokens)" in out


@smoke("vocab", "list")
def test_vocab_list(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HORIZON_CACHE", str(tmp_path))
    out = cli(capsys, "vocab", "list")
    assert "llama-spm" in out and "qwen2" in out and "qwen3" in out and f"cache: {tmp_path / 'vocab'}" in out


@smoke("vocab", "fetch")
def test_vocab_fetch_refuses_an_unknown_vocabulary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vocab", "fetch", "qwen4"]) == 2  # before any download: the known names listed
    assert "unknown vocabulary 'qwen4'" in capsys.readouterr().err


@smoke("vocab", "text-tokens")
def test_vocab_text_tokens_needs_a_cached_vocabulary(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("HORIZON_CACHE", str(tmp_path))  # tests/test_text_tokens.py measures with the real ones
    assert main(["vocab", "text-tokens", "--benchmarks", "mme"]) == 2
    assert "run `horizon vocab fetch` first" in capsys.readouterr().err


@smoke("verdict")
def test_verdict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = cli(capsys, "verdict", "divprune", "--models", "organism-llava", "--benchmarks", "synth-fine", "--rows", "16",
              "--seeds", "1", "--info-rows", "2", "--out", str(tmp_path))  # fmt: skip
    assert "organism-llava · synth-fine (n = 7):" in out and "detects >=" in out  # 7 of 16 held-out rows are fine tasks
    page = (tmp_path / "verdict-divprune.md").read_text()
    assert "| layer" in page and "](verdict-divprune.png)" in page and "hybrid" in page
    assert (tmp_path / "verdict-divprune.png").read_bytes()[:4] == b"\x89PNG"


@smoke("check-method")
def test_check_method(capsys: pytest.CaptureFixture[str], cache_env: None) -> None:
    out = cli(capsys, "check-method", "random", "--quick", "--models", "tiny-llava")
    assert "PASS  exact budgets [tiny-llava]" in out and "FAIL" not in out
