"""``horizon compare`` (horizon/report/runs.py, horizon/report/compare.py): any two runs with per-sample rows (suite
records, ``horizon eval --json`` files, folders of either), paired on their shared samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from horizon.cli import main
from horizon.harness.records import Record, write_record
from horizon.report.compare import compare_runs, measured
from horizon.report.runs import from_record, run_from_json

BASE = [1.0] * 150 + [0.0] * 50
DROPPED = [0.0] * 20 + [1.0] * 130 + [0.0] * 50  # 20 answers turned wrong: 10 points


def _record(case: str, values: list[float], benchmark: str = "synth", **kw: Any) -> Record:
    rows = [[f"s{i}", "x", v] for i, v in enumerate(values)]
    acc = 100 * sum(values) / len(values)
    return Record(case=case, model="organism-llava", benchmark=benchmark, schedule="full", device="cpu",
                  dtype="float32", attn_implementation="sdpa", n=len(values), failures=0,
                  metrics={"accuracy": acc}, average_visual_tokens=144.0, samples=rows, **kw)  # fmt: skip


def _eval(values: list[float], schedule: str = "full", benchmark: str = "synth-global", **kw: Any) -> dict[str, Any]:
    """What ``horizon eval --json`` writes (horizon/cli/evaluate.py), for ``values`` per sample."""
    rows = [[f"0-{i}", "x" if v else "y", v] for i, v in enumerate(values)]
    return {"written_by": "horizon eval", "partial": False, "total": len(values), "benchmark": benchmark,
            "model": "organism-llava", "stand_in": False, "schedule": schedule, "protocol": "lmms-eval",
            "scorer": "synth_score", "seeds": [0], "n": len(values),
            "metrics": {"accuracy": 100 * sum(values) / len(values), "accuracy_global": 50.0}, "seed_metrics": [],
            "failures": [], "unreadable": [], "average_visual_tokens": 144.0,
            "predictions": {r[0]: r[1] for r in rows}, "samples": rows, **kw}  # fmt: skip


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def _compare(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    assert main(["compare", *argv]) == code
    return capsys.readouterr().out


# the pure comparison ---------------------------------------------------------------------------------------------


def test_a_planted_drop_is_behind_and_a_rerun_is_identical() -> None:
    runs_a = [from_record(_record("c1", BASE)), from_record(_record("c2", BASE))]
    runs_b = [from_record(_record(c, v)) for c, v in (("c1", DROPPED), ("c2", BASE), ("c3", BASE))]
    rows, only_a, only_b = compare_runs(runs_a, runs_b)
    by = {c.case: c for c in rows}
    assert by["c1"].kind == "behind" and by["c1"].paired is not None
    assert by["c1"].paired.difference == pytest.approx(-10.0) and by["c1"].paired.flips == (20, 0)
    assert by["c2"].kind == "identical" and by["c2"].verdict.startswith("identical: every one of the 200 shared units")
    assert (only_a, only_b) == ([], ["c3"])


def test_identical_values_with_other_answers_are_not_identical() -> None:
    a = run_from_json(json.dumps(_eval([1.0] * 4)), "a.json")
    other = _eval([1.0] * 4)
    other["predictions"] = {k: "X" for k in other["predictions"]}
    (c,), _, _ = compare_runs([a], [run_from_json(json.dumps(other), "b.json")], direct=True)
    assert c.kind == "inconclusive" and not c.identical


def test_the_units_say_what_they_measure() -> None:
    assert measured("synth") == "accuracy" and measured("textvqa") == "accuracy"
    assert measured("mme") == "total per group (the headline total is not their mean)"
    assert measured("pope") == "accuracy per answer (the headline f1 is not their mean)"


def test_a_group_unit_says_what_it_measures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MME's units are image pairs, scored acc + acc+: the paired row says so; the category metrics are not paired."""
    rows = [[f"q{i}#{k}", "Yes", v, f"q{i}"] for i, v in enumerate([1.0, 0.5, 0.0, 1.0]) for k in (0, 1)]
    data = {**_eval([1.0] * 8, benchmark="mme"), "samples": rows, "metrics": {"total": 120.0, "perception": 80.0}}
    out = _compare(capsys, str(_write(tmp_path / "a.json", data)), str(_write(tmp_path / "b.json", data)))
    assert "total per group (the headline total is not their mean)" in out and "identical: every one of the 4" in out
    assert "perception" in out and "not paired (the per-sample rows measure total per group" in out


