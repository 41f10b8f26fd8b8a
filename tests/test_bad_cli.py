"""Issue #15: a bad ``horizon`` input ends in ``horizon: error: ...`` (exit 2) naming the value and what is allowed,
before any model or sample loads; a legal but surprising one is said out loud (``horizon: note: ...``).

Most tests forbid the expensive steps (``forbid``): reaching one fails the test, so each refusal is shown to come
first. The few that run use the shipped 8-layer organism (a second on this CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from horizon.cli import main

ORGANISM = "organism-llava"  # 8 decoder layers (0..7), 144 visual tokens, a 61-token vocabulary


def _fail(step: str) -> object:
    def called(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{step} ran before the bad input was refused")

    return called


@pytest.fixture
def forbid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a model, loading samples and evaluating fail the test."""
    import horizon.benchmarks.samples
    import horizon.evaluation.loop
    import horizon.models.loading

    monkeypatch.setattr(horizon.models.loading, "load_model", _fail("load_model"))
    monkeypatch.setattr(horizon.benchmarks.samples, "load_samples", _fail("load_samples"))
    monkeypatch.setattr(horizon.evaluation.loop, "evaluate", _fail("evaluate"))


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``horizon ARGV`` exits 2; returns its one error line."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("horizon: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def ran(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``horizon ARGV`` exits 0; returns its notes (stderr)."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 0, err
    return err


EVAL = ("eval", "--model", ORGANISM, "--bench", "mme", "--limit", "2", "--max-new-tokens", "1")
RUN = ("run", "--model", ORGANISM, "--max-new-tokens", "1")


# 1. a schedule past the model's depth: refused once, before samples or the model load


@pytest.mark.parametrize("command", [EVAL, RUN])
def test_schedule_past_the_depth_is_refused_before_loading(capsys, forbid, command):
    err = refused(capsys, *command, "--schedule", "random@8:0.5")
    assert "random@8:0.5 prunes at layer 8" in err and "layers are 0..7 (organism-llava has 8 decoder layers)" in err


def test_schedule_past_the_depth_of_a_checkpoint_folder_is_refused_before_evaluating(capsys, monkeypatch, tmp_path):
    """A folder has no preset to read the depth from: the loaded model's is checked, before any sample runs."""
    import horizon.evaluation.loop
    from horizon.benchmarks.fixtures import write_parquet
    from horizon.models.loading import BUNDLED

    write_parquet("mme", tmp_path / "mme")
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path))
    monkeypatch.setattr(horizon.evaluation.loop, "evaluate", _fail("evaluate"))
    err = refused(capsys, *EVAL[:2], str(BUNDLED / ORGANISM), *EVAL[3:], "--schedule", "random@2:0.5+vtw@9")
    assert "vtw@9 prunes at layer 9" in err and "layers are 0..7 (organism-llava has 8 decoder layers)" in err


@pytest.mark.parametrize(
    ("model", "schedule", "message"),
    [
        (ORGANISM, "dart@0:0.5", "dart reads the layer before the pruning layer, so it prunes at layer >= 1"),
        (ORGANISM, "random@2:#500", "keeps 500 visual tokens but only 144 of 144 survive to layer 2"),
        ("organism-qwen2.5-vl", "random@2:0.5/reindex", "re-indexed positions are defined for 1-D RoPE"),
        (ORGANISM, "randon@2:0.5", "did you mean 'random'"),
    ],
)
def test_schedule_the_model_cannot_run_is_refused_before_loading(capsys, forbid, model, schedule, message):
    for command in (EVAL, RUN):
        assert message in refused(capsys, command[0], "--model", model, *command[3:], "--schedule", schedule)


# 2. the oracle needs gold answers (eval); SGL needs a guide (run)


def test_run_refuses_the_oracle_and_points_to_eval(capsys, forbid):
    err = refused(capsys, *RUN, "--schedule", "random@1:0.5+oracle@3:0.25")
    assert "oracle@3:0.25 ranks visual tokens by their information" in err and "gold answer" in err
    assert "horizon eval --bench BENCH --schedule 'random@1:0.5+oracle@3:0.25'" in err


