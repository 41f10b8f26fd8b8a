"""The paired regression gate (horizon/stats/gate.py) inside the baseline comparison (horizon/harness/baselines.py)."""

from __future__ import annotations

import pytest

from horizon.files import write_atomic
from horizon.harness.baselines import (
    BaselineError,
    BaselineFile,
    CaseBaseline,
    Tolerance,
    band,
    compare,
    dumps,
    load,
    loads,
    shard_path,
)
from horizon.harness.merge import merge_session
from horizon.metrics import percent, table
from horizon.stats.gate import detects, paired_gate

DECLARED = table((percent("accuracy"),))
UNITS = {f"s{i:02d}": 1.0 if i < 67 else 0.0 for i in range(96)}  # 69.8 % on 96 units


def _with_flips(k: int, back: int = 0) -> dict[str, float]:
    """``k`` right answers turned wrong and ``back`` wrong ones right."""
    out = dict(UNITS)
    for i in range(k):
        out[f"s{i:02d}"] = 0.0
    for i in range(back):
        out[f"s{95 - i:02d}"] = 1.0
    return out


def _check(units: dict[str, float]) -> list[str]:
    acc = 100 * sum(units.values()) / len(units)
    expected = CaseBaseline(96, {"accuracy": 100 * sum(UNITS.values()) / 96}, 0, UNITS)
    return compare("c", {"accuracy": acc}, expected, Tolerance(), DECLARED, n=96, units=units, unit_metric="accuracy")


def test_eight_flips_of_96_fail_the_gate_where_the_band_lets_them_pass():
    assert band("percent", 69.8, 96, Tolerance()) > 13  # the old band: a 13-point drop passes
    (problem,) = _check(_with_flips(8))
    assert "accuracy dropped by 8.33 points on the same 96 units" in problem
    assert "8 answers turned wrong, 0 turned right" in problem and "p = 0.0078 < 0.01" in problem
    assert _check(_with_flips(7)) == []  # 2 x 0.5^7 = 0.016: not at alpha 0.01
    assert _check(dict(UNITS)) == []  # an honest re-run changes no unit


def test_flips_both_ways_are_noise_not_a_drop():
    assert _check(_with_flips(6, back=5)) == []


def test_detects_is_the_exact_threshold():
    assert detects(96) == pytest.approx(100 * 8 / 96)
    assert detects(5) == 100.0  # too few units: nothing is caught for certain
    assert paired_gate("c", "accuracy", UNITS, _with_flips(8), alpha=0.05)  # 8 >= 6 at 0.05 too


def test_other_units_are_a_changed_sample_set():
    other = {("t" + k[1:]): v for k, v in UNITS.items()}
    (problem,) = paired_gate("c", "accuracy", UNITS, other)
    assert "the samples changed" in problem and "re-record" in problem


def test_a_baseline_without_units_keeps_its_bands_only():
    old = CaseBaseline(96, {"accuracy": 69.79}, 0)
    assert compare("c", {"accuracy": 61.46}, old, Tolerance(), DECLARED, n=96, units=_with_flips(8),
                   unit_metric="accuracy") == []  # fmt: skip


CASE_C = "organism-llava-synth-fine-c"


def test_units_round_trip_with_their_detectable_drop_and_merge(tmp_path):
    bf = BaselineFile("cpu", "organism-llava", "synth-fine").with_case(CASE_C, 96, {"accuracy": 69.79}, 0, UNITS)
    data = loads(dumps(bf), "x")
    assert data.cases[CASE_C].units == UNITS and data.tolerance.paired_alpha == 0.01
    assert '"detects_drop": 8.33' in dumps(bf)
    path = tmp_path / "synth-fine.json"
    write_atomic(shard_path(path, "1x1-gw0"), dumps(bf))
    merge_session(tmp_path, "1x1", replace_damaged=False)
    assert load(path).cases[CASE_C].units == UNITS


def test_a_bad_paired_alpha_is_refused():
    with pytest.raises(BaselineError, match="paired_alpha must be in"):
        Tolerance(paired_alpha=0.0)


def test_planted_drops_are_measured_on_real_records(tmp_path):
    from horizon.harness.check import baseline_path
    from horizon.harness.gate_power import gate_power, planted
    from horizon.harness.records import Record

    assert planted({"a": 1.0, "b": 0.0, "c": 1.0}, 1) == {"a": 0.0, "b": 0.0, "c": 1.0}
    record = Record(case="organism-llava-synth-fine-full", model="organism-llava", benchmark="synth-fine",
                    schedule="full", device="cpu", dtype="float32", attn_implementation="sdpa", n=96, failures=0,
                    metrics={"accuracy": 100 * 67 / 96}, average_visual_tokens=144.0,
                    samples=[[u, "x", v] for u, v in UNITS.items()])  # fmt: skip
    path = baseline_path(tmp_path, record)
    write_atomic(path, dumps(BaselineFile("cpu", "organism-llava", "synth-fine").with_case(
        record.case, 96, {"accuracy": 100 * 67 / 96, "visual_tokens": 144.0}, 0, UNITS)))  # fmt: skip
    (power,) = gate_power([record], tmp_path)
    width = band("percent", 100 * 67 / 96, 96, Tolerance())
    assert power.band_drop == pytest.approx(100 * (int(width * 96 / 100) + 1) / 96)  # the first k past the band
    assert power.gate_drop == pytest.approx(100 * 8 / 96) and not power.false_alarm


def test_units_are_kept_compactly_once_per_file():
    from horizon.harness.baseline_units import decode, encode

    shared: dict[str, list[str]] = {}
    binary = encode({"b": 1.0, "a": 0.0, "c": 1.0}, shared)
    scores = encode({"a": 0.5, "b": 1 / 3, "c": 1.0}, shared)
    assert binary["values"] == "011" and scores["values"] == "0.5 0.3333 1"
    assert binary["ids"] == scores["ids"] and list(shared.values()) == [["a", "b", "c"]]
    assert decode(binary, shared) == {"a": 0.0, "b": 1.0, "c": 1.0}
    assert decode(scores, shared) == {"a": 0.5, "b": 0.3333, "c": 1.0}
    with pytest.raises(ValueError, match="2 unit values for 3 unit ids"):
        decode({"ids": binary["ids"], "values": "01"}, shared)
    with pytest.raises(ValueError, match="not in the file's unit_ids"):
        decode({"ids": "nope", "values": "011"}, shared)
    text = dumps(BaselineFile("cpu", "m", "b").with_case("m-b-x", 3, {"accuracy": 1.0}, 0, {"a": 1.0, "b": 0.0, "c": 1.0})
                 .with_case("m-b-y", 3, {"accuracy": 1.0}, 0, {"a": 0.0, "b": 0.0, "c": 1.0}))  # fmt: skip
    assert text.count('"a"') == 1 and '"values": "101"' in text and '"values": "001"' in text
    with pytest.raises(BaselineError, match="x: case 'm-b-x': 2 unit values for 3 unit ids"):
        loads(text.replace('"values": "101"', '"values": "10"'), "x")