def test_runs_without_samples_or_shared_units_are_said_not_compared() -> None:
    old = Record(**{**_record("c1", [1.0, 0.0]).__dict__, "samples": []})
    other = Record(**{**_record("c1", [1.0]).__dict__, "samples": [["t0", "x", 1.0]]})
    (row,) = compare_runs([from_record(old, "old.json")], [from_record(_record("c1", [1.0, 0.0]))])[0]
    assert row.paired is None and "A's suite record has no per-sample results" in row.why and "old.json" in row.why
    (row,) = compare_runs([from_record(_record("c1", [1.0, 0.0]))], [from_record(other)])[0]
    assert row.paired is None and row.kind == "not compared" and "share no unit" in row.why


# eval files, records and folders through the command ------------------------------------------------------------


def test_two_eval_files_of_different_schedules_get_a_paired_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                      ) -> None:  # fmt: skip
    a = _write(tmp_path / "full.json", _eval(BASE))
    b = _write(tmp_path / "random.json", _eval(DROPPED, schedule="random@2:0.25"))
    out = _compare(capsys, str(a), str(b), "--json", str(tmp_path / "c.json"))
    assert "synth-global: schedule full vs random@2:0.25" in out and "1 pair" in out
    assert "B behind A by 10.0 points" in out and "exact McNemar" in out and "20/0" in out and "1 behind" in out
    assert "accuracy_global" in out and "not paired (the per-sample rows measure accuracy)" in out
    assert "p < 0.05: B ahead of / behind A" in out  # the rule the verdict follows
    (c,) = json.loads((tmp_path / "c.json").read_text())["comparisons"]
    assert c["kind"] == "behind" and c["flips"] == [20, 0] and c["p_value"] < 1e-5
    assert (c["a_run"]["schedule"], c["b_run"]["schedule"]) == ("full", "random@2:0.25")
    assert [m["metric"] for m in c["metrics"] if m["paired"]] == ["accuracy"]
    _compare(capsys, str(a), str(b), "--fail-on-drop", code=1)


def test_identical_runs_say_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path / "a.json", _eval([1.0, 0.0] * 6))  # 12 samples: too few for "no significant difference"
    b = _write(tmp_path / "b.json", _eval([1.0, 0.0] * 6))
    out = _compare(capsys, str(a), str(b))
    assert "identical: every one of the 12 shared units has the same value and answer" in out
    assert "1 identical, 0 same, 0 ahead, 0 behind, 0 inconclusive" in out and "inconclusive at" not in out


def test_a_partial_run_is_flagged_wherever_it_is_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = _eval(BASE[:100])
    cut = {**_eval(BASE[:37]), "partial": True, "total": 100, "interrupted": "after 37 of 100 samples"}
    a, b = _write(tmp_path / "a.json", whole), _write(tmp_path / "b.json", cut)
    out = _compare(capsys, str(a), str(b), "--json", str(tmp_path / "c.json"))
    lines = [line for line in out.splitlines() if "b.json" in line or "accuracy" in line]
    assert lines and all("partial: 37 of 100 samples" in line for line in lines), out
    assert "63 units only in A" in out and "the pairs are the samples both hold" in out
    (c,) = json.loads((tmp_path / "c.json").read_text())["comparisons"]
    assert c["b_run"]["partial"] and c["partial"] == ["B is partial: 37 of 100 samples"] and c["n"] == 37
    assert not c["a_run"]["partial"]
    old = {k: v for k, v in whole.items() if k not in ("written_by", "partial", "total")}  # before those keys: whole
    assert not run_from_json(json.dumps(old), "old.json").partial
    # a gate never passes on a partial run, even where nothing is behind
    gate = _compare(capsys, str(a), str(a), "--fail-on-drop")
    assert "1 identical" in gate
    assert "1 comparison(s) hold a partial run" in _compare(capsys, str(a), str(b), "--fail-on-drop", code=1)
    with_counts = {**cut, "done": 37, "seeds_planned": 1}
    assert run_from_json(json.dumps(with_counts), "c.json").partial_note == "partial: 37 of 100 samples"


def test_folders_show_only_what_differs_unless_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for side, dropped in (("a", BASE), ("b", DROPPED)):
        _write(tmp_path / side / "full.json", _eval(BASE))
        _write(tmp_path / side / "vtw.json", _eval(dropped, schedule="vtw@2"))
    out = _compare(capsys, str(tmp_path / "a"), str(tmp_path / "b"))
    assert "2 shared cases" in out and "1 identical" in out and "1 behind" in out
    assert "organism-llava-synth-global-vtw@2" in out and "organism-llava-synth-global-full" not in out
    out = _compare(capsys, str(tmp_path / "a"), str(tmp_path / "b"), "--all")
    assert "organism-llava-synth-global-full" in out and "identical: every one" in out
    out = _compare(capsys, str(tmp_path / "a"), str(tmp_path / "a"))
    assert out.splitlines()[-1] == ("nothing differs: 2 identical, 0 same, 0 ahead, 0 behind, 0 inconclusive, "
                                    "0 not compared (--all lists every case)")  # fmt: skip