def test_eval_refuses_sgl_and_points_to_run(capsys, forbid):
    err = refused(capsys, *EVAL, "--schedule", "sgl@2:0.5")
    assert "needs a guide model" in err and "horizon run --schedule 'sgl@2:0.5' --guide MODEL" in err


def test_run_checks_the_guide_before_loading(capsys, forbid):
    assert "give its guide model with --guide MODEL" in refused(capsys, *RUN, "--schedule", "sgl@2:0.5")
    err = refused(capsys, *RUN, "--schedule", "sgl@2:0.5", "--guide", "tiny-lava")
    assert err.startswith("horizon: error: --guide: unknown model 'tiny-lava'; did you mean 'tiny-llava'?")


# 3. an empty schedule is refused; a keep of zero runs and is said out loud


@pytest.mark.parametrize(
    "command", [EVAL, RUN, ("flops", "--model", "llava-1.5-7b", "--text-tokens", "116")], ids=["eval", "run", "flops"]
)
@pytest.mark.parametrize("empty", ["", "  "])
def test_empty_schedule_is_refused(capsys, forbid, command, empty):
    err = refused(capsys, *command, "--schedule", empty)
    assert "--schedule is empty" in err and "'full' for the unpruned model" in err


def test_keep_zero_runs_and_says_what_it_means(capsys):
    notes = ran(capsys, *RUN, "--schedule", "random@2:#0", "--guide", "tiny-llava")
    assert "horizon: note: random@2:#0 keeps 0 visual tokens: from layer 2 on the model sees no visual token" in notes
    assert "as vtw@2 (withdraw all) does" in notes
    assert "horizon: note: --guide/--guide-path are not used: schedule random@2:#0 has no sgl stage" in notes


def test_a_fraction_that_rounds_to_zero_is_said_out_loud_before_loading(capsys, monkeypatch, forbid):
    import horizon.benchmarks.samples

    def no_data(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("no data here")

    monkeypatch.setattr(horizon.benchmarks.samples, "load_samples", no_data)  # the first step after the checks
    assert main([*EVAL, "--schedule", "random@2:0.001"]) == 2
    err = capsys.readouterr().err
    assert "horizon: note: random@2:0.001 keeps 0 visual tokens (0.001 of 144 rounds to 0): from layer 2 on" in err
    assert err.index("horizon: note:") < err.index("horizon: error: no data here")


# 4. horizon report: records that are not records, an output folder that is a file


def _record_folder(folder: Path) -> Path:
    from horizon.harness.records import Record, write_record

    write_record(folder, Record(
        case="tiny-llava-mme-full", model="tiny-llava", benchmark="mme", schedule="full", device="cpu",
        dtype="float32", attn_implementation="sdpa", n=2, failures=0, metrics={"total": 100.0},
        average_visual_tokens=576.0, label="full"))  # fmt: skip
    return folder


@pytest.mark.parametrize(("text", "kind"), [("5", "a JSON number, 5"), ("[1, 2]", "a JSON array, [1, 2]"),
                                            ("null", "a JSON null"), ('"x"', 'a JSON string, "x"')])  # fmt: skip
def test_report_names_a_json_file_that_is_no_record(capsys, tmp_path, text, kind):
    results = _record_folder(tmp_path / "results")
    (results / "cpu" / "five.json").write_text(text + "\n")
    err = refused(capsys, "report", str(results), "--out", str(tmp_path / "out"))
    assert f"{results / 'cpu' / 'five.json'}: not a horizon record ({kind}" in err and "a JSON object" in err


def test_report_names_a_binary_record_file(capsys, tmp_path):
    results = _record_folder(tmp_path / "results")
    (results / "cpu" / "image.json").write_bytes(b"\x89PNG\r\n")
    err = refused(capsys, "report", str(results), "--out", str(tmp_path / "out"))
    assert f"{results / 'cpu' / 'image.json'}: not a horizon record (cannot be read as JSON text" in err


def test_report_of_a_file_asks_for_its_folder(capsys, tmp_path):
    (tmp_path / "five.json").write_text("5\n")
    err = refused(capsys, "report", str(tmp_path / "five.json"))
    assert "is a file: horizon report reads a folder of records" in err and repr(str(tmp_path)) in err
    assert "does not exist" in refused(capsys, "report", str(tmp_path / "missing"))


def test_report_refuses_an_output_folder_that_is_a_file(capsys, tmp_path):
    results = _record_folder(tmp_path / "results")
    (tmp_path / "taken").write_text("x\n")
    err = refused(capsys, "report", str(results), "--out", str(tmp_path / "taken"))
    assert f"--out {str(tmp_path / 'taken')!r} is a file: give a folder" in err
    err = refused(capsys, "report", str(results), "--out", str(tmp_path / "taken" / "sub"))
    assert f"is inside {str(tmp_path / 'taken')!r}, which is a file" in err
    err = refused(capsys, "report", str(results), "--out", str(results / "report"))
    assert "is inside the records folder" in err
    assert not (tmp_path / "taken" / "sub").exists() and (tmp_path / "taken").read_text() == "x\n"


def test_report_says_when_a_given_input_folder_is_missing(capsys, tmp_path):
    results = _record_folder(tmp_path / "results")
    notes = ran(capsys, "report", str(results), "--out", str(tmp_path / "out"), "--paper", str(tmp_path / "no"),
                "--baselines", str(tmp_path / "none"))  # fmt: skip
    assert f"--paper {str(tmp_path / 'no')!r} is not a folder: the report has no paper values" in notes
    assert f"--baselines {str(tmp_path / 'none')!r} is not a folder: the report has no regressions section" in notes


def test_report_names_a_damaged_paper_table(capsys, tmp_path):
    results = _record_folder(tmp_path / "results")
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "table3.json").write_text("5\n")
    err = refused(capsys, "report", str(results), "--out", str(tmp_path / "out"), "--paper", str(tmp_path / "paper"))
    assert f"{tmp_path / 'paper' / 'table3.json'}: not one of the paper's tables" in err


