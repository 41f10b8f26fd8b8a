"""The ``horizon`` command end to end on the tiny models (every command's smoke test: tests/test_cli_smoke.py)."""

from __future__ import annotations

import json

import pytest

from horizon.cli import main


@pytest.fixture
def cache_env(monkeypatch, horizon_cache):
    monkeypatch.setenv("HORIZON_CACHE", str(horizon_cache))


def test_list(capsys):
    for what, expect in (("models", "qwen2.5-vl-7b"), ("methods", "vtw"), ("presets", "paper:qwen-50:dart+random")):
        assert main(["list", what]) == 0
        assert expect in capsys.readouterr().out


@pytest.mark.parametrize("model", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_run_prints_answer_probabilities_and_kept_tokens(capsys, cache_env, tmp_path, model):
    record = tmp_path / "run.json"
    code = main(
        [
            "run",
            "--model",
            model,
            "--schedule",
            "random@2:0.5+vtw@20",
            "--max-new-tokens",
            "3",
            "--json",
            str(record),
            "--seed",
            "4",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for expect in ("answer", "first token, top 5", "visual tokens per layer: 0-1:", "random@2:0.5", "vtw@20"):
        assert expect in out
    data = json.loads(record.read_text())
    assert data["schedule"] == "random@2:0.5+vtw@20" and data["seed"] == 4
    assert data["attn_implementation"] == "sdpa" and data["dtype"] == "float32"
    assert data["visual_per_layer"][20:] == [0] * (len(data["visual_per_layer"]) - 20)
    assert len(data["stages"][0]["kept_index"][0]) == data["stages"][0]["kept"]


def test_run_with_image_file(capsys, cache_env, tmp_path):
    from horizon.images import demo_image

    demo_image().save(tmp_path / "sign.png")
    assert main(["run", "--model", "tiny-llava", "--image", str(tmp_path / "sign.png"), "--max-new-tokens", "2"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "randon@2:0.5"], "did you mean 'random'"),
        (["--schedule", "random@2:2"], "outside [0, 1]"),
        (["--image", "/no/such.png"], "does not exist"),
        (["--schedule", "random@99:0.5"], "past the model's depth"),
    ],
)
def test_run_errors_exit_2_with_message(capsys, cache_env, args, message):
    assert main(["run", "--model", "tiny-llava", *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_checkpoint_exits_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HORIZON_MODELS", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert main(["run", "--model", "llava-1.5-7b"]) == 2
    assert "no local checkpoint for model 'llava-1.5-7b'" in capsys.readouterr().err


def test_run_sgl_needs_guide(capsys, cache_env):
    assert main(["run", "--model", "tiny-llava", "--schedule", "sgl@12:0.4"]) == 2
    assert "--guide" in capsys.readouterr().err


def test_eval_on_fixture_data(capsys, cache_env, tmp_path, monkeypatch):
    from horizon.benchmarks.fixtures import write_parquet

    write_parquet("mme", tmp_path / "mme")
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path))
    out_json = tmp_path / "r.json"
    code = main(["eval", "--model", "tiny-llava", "--bench", "mme", "--schedule", "dart@2:0.29", "--limit", "2",
                 "--max-new-tokens", "2", "--json", str(out_json)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "mme · tiny-llava · dart@2:0.29 · protocol lmms-eval · 2 samples" in out and "total" in out
    data = json.loads(out_json.read_text())
    assert data["n"] == 2 and set(data["metrics"]) == {"total", "perception", "cognition"}


def test_eval_missing_data_exits_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert main(["eval", "--model", "tiny-llava", "--bench", "textvqa"]) == 2
    assert "no local data for benchmark 'textvqa'" in capsys.readouterr().err


def test_list_benchmarks(capsys):
    assert main(["list", "benchmarks"]) == 0
    out = capsys.readouterr().out
    assert "textvqa-ocr" in out and "lmms-lab/MME" in out


def test_flops_reproduces_the_unpruned_row_of_table_3(capsys):
    assert main(["flops", "--model", "llava-1.5-7b", "--text-tokens", "116"]) == 0
    out = capsys.readouterr().out
    assert " 9.21 " in out and " 346.0 " in out  # paper: 9.22 T and 346.2 MB
    assert (
        main(["flops", "--model", "llava-1.5-7b", "--schedule", "paper:llava-192:dart+random", "--text-tokens", "116"])
        == 0
    )
    out = capsys.readouterr().out
    assert "4.07" in out and "154.7" in out and "average 193.3" in out  # paper: 4.06 T, 154.2 MB
    assert main(["flops", "--model", "qwen2.5-vl-7b", "--text-tokens", "30"]) == 2
    assert "--visual-tokens" in capsys.readouterr().err


def test_report_from_records_of_many_machines(capsys, tmp_path):
    from horizon.harness.records import Record, write_record

    for device in ("h100", "a100"):
        write_record(tmp_path / "results" / device, Record(
            case="llava-1.5-7b-mme-full", model="llava-1.5-7b", benchmark="mme", schedule="full", device=device,
            dtype="float16", attn_implementation="sdpa", n=10, failures=0, metrics={"total": 1850.0},
            average_visual_tokens=576.0, label="full"))  # fmt: skip
    assert main(["report", str(tmp_path / "results"), "--out", str(tmp_path / "reports")]) == 0
    text = (tmp_path / "reports" / "report.md").read_text()
    assert "2 case records from a100, h100" in text and "| full" in text and "1850.0 (1862, -12.0)" in text
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no records" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "--layers", "0"], "--layers must be >= 1"),
        (["suite", "--rows", "0"], "--rows must be >= 1"),
        (["methods", "--geometry", "llava-1.5-13b"], "no token geometry for 'llava-1.5-13b'"),
        (["methods", "--geometry", "llava-15-7b"], "unknown model 'llava-15-7b'"),
    ],
)
def test_bench_option_errors_exit_2(capsys, args, message):
    assert main(["bench", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "eval"])
def test_json_to_a_folder_or_a_missing_folder_is_refused_before_any_work(command, tmp_path, capsys):
    from horizon.cli import main

    extra = ["--bench", "synth"] if command == "eval" else []
    for target, message in ((tmp_path, "is a folder: give a file path"), (tmp_path / "no" / "x.json", "does not exist")):
        # a model that does not exist: the check must come before loading it (or any sample)
        code = main([command, "--model", "no-such-model", *extra, "--json", str(target)])
        assert code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "eval"])
def test_max_new_tokens_zero_is_refused_the_same_way_by_run_and_eval(command, capsys):
    from horizon.cli import main

    extra = ["--bench", "synth"] if command == "eval" else []
    assert main([command, "--model", "no-such-model", *extra, "--max-new-tokens", "0"]) == 2
    assert "--max-new-tokens must be >= 1 (a count of generated tokens), got 0" in capsys.readouterr().err