def test_a_record_against_an_eval_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = write_record(tmp_path / "suite", Record(**{**_record("organism-llava-synth-global-full", BASE,
                                                                  benchmark="synth-global").__dict__,
                                                        "protocol": "lmms-eval"}))  # fmt: skip
    rows = [[f"s{i}", "x", v] for i, v in enumerate(DROPPED)]  # the record's sample ids
    evalled = _write(tmp_path / "evals" / "mine.json", {**_eval(DROPPED), "samples": rows, "predictions": None})
    out = _compare(capsys, str(record), str(evalled))
    assert "suite record" in out and "horizon eval" in out and "B behind A by 10.0 points" in out
    out = _compare(capsys, str(tmp_path / "suite"), str(tmp_path / "evals"))  # matched by case id
    assert "1 shared cases" in out and "1 behind" in out


def test_the_command_on_folders_of_records_prints_a_table_and_writes_json(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    write_record(tmp_path / "a", _record("c1", BASE))
    write_record(tmp_path / "b", _record("c1", DROPPED))
    out = _compare(capsys, str(tmp_path / "a"), str(tmp_path / "b"), "--json", str(tmp_path / "c.json"))
    assert "B behind A by 10.0 points" in out and "1 behind" in out and "20/0" in out
    _compare(capsys, str(tmp_path / "a"), str(tmp_path / "b"), "--fail-on-drop", code=1)
    (c,) = json.loads((tmp_path / "c.json").read_text())["comparisons"]
    assert c["flips"] == [20, 0] and c["test"] == "exact McNemar" and c["p_value"] < 1e-5


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p / "missing.json", "B '{p}/missing.json' does not exist"),
    (lambda p: _write(p / "x.json", {"a": 1}), "neither a suite record (it has schema_version) nor a `horizon eval"),
    (lambda p: _write(p / "x.json", [1, 2]), "a JSON list, not a run"),
    (lambda p: _write(p / "x.json", {**_eval([1.0]), "samples": [["s0", "x", 2.0]]}), "sample row 0"),
    (lambda p: _write(p / "x.json", {**_eval([1.0]), "partial": "yes"}), "partial 'yes': true or false"),
    (lambda p: _write(p / "x.json", _eval([1.0], benchmark="pope")), "differ in benchmark: 'synth-global' against"),
    (lambda p: _write(p / "x.json", _eval([1.0], protocol="paper")), "differ in protocol"),
])  # fmt: skip
def test_bad_input_is_refused_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any,
                                        message: str) -> None:  # fmt: skip
    a = _write(tmp_path / "a.json", _eval([1.0]))
    b = make(tmp_path)
    assert main(["compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert message.format(p=tmp_path) in err and err.count("\n") == 1
    if "differ" in message:
        assert str(a) in err and str(b) in err


def test_a_bad_alpha_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path / "a.json", _eval([1.0]))
    assert main(["compare", str(a), str(a), "--alpha", "1.5"]) == 2
    assert "--alpha 1.5" in capsys.readouterr().err


def test_two_runs_of_one_case_in_a_folder_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "a" / "one.json", _eval([1.0]))
    _write(tmp_path / "a" / "two.json", _eval([0.0]))
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "a")]) == 2
    assert "A holds organism-llava-synth-global-full twice" in capsys.readouterr().err


def test_a_real_eval_against_another_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``horizon eval --json`` on the bundled organism, twice, then compare: the files it writes are read as they are."""
    for schedule in ("full", "vtw@1"):
        assert main(["eval", "--model", "organism-llava", "--bench", "synth-global", "--limit", "6", "--schedule",
                     schedule, "--json", str(tmp_path / f"{schedule}.json")]) == 0  # fmt: skip
    capsys.readouterr()
    out = _compare(capsys, str(tmp_path / "full.json"), str(tmp_path / "vtw@1.json"))
    assert "A = " in out and "horizon eval · organism-llava on synth-global · vtw@1" in out
    row = next(line for line in out.splitlines() if line.startswith("synth-global: schedule full vs vtw@1  accuracy "))
    verdicts = ("identical: every one of the 6", "B ahead of A", "B behind A", "inconclusive at n = 6")
    assert any(v in row for v in verdicts)


def test_a_record_round_trips_its_samples(tmp_path: Path) -> None:
    r = _record("c1", [1.0, 0.25], benchmark="mme")
    r = Record(**{**r.__dict__, "samples": [["q1#0", "Yes", 0.25, "q1"], ["q1#1", "No", 0.25, "q1"]]})
    path = write_record(tmp_path, r)
    back = Record.from_json(path.read_text(), str(path))
    assert back == r and back.units == {"q1": 0.25}
    assert '    ["q1#0", "Yes", 0.25, "q1"],' in path.read_text()  # one line per sample