# 5. horizon flops: numbers out of range


FLOPS = ("flops", "--model", "llava-1.5-7b", "--text-tokens", "116")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*FLOPS, "--kv-bytes", "0"), "--kv-bytes must be >= 1 (bytes per cached value: 2 for fp16/bf16"),
        ((*FLOPS, "--kv-bytes", "-2"), "--kv-bytes must be >= 1"),
        (("flops", "--model", "llava-1.5-7b", "--text-tokens", "0"), "--text-tokens must be >= 1"),
        ((*FLOPS, "--visual-tokens", "-1"), "--visual-tokens must be >= 0"),
        ((*FLOPS, "--schedule", "foo@2:0.5"), "unknown method 'foo'"),
        ((*FLOPS, "--schedule", "random@32:0.5"), "layers are 0..31 (llava-1.5-7b has 32 decoder layers)"),
        (("flops", "--table3", "--text-tokens", "-5"), "--text-tokens must be >= 1"),
        (("flops", "--table3", "--kv-bytes", "1"), "--kv-bytes does not apply"),
        (("flops", "--table3", "--schedule", "random@2:0.5"), "--schedule does not apply"),
    ],
)
def test_flops_refuses_bad_numbers(capsys, args, message):
    assert message in refused(capsys, *args)


def test_kv_cache_bytes_refuses_a_bad_value_size():
    from horizon.efficiency.flops import kv_cache_bytes
    from horizon.models.presets import MODELS

    arch = MODELS.get("llava-1.5-7b").arch
    with pytest.raises(ValueError, match="bytes per cached value must be > 0"):
        kv_cache_bytes(arch, [10] * arch.layers, 0)


# 6. --top-k, and the other counts of run and eval


