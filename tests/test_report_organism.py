"""The organisms' report section (horizon/report/organism.py): the findings' rules on hand-made records."""

from __future__ import annotations

import pytest

from horizon.report.organism import (
    band,
    budget_verdict,
    catch_up,
    equal_budget,
    horizon_verdict,
    placements,
    render_organisms,
    sweep_table,
)
from horizon.results import Record


def rec(schedule: str, acc: float, bench: str = "synth-fine", model: str = "organism-llava", n: int = 100) -> Record:
    return Record(case=f"{model}-{bench}-{schedule}", model=model, benchmark=bench, schedule=schedule, device="cpu",
                  dtype="float32", attn_implementation="sdpa", n=n, failures=0,
                  metrics={"accuracy": acc, "accuracy_cell_digit": acc}, average_visual_tokens=10.0)  # fmt: skip


def test_band() -> None:
    assert band(50, 50, 100) == pytest.approx(2 * 100 * (0.5 / 100) ** 0.5)  # 14.1 points
    assert band(100, 100, 100) == 2.0  # the floor
    with pytest.raises(ValueError, match="n must be"):
        band(50, 50, 0)


def test_catch_up_by_hand() -> None:
    # n=400: band at 50/80 % ~ 7 points. fastv leads by 30 at layer 1, by 10 at 2, within noise from 3 on
    table = {"random": {1: 50.0, 2: 60.0, 3: 70.0, 4: 80.0}, "fastv": {1: 80.0, 2: 70.0, 3: 72.0, 4: 79.0},
             "dart": {1: 60.0, 2: 62.0, 3: 68.0, 4: 81.0}}  # fmt: skip
    assert catch_up(table, [1, 2, 3, 4], 400) == (3, 30.0, 1, True)
    # a lead beyond noise at a layer other than the largest one still counts (the band is narrow near 100 %)
    near = {"random": {1: 50.0, 2: 96.0, 3: 90.0}, "fastv": {1: 56.0, 2: 100.0, 3: 90.0}}
    assert catch_up(near, [1, 2, 3], 400) == (3, 6.0, 1, True)  # 6 at layer 1 is within noise, 4 at 2 is not
    assert catch_up({"random": {1: 50.0, 2: 90.0}, "dart": {1: 55.0, 2: 90.0}}, [1, 2], 100) == (1, 0.0, -1, False)
    table["dart"][4] = 95.0  # a method still ahead at the last layer: no catch-up
    assert catch_up(table, [1, 2, 3, 4], 400)[0] is None


def test_sweep_and_budget_parsing() -> None:
    by = {r.schedule: r for r in [rec("random@1:0.125", 40), rec("dart@1:0.125", 60), rec("vtw@3", 10),
                                  rec("dart@2:0.25", 50), rec("dart@2:0.375+random@5:#18", 58),
                                  rec("dart@2:0.5+vtw@5", 45), rec("dart@2:0.3125+random@6:#18", 61),
                                  rec("fastv@2:0.25", 50), rec("full", 90)]}  # fmt: skip
    keep, layers, table = sweep_table(by)
    assert keep == "0.125" and layers == [1] and table == {"random": {1: 40}, "dart": {1: 60}}
    table = equal_budget(by)
    assert table == {"dart": {"alone": 50, "+random@5": 58, "+vtw@5": 45, "+random@6": 61}}  # fastv: no +random
    assert placements(table) == [5, 6]


def test_verdicts() -> None:
    assert horizon_verdict({"synth-global": 2, "synth-fine": 5}, {"synth-global": 3, "synth-fine": 3}).startswith(
        "**reproduced**"
    )
    assert horizon_verdict({"synth-global": 4, "synth-fine": 2}, {}).startswith("**not reproduced**")
    assert horizon_verdict({"synth-global": 2, "synth-fine": None}, {}).startswith("**reproduced** (one measure")
    assert horizon_verdict({"synth-global": None, "synth-fine": None}, {}).startswith("**undetermined**")
    assert horizon_verdict({"synth-global": None, "synth-fine": 3}, {}).startswith("**not reproduced**")
    assert budget_verdict([8.0, 1.0], [5.0, 5.0]).startswith("**reproduced**")
    assert budget_verdict([8.0, -9.0], [5.0, 5.0]).startswith("**not reproduced**")
    assert budget_verdict([1.0, 1.0], [5.0, 5.0]).startswith("**not reproduced**")  # never beyond noise


def test_render_states_each_finding() -> None:
    records = []
    for bench, (early, late) in {"synth-global": (80, 90), "synth-fine": (30, 85)}.items():
        records += [rec("full", 92, bench), rec("random@1:0.125", early, bench), rec("dart@1:0.125", early + 40, bench),
                    rec("random@6:0.125", late, bench), rec("dart@6:0.125", late + 1, bench)]  # fmt: skip
        records += [rec(f"vtw@{k}", 10 if k < (2 if bench == "synth-global" else 5) else 91, bench) for k in range(8)]
        records += [rec("dart@2:0.25", 60, bench), rec("dart@2:0.375+random@5:#18", 75, bench),
                    rec("dart@2:0.3125+random@6:#18", 59, bench)]  # fmt: skip
    text = render_organisms(records)
    assert text.count("**reproduced**") >= 3 and "withdraw horizon" in text
    assert "random from layer 5: **reproduced**" in text and "random from layer 6: **not reproduced**" in text
    row = next(line for line in text.splitlines() if line.startswith("| synth-fine ") and "dart" in line)
    assert [c.strip() for c in row.strip("|").split("|")] == ["synth-fine", "dart", "60.0", "75.0", "+15.0", "59.0",
                                                              "-1.0", "–", "–"]  # fmt: skip
    assert "not tested" in text  # the stronger-model half of finding 2
    assert render_organisms([rec("full", 90, "mme")]) == ""
