"""``horizon compare`` (horizon/report/compare.py): two runs' records, case by case, paired on shared samples."""

from __future__ import annotations

import json

import pytest

from horizon.cli import main
from horizon.harness.records import Record, write_record
from horizon.report.compare import compare_records, measured


def _record(case: str, values: list[float], benchmark: str = "synth", **kw) -> Record:
    rows = [[f"s{i}", "x", v] for i, v in enumerate(values)]
    acc = 100 * sum(values) / len(values)
    return Record(case=case, model="organism-llava", benchmark=benchmark, schedule="full", device="cpu",
                  dtype="float32", attn_implementation="sdpa", n=len(values), failures=0,
                  metrics={"accuracy": acc}, average_visual_tokens=144.0, samples=rows, **kw)  # fmt: skip


def test_a_planted_drop_is_behind_and_a_rerun_is_the_same():
    base = [1.0] * 150 + [0.0] * 50
    dropped = [0.0] * 20 + [1.0] * 130 + [0.0] * 50  # 20 answers turned wrong
    rows, only_a, only_b = compare_records([_record("c1", base), _record("c2", base)],
                                           [_record("c1", dropped), _record("c2", base), _record("c3", base)])  # fmt: skip
    by = {c.case: c for c in rows}
    assert by["c1"].paired.significant and by["c1"].paired.difference == pytest.approx(-10.0)
    assert by["c1"].paired.flips == (20, 0)
    assert by["c2"].paired.same and (only_a, only_b) == ([], ["c3"])


def test_the_units_say_what_they_measure():
    assert measured("synth") == "accuracy" and measured("textvqa") == "accuracy"
    assert measured("mme") == "total per group (the headline total is not their mean)"
    assert measured("pope") == "accuracy per answer (the headline f1 is not their mean)"


def test_records_without_samples_or_shared_units_are_said_not_compared():
    old = _record("c1", [1.0, 0.0])
    old = Record(**{**old.__dict__, "samples": []})
    other = Record(**{**_record("c1", [1.0]).__dict__, "samples": [["t0", "x", 1.0]]})
    (row,) = compare_records([old], [_record("c1", [1.0, 0.0])])[0]
    assert row.paired is None and "A's record has no per-sample results" in row.why
    (row,) = compare_records([_record("c1", [1.0, 0.0])], [other])[0]
    assert row.paired is None and "share no unit" in row.why


def test_the_command_prints_a_table_fails_on_a_drop_when_asked_and_writes_json(tmp_path, capsys):
    base = [1.0] * 150 + [0.0] * 50
    write_record(tmp_path / "a", _record("c1", base))
    write_record(tmp_path / "b", _record("c1", [0.0] * 20 + [1.0] * 130 + [0.0] * 50))
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "B behind A by 10.0 points" in out and "1 behind" in out and "20/0" in out
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--fail-on-drop"]) == 1
    (c,) = json.loads((tmp_path / "c.json").read_text())["comparisons"]
    assert c["flips"] == [20, 0] and c["test"] == "exact McNemar" and c["p_value"] < 1e-5


@pytest.mark.parametrize(("args", "message"), [(["--alpha", "1.5"], "--alpha 1.5"), ([], "does not exist")])
def test_bad_compare_input_is_refused(tmp_path, capsys, args, message):
    write_record(tmp_path / "a", _record("c1", [1.0]))
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "missing"), *args]) == 2
    assert message in capsys.readouterr().err


def test_a_record_round_trips_its_samples(tmp_path):
    r = _record("c1", [1.0, 0.25], benchmark="mme")
    r = Record(**{**r.__dict__, "samples": [["q1#0", "Yes", 0.25, "q1"], ["q1#1", "No", 0.25, "q1"]]})
    path = write_record(tmp_path, r)
    back = Record.from_json(path.read_text(), str(path))
    assert back == r and back.units == {"q1": 0.25}
    assert '    ["q1#0", "Yes", 0.25, "q1"],' in path.read_text()  # one line per sample