@pytest.mark.parametrize(
    ("command", "option", "value", "message"),
    [
        (RUN, "--top-k", "-1", "--top-k must be >= 1 (first-token probabilities to show), got -1"),
        (RUN, "--top-k", "0", "--top-k must be >= 1"),
        (RUN, "--seed", "-1", "--seed must be a whole number from 0 to 2**63 - 1"),
        (EVAL, "--seed", "-1", "--seed must be a whole number from 0 to 2**63 - 1"),
        (EVAL, "--limit", "0", "--limit must be >= 1 (a number of samples), got 0"),
        (EVAL, "--batch", "0", "--batch must be >= 1"),
        (RUN, "--model", "organism-lava", "--model: unknown model 'organism-lava'; did you mean 'organism-llava'?"),
        (EVAL, "--model", "organism-lava", "--model: unknown model 'organism-lava'"),
    ],
)
def test_bad_counts_are_refused_before_loading(capsys, forbid, command, option, value, message):
    assert message in refused(capsys, *command, option, value)


def test_top_k_past_the_vocabulary_shows_all_of_it(capsys):
    notes = ran(capsys, *RUN, "--top-k", "100")
    assert "horizon: note: --top-k 100 is more than organism-llava's vocabulary of 61 tokens: showing all 61" in notes


# 7. --device (and --dtype, --attn) before anything loads


@pytest.mark.parametrize("command", [EVAL, RUN], ids=["eval", "run"])
@pytest.mark.parametrize(("option", "value"), [("--device", "gpu"), ("--device", "meta"), ("--dtype", "fp16"),
                                               ("--attn", "flash")])  # fmt: skip
def test_bad_model_options_are_refused_before_loading(capsys, forbid, command, option, value):
    assert repr(value) in refused(capsys, *command, option, value)


# horizon bench: counts and model names before any model loads


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bench", "engine", "--repeats", "0"), "--repeats must be >= 1"),
        (("bench", "suite", "--repeats", "0"), "--repeats must be >= 1"),
        (("bench", "suite", "--rows", "0"), "--rows must be >= 1"),
        (("bench", "info", "--layers", "0"), "--layers must be >= 1"),
        (("bench", "engine", "--models", ""), "--models '' names no model"),
        (("bench", "info", "--models", ","), "--models ',' names no model"),
        (("bench", "methods", "--geometry", ""), "--geometry '' names no model"),
        (
            ("bench", "engine", "--models", "tiny-lava"),
            "--models: unknown model 'tiny-lava'; did you mean 'tiny-llava'",
        ),
        (("bench", "suite", "--organisms", "nope"), "--organisms: unknown model 'nope'"),
        (("bench", "methods", "--geometry", "foo"), "unknown model 'foo'"),
    ],
)
def test_bench_refuses_bad_options_before_loading(capsys, forbid, args, message):
    assert message in refused(capsys, *args)


def test_a_keep_a_method_refuses_is_refused_before_loading_and_not_noted(capsys, forbid):
    code = main([*EVAL, "--schedule", "sparsevlm@3:0"])
    err = capsys.readouterr().err
    assert code == 2 and "sparsevlm@3:0: sparsevlm keeps at least 1 visual token(s); use vtw@3 to drop them all" in err
    assert "note:" not in err  # no "keeps 0 visual tokens" note before the refusal


@pytest.mark.parametrize("command", ["eval", "run"])
def test_a_protocol_is_checked_before_loading(capsys, forbid, command):
    base = (command, "--model", "tiny-qwen2.5-vl") + (("--bench", "mme") if command == "eval" else ())
    err = refused(capsys, *base, "--protocol", "paper")
    assert "protocol 'paper' is defined for llava models only" in err and "--protocol lmms-eval" in err
    err = refused(capsys, *base, "--protocol", "papers")
    assert "--protocol: unknown protocol 'papers'; did you mean 'paper'?" in err


# stand-ins: only for real checkpoint presets, never with a checkpoint folder, at the stand-in's own depth


@pytest.mark.parametrize("command", ["eval", "info"])
def test_stand_ins_refuse_a_model_with_none(capsys, forbid, command):
    line = refused(capsys, command, "--model", "tiny-llava", "--bench", "mme", "--stand-ins")
    assert "--stand-ins: 'tiny-llava' is not a real checkpoint preset" in line and "llava-1.5-7b" in line


