"""What a person sees while horizon works: progress bars (on a terminal only, never in what is written), Ctrl-C as
one line with exit 130 that keeps what finished (marked partial), the suite's progress lines, and the messages
that point the way (``--version``, help without markup, a selection that matched nothing, a study too small)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from horizon.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]
ORGANISM = "organism-llava"
EVAL = ("eval", "--model", ORGANISM, "--bench", "synth-global", "--limit", "12", "--max-new-tokens", "2")


def _interrupt_on_call(monkeypatch: pytest.MonkeyPatch, module: object, name: str, after: int) -> None:
    """``module.name`` presses Ctrl-C (raises KeyboardInterrupt) on its call number ``after + 1``."""
    real = getattr(module, name)
    calls = [0]

    def wrapped(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] > after:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def test_ctrl_c_in_eval_keeps_the_finished_samples_marked_partial_in_one_line(capsys, monkeypatch, tmp_path):
    import horizon.evaluation.loop as loop
    from horizon.report.runs import run_from_json

    _interrupt_on_call(monkeypatch, loop, "run", after=5)
    out = tmp_path / "x.json"
    assert main([*EVAL, "--json", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.strip() == f"horizon: interrupted after 5 of 12 samples; partial results in {out}"
    data = json.loads(out.read_text())
    assert data["partial"] is True and data["n"] == 5 and data["total"] == 12 and len(data["samples"]) == 5
    assert "interrupted after 5 of 12 samples" in data["interrupted"] and data["metrics"]
    run = run_from_json(out.read_text(), str(out))  # what horizon compare reads: never taken for a whole run
    assert run.partial and run.partial_note == "partial: 5 of 12 samples"


def test_ctrl_c_under_several_seeds_keeps_the_seeds_that_finished(capsys, monkeypatch, tmp_path):
    import horizon.evaluation.loop as loop

    _interrupt_on_call(monkeypatch, loop, "run", after=12 + 3)  # seed 0 whole, 3 samples of seed 1
    out = tmp_path / "x.json"
    assert main([*EVAL, "--schedule", "random@2:0.25", "--json", str(out)]) == 130
    assert capsys.readouterr().err.strip() == f"horizon: interrupted after 15 of 36 sample runs; partial results in {out}"
    data = json.loads(out.read_text())
    assert data["partial"] is True and data["seeds"] == [0] and data["n"] == 12
    assert "seed 1 (2 of 3)" in data["interrupted"] and "kept whole" in data["interrupted"]


def test_ctrl_c_without_json_says_nothing_was_written_and_how_to_keep_it(capsys, monkeypatch):
    import horizon.evaluation.loop as loop

    _interrupt_on_call(monkeypatch, loop, "run", after=2)
    assert main(list(EVAL)) == 130
    err = capsys.readouterr().err
    assert "interrupted after 2 of 12 samples; nothing was written (give --json FILE" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_ctrl_c_anywhere_else_is_one_line_and_exit_130(capsys, monkeypatch):
    import horizon.models.loading

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(horizon.models.loading, "load_model", stop)
    assert main(list(EVAL)) == 130
    assert capsys.readouterr().err == "horizon: interrupted\n"


def test_ctrl_c_in_an_information_study_keeps_the_finished_maps_as_a_partial_study(capsys, monkeypatch, tmp_path):
    import horizon.evaluation.study as study

    _interrupt_on_call(monkeypatch, study, "information_map", after=3)
    code = main(["info", "--model", ORGANISM, "--bench", "synth-global", "--samples", "8", "--layers", "0,4",
                 "--methods", "random", "--keeps", "0.5", "--out", str(tmp_path)])  # fmt: skip
    assert code == 130
    err = capsys.readouterr().err
    assert "interrupted after 3 of 8 samples' maps; no accuracies" in err and "Traceback" not in err
    data = json.loads((tmp_path / f"info-{ORGANISM}-synth-global.partial.json").read_text())
    assert data["n"] == 3 and data["partial"] and data["withdraw"] == {} and data["full"] is None
    assert (tmp_path / f"info-{ORGANISM}-synth-global.partial.md").read_text().startswith("**Partial study**")
    assert not (tmp_path / f"info-{ORGANISM}-synth-global.json").exists()  # never where a whole study goes


def test_ctrl_c_in_training_points_at_the_checkpoint_that_resumes_it(capsys, monkeypatch, tmp_path):
    import horizon.organism.train as train

    _interrupt_on_call(monkeypatch, train, "make_batch", after=2)
    code = main(["organism", "train", ORGANISM, "--out", str(tmp_path), "--pretrain-steps", "0", "--steps", "5",
                 "--batch", "1", "--warmup", "1", "--eval-rows", "0", "--checkpoint-every", "1"])  # fmt: skip
    assert code == 130
    err = capsys.readouterr().err
    assert f"interrupted at step 2 of 5; {tmp_path / 'checkpoint.pt'} holds the training up to its last" in err
    assert (tmp_path / "checkpoint.pt").exists()


def test_ctrl_c_in_the_doctor_names_the_models_kept(capsys, monkeypatch, tmp_path):
    import horizon.doctor

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(horizon.doctor, "checks_of", stop)
    assert main(["doctor", "--models", "tiny-llava", "--no-numbers", "--json", str(tmp_path / "d.json")]) == 130
    assert "horizon: interrupted after 0 of 1 models\n" in capsys.readouterr().err


def test_the_bar_shows_on_a_terminal_only_and_never_in_what_is_written(capsys, monkeypatch, tmp_path):
    from horizon.cli.progress import shown

    out = tmp_path / "x.json"
    short = [*EVAL[:5], "--limit", "3", *EVAL[7:]]
    assert main([*short, "--json", str(out)]) == 0  # captured output is not a terminal: no bar
    quiet = capsys.readouterr()
    assert "sample/s" not in quiet.err + quiet.out and "3/3" not in quiet.err
    monkeypatch.setenv("HORIZON_PROGRESS", "always")  # as on a terminal
    assert main([*short, "--json", str(out)]) == 0
    bar = capsys.readouterr()
    assert "3/3" in bar.err and "sample" in bar.err and "3/3" not in bar.out
    assert "sample/s" not in out.read_text() and "%|" not in out.read_text()
    monkeypatch.setenv("HORIZON_PROGRESS", "sometimes")
    with pytest.raises(ValueError, match=r"\$HORIZON_PROGRESS='sometimes': give one of auto, always, never"):
        shown()


def test_version_and_help_without_markup(capsys):
    import horizon

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"horizon {horizon.__version__}"
    parser = build_parser()
    texts = [parser.format_help()]
    sub = next(a for a in parser._actions if a.dest == "command")
    texts += [sub.choices[name].format_help() for name in COMMANDS]  # type: ignore[attr-defined]
    for text in texts:
        assert "``" not in text and ":class:" not in text and ":func:" not in text


def test_a_study_too_small_to_place_a_horizon_says_so():
    from horizon.cli.info import small_n_warning

    small = SimpleNamespace(n=8, full=90.0, withdraw={0: 80.0, 4: 85.0}, withdraw_horizon=0)
    said = small_n_warning(small)  # type: ignore[arg-type]
    assert "8 samples detect only a withdrawal that costs at least 75 points" in said and "first measured" in said
    assert small_n_warning(SimpleNamespace(n=800, full=90.0, withdraw={0: 80.0, 4: 85.0}, withdraw_horizon=4)) == ""  # type: ignore[arg-type]
    assert "noise" in small_n_warning(SimpleNamespace(n=30, full=90.0, withdraw={0: 1.0, 4: 85.0}, withdraw_horizon=4))  # type: ignore[arg-type]


def test_the_suites_progress_lines(capsys, monkeypatch):
    sys.path.insert(0, str(ROOT))
    from suite.progress import GroupProgress

    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # as in a session without xdist (no worker prefix)
    now = [0.0]

    def config(setting: str) -> SimpleNamespace:
        return SimpleNamespace(getoption=lambda _: setting, pluginmanager=SimpleNamespace(getplugin=lambda _: None))

    shown = GroupProgress(config("always"), clock=lambda: now[0])  # type: ignore[arg-type]
    with shown("organism-llava · synth-global: a sweep group of 13 cases on 96 samples", 96) as step:
        for _ in range(6):
            now[0] += 8.0
            step(16)
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert lines[0] == "organism-llava · synth-global: a sweep group of 13 cases on 96 samples ..."
    assert "on 96 samples: 48/96 done, 24 s, 2.00/s, about 24 s left" in lines[1] and len(lines) == 3
    assert lines[-1].endswith("96/96 done in 48 s")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")  # an xdist worker's lines say which worker
    with GroupProgress(config("always"), clock=lambda: now[0])("x", 2) as step:  # type: ignore[arg-type]
        step(2)
    assert capsys.readouterr().err.splitlines()[1] == "[gw1] x ..."
    for setting in ("never", "auto"):  # auto: captured stderr is not a terminal
        with GroupProgress(config(setting), clock=lambda: now[0])("x", 2) as step:  # type: ignore[arg-type]
            step(2)
        assert capsys.readouterr().err == ""


def test_a_selection_that_matched_nothing_says_how_ids_read():
    from horizon.harness.session import nothing_selected_hint

    ids = ["organism-llava-synth-global-dart@2:0.25", "tiny-llava-mme-full"]
    said = nothing_selected_hint("orgnism and dart", "", ids)
    assert "no test matched -k 'orgnism and dart'" in said and "organism-llava-synth-global-dart@2:0.25" in said
    assert "no id holds 'orgnism' (close: organism)" in said and "'dart'" not in said.split("close")[0][-30:]
    ran = subprocess.run([sys.executable, "-m", "pytest", "suite/test_matrix.py", "-q", "-p", "no:cacheprovider",
                          "-n", "0", "-k", "nonexistent"], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ran.returncode == 5 and "no test matched -k 'nonexistent': a case id reads" in ran.stdout


def test_missing_weights_and_data_name_the_hf_command_and_data_option(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("HORIZON_MODELS", raising=False)
    monkeypatch.delenv("HORIZON_DATA", raising=False)
    assert main(["run", "--model", "llava-1.5-7b"]) == 2
    err = capsys.readouterr().err
    assert "hf download llava-hf/llava-1.5-7b-hf --local-dir $HORIZON_MODELS/llava-1.5-7b" in err
    assert main(["eval", "--model", ORGANISM, "--bench", "textvqa", "--limit", "1"]) == 2
    err = capsys.readouterr().err
    assert "hf download lmms-lab/textvqa --repo-type dataset --local-dir $HORIZON_DATA/textvqa" in err
    assert "--data PATH" in err and "huggingface-cli" not in err