@pytest.mark.parametrize("command", ["eval", "info"])
def test_stand_ins_refuse_a_checkpoint_folder(capsys, forbid, command, tmp_path):
    line = refused(capsys, command, "--model", "llava-1.5-7b", "--path", str(tmp_path), "--bench", "mme", "--stand-ins")
    assert "--stand-ins builds the stand-in locally: --path" in line


def test_stand_in_info_layers_are_the_real_depth(capsys, forbid):
    line = refused(capsys, "info", "--model", "qwen2.5-vl-7b", "--bench", "textvqa", "--stand-ins", "--layers", "0,28")
    assert "--layers '0,28': layers must be in 0..27 (got [28])" in line


def test_stand_in_schedule_past_the_real_depth_is_refused(capsys, forbid):
    line = refused(capsys, "eval", "--model", "llava-1.5-7b", "--bench", "mme", "--stand-ins", "--schedule", "random@32:0.5")
    assert "32" in line


# 9. the smaller ones of issue 32 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [EVAL, RUN, ("info", "--model", ORGANISM, "--bench", "mme", "--samples", "2")])
def test_a_seed_past_64_bits_is_refused_before_loading(capsys, forbid, command):
    line = refused(capsys, *command, "--seed", "99999999999999999999")
    assert "--seed must be a whole number from 0 to 2**63 - 1" in line and "Overflow" not in line


@pytest.mark.parametrize("question", ["", "   "])
def test_an_empty_question_is_refused(capsys, forbid, question):
    assert f"--question {question!r} is empty" in refused(capsys, *RUN, "--question", question)


def test_an_image_that_is_a_folder_says_so(capsys, forbid, tmp_path):
    assert f"image '{tmp_path}' is a folder: give an image file" in refused(capsys, *RUN, "--image", str(tmp_path))


def test_an_image_the_processor_refuses_is_named(capsys, tmp_path):
    from PIL import Image

    path = tmp_path / "strip.png"
    Image.new("RGB", (5000, 20)).save(path)  # Qwen's processor refuses an aspect ratio over 200
    line = refused(capsys, "run", "--model", "organism-qwen2.5-vl", "--max-new-tokens", "1", "--image", str(path))
    assert f"image '{path}': organism-qwen2.5-vl's processor refuses it" in line


def test_an_unreadable_image_names_no_memory_address():
    from horizon.images import ImageError, decode

    with pytest.raises(ImageError) as first:
        decode(b"not an image", "sample 3")
    with pytest.raises(ImageError) as second:
        decode(b"not an image", "sample 3")
    assert "BytesIO" not in str(first.value) and str(first.value) == str(second.value)  # one failure reads as one


def test_report_on_json_that_is_not_a_record_says_what_it_is(capsys, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.json").write_text('{"benchmark": "mme", "metrics": {}}')
    line = refused(capsys, "report", str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert "not a horizon record (a JSON object without schema_version; its keys: benchmark, metrics)" in line


def test_a_limit_above_the_split_is_said(capsys, monkeypatch):
    """Three samples on disk, --limit 100000: all three run, and the command says so (before the model loads)."""
    import horizon.benchmarks.samples
    import horizon.models.loading
    from horizon.benchmarks.base import Sample

    rows = [Sample(id=f"s{k}", image=b"", question="q", target="a", group=f"s{k}") for k in range(3)]
    monkeypatch.setattr(horizon.benchmarks.samples, "load_samples", lambda bench, path=None: (rows, []))

    class Stop(Exception):
        """The note came first; nothing more is needed of this run."""

    def stop(*args: object, **kwargs: object) -> None:
        raise Stop

    monkeypatch.setattr(horizon.models.loading, "load_model", stop)
    with pytest.raises(Stop):
        main(["eval", "--model", ORGANISM, "--bench", "gqa", "--limit", "100000"])
    assert "--limit 100000 is more than the 3 samples gqa has here: all of them run" in capsys.readouterr().err
