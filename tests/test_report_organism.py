"""The organisms' report section (horizon/report/organism.py, organism_stats.py): the findings' paired rules on
hand-made records whose per-sample results are built so that each comparison's flips are known."""

from __future__ import annotations

import pytest

from horizon.harness.records import Record
from horizon.report.organism import horizon_verdict, render_organisms
from horizon.report.organism_capacity import FamilyCapacity, capacity_verdict, family_verdict
from horizon.report.organism_data import equal_budget, placements, sweep_table
from horizon.report.organism_stats import budget_verdict, catch_up, catch_up_verdict, paired, withdraw_horizon
from horizon.stats import compare
from horizon.stats.horizon import HorizonGap


def rec(schedule: str, acc: float, bench: str = "synth-fine", model: str = "organism-llava", n: int = 400,
        offset: int = 0) -> Record:  # fmt: skip
    """A record whose samples ``offset .. offset + acc% x n`` (cyclically) are right: two records with the same
    offset differ only by one-way flips (their accuracies' difference)."""
    right = round(acc / 100 * n)
    rows = [[f"s{i:03d}", "x", 1.0 if (i - offset) % n < right else 0.0] for i in range(n)]
    return Record(case=f"{model}-{bench}-{schedule}", model=model, benchmark=bench, schedule=schedule, device="cpu",
                  dtype="float32", attn_implementation="sdpa", n=n, failures=0,
                  metrics={"accuracy": 100 * right / n, "accuracy_cell_digit": acc}, average_visual_tokens=10.0,
                  samples=rows)  # fmt: skip


def _table(values: dict[str, dict[int, float]], n: int = 400) -> dict:
    return {m: {layer: rec(f"{m}@{layer}:0.125", a, n=n) for layer, a in v.items()} for m, v in values.items()}


def test_paired_reads_the_shared_samples():
    p = paired(rec("a", 50), rec("b", 60))
    assert p.flips == (0, 40) and p.difference == pytest.approx(10.0) and p.significant
    assert paired(rec("a", 50), Record(**{**rec("b", 60).__dict__, "samples": []})) is None


def test_catch_up_by_hand():
    # fastv leads by 30 at layer 1 and by 10 at 2; from layer 3 on it is 1 point off: not significant, and at
    # n = 400 with no background flips each comparison detects ~2 points (conclusive)
    table = _table({"random": {1: 50, 2: 70, 3: 80, 4: 80}, "fastv": {1: 80, 2: 80, 3: 81, 4: 79}})
    c = catch_up(table, [1, 2, 3, 4])
    assert (c.layer, c.lead_method, c.lead_layer) == (3, "fastv", 1) and c.lead.difference == pytest.approx(30.0)
    assert c.conclusive and c.mde < 5
    # the same at n = 40: nothing is significant; the catch-up layer is the first layer, and it decides nothing
    small = catch_up(_table({"random": {1: 50, 2: 55}, "fastv": {1: 55, 2: 55}}, n=40), [1, 2])
    assert small.layer == 1 and small.lead is None and not small.conclusive
    # still ahead at the last layer: no catch-up
    assert catch_up(_table({"random": {1: 50, 2: 50}, "dart": {1: 90, 2: 90}}), [1, 2]).layer is None
    # significantly *behind* random from layer 2 on is no better than random: caught up, and said
    below = catch_up(_table({"random": {1: 50, 2: 80, 3: 80}, "dart": {1: 70, 2: 70, 3: 70}}), [1, 2, 3])
    assert (below.layer, below.lead_layer, below.behind) == (2, 1, 2)
    assert "2 method-layer comparisons significantly behind random" in catch_up_verdict(below, "synth-fine")


def test_sweep_and_budget_parsing():
    records = [rec("random@1:0.125", 40), rec("dart@1:0.125", 60), rec("vtw@3", 10), rec("dart@2:0.25", 50),
               rec("dart@2:0.375+random@5:#18", 58), rec("dart@2:0.5+vtw@5", 45), rec("dart@2:0.3125+random@6:#18", 61),
               rec("fastv@2:0.25", 50), rec("full", 90)]  # fmt: skip
    by = {r.schedule: r for r in records}
    keep, layers, table = sweep_table(by)
    assert keep == "0.125" and layers == [1] and set(table) == {"random", "dart"} and table["dart"][1] is by["dart@1:0.125"]
    budget = equal_budget(by)
    assert set(budget) == {"dart"} and set(budget["dart"]) == {"alone", "+random@5", "+vtw@5", "+random@6"}
    assert placements(budget) == [5, 6]


def test_withdraw_horizon_is_the_first_layer_not_significantly_below_unpruned():
    full = rec("full", 90)
    curve = {k: rec(f"vtw@{k}", a) for k, a in enumerate([10, 30, 60, 89, 90, 90])}
    layer, after = withdraw_horizon(curve, full)
    assert layer == 3 and len(after) == 3  # 89 is 4 flips below 90: not significant
    assert withdraw_horizon({0: rec("vtw@0", 10)}, full) == (None, ())


def test_verdicts():
    assert horizon_verdict({"synth-global": 2, "synth-fine": 5}, {"synth-global": 3, "synth-fine": 3}).startswith(
        "**reproduced**"
    )
    assert horizon_verdict({"synth-global": 4, "synth-fine": 2}, {}).startswith("**not reproduced**")
    assert horizon_verdict({"synth-global": 2, "synth-fine": None}, {}).startswith("**reproduced** (one measure")
    assert horizon_verdict({"synth-global": None, "synth-fine": None}, {}).startswith("**undetermined**")
    ahead, behind, same = compare([0] * 400, [1] * 20 + [0] * 380), compare([1] * 400, [0] * 20 + [1] * 380), \
        compare([1] * 400, [1] * 400)  # fmt: skip
    assert budget_verdict([ahead, same]).startswith("**reproduced**")
    assert budget_verdict([ahead, behind]).startswith("**not reproduced**")
    assert budget_verdict([same, same]).startswith("**not reproduced**")  # never significantly ahead
    assert budget_verdict([compare([1, 0, 1], [1, 1, 1])]).startswith("**inconclusive at n = 3**")


def test_render_states_each_finding():
    records = []
    for bench, (early, late) in {"synth-global": (40, 90), "synth-fine": (30, 85)}.items():
        records += [rec("full", 92, bench), rec("random@1:0.125", early, bench), rec("dart@1:0.125", early + 40, bench),
                    rec("random@6:0.125", late, bench), rec("dart@6:0.125", late + 0.5, bench)]  # fmt: skip
        records += [rec(f"vtw@{k}", 10 if k < (2 if bench == "synth-global" else 5) else 91.5, bench) for k in range(8)]
        records += [rec("dart@2:0.25", 60, bench), rec("dart@2:0.375+random@5:#18", 75, bench),
                    rec("dart@2:0.3125+random@6:#18", 59, bench), rec("dart@2:0.5+vtw@5", 50, bench)]  # fmt: skip
    text = render_organisms(records)
    assert "random in place of VTW from layer 5 (M+random against M+VTW): **reproduced** (mean +25.0" in text
    assert "synth-fine: **reproduced** (dart leads random by 40.0 points at layer 1" in text
    assert "withdraw horizon global layer 2, fine layer 5" in text
    assert "random from layer 5: **reproduced**" in text and "random from layer 6: **not reproduced**" in text
    row = next(line for line in text.splitlines() if line.startswith("| synth-fine ") and "dart" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:4] == ["synth-fine", "dart", "60.0", "75.0"] and cells[4].startswith("+15.0 ([")
    assert cells[-2:] == ["50.0", "–"]  # +vtw@5, +vtw@6
    assert "exact McNemar" in text and "capacity): not tested" in text  # the rules; no weaker sibling here
    assert render_organisms([rec("full", 90, "mme")]) == ""


def test_a_tiers_records_get_their_own_section_and_never_mix_with_the_defaults():
    default = [rec("full", 90, n=96), rec("random@1:0.125", 50, n=96), rec("dart@1:0.125", 80, n=96)]
    tier = [Record(**{**r.__dict__, "case": r.case + "-heldout4200"}) for r in
            (rec("full", 91), rec("random@1:0.125", 30), rec("dart@1:0.125", 31))]  # fmt: skip
    text = render_organisms(default + tier)
    first, second = text.split("## The model organisms on 4200 held-out rows (the organism_full tier, 2100 per task")
    assert "on the default suite's held-out rows" in first and "n=96" in first and "n=400" not in first
    assert "n=400" in second and "(4200 held-out rows)" in second


def _study_record(model: str, bench: str, settle: int, n: int = 32) -> Record:
    """An information study record whose every sample's mean information is 1 before layer ``settle``, 0 after."""
    layers = list(range(8))
    means = {f"s{i:03d}": [1.0 if k < settle else 0.0 for k in layers] for i in range(n)}
    study = {"layers": layers, "mean": [1.0 if k < settle else 0.0 for k in layers], "horizon": settle, "n": n,
             "retained": {}, "sample_means": means}  # fmt: skip
    return Record(case=f"{model}-{bench}-information", model=model, benchmark=bench, schedule="information",
                  device="cpu", dtype="float32", attn_implementation="sdpa", n=n, failures=0, metrics={},
                  average_visual_tokens=0.0, information=study)  # fmt: skip


def _capacity_records(strong: tuple[float, int, int], weak: tuple[float, int, int]) -> list[Record]:
    """(unpruned accuracy, withdraw horizon, information horizon) of organism-llava and its weaker sibling on the
    fine family (global: both 90, horizons 2)."""
    records = []
    for model, (fine_acc, fine_w, fine_i) in (("organism-llava", strong), ("organism-llava-weak", weak)):
        for bench, (acc, w, i) in {"synth-global": (90, 2, 2), "synth-fine": (fine_acc, fine_w, fine_i)}.items():
            records += [rec("full", acc, bench, model)]
            records += [rec(f"vtw@{k}", 10 if k < w else acc, bench, model) for k in range(8)]
            records += [_study_record(model, bench, i)]
    return records


def test_the_capacity_finding_pairs_an_organism_with_its_weaker_sibling():
    text = render_organisms(_capacity_records((92, 5, 6), (60, 2, 3)))
    assert "### Capacity: organism-llava against organism-llava-weak" in text
    verdict = next(line for line in text.splitlines() if "stronger models' horizon deeper (capacity)" in line)
    assert "**reproduced** (organism-llava against organism-llava-weak" in verdict
    assert "synth-global: **undetermined** (the pair does not differ in capacity here" in verdict
    assert "synth-fine: **reproduced** (withdraw horizon layer 5 against layer 2, difference +3 (98.75% CI [+3, +3])" in verdict
    assert "information horizon layer 6 against layer 3, difference +3" in verdict
    row = next(line for line in text.splitlines() if line.startswith("| synth-fine ") and "stronger - weaker" in line)
    assert "+32.0 ([" in row and "deeper in 100%" in row
    # a weaker sibling runs no method sweep: findings 1 and 3 do not list it
    finding1 = text.split("1. **")[1].split("2. **")[0]
    assert "organism-llava-weak" not in finding1
    assert "**capacity**" in text  # its rule is printed


def test_a_shallower_or_unseparated_stronger_horizon_is_not_reproduced():
    shallower = render_organisms(_capacity_records((92, 2, 3), (60, 5, 6)))
    assert "synth-fine: **not reproduced**: the stronger model's horizon is shallower" in shallower
    same = render_organisms(_capacity_records((92, 4, 4), (60, 4, 4)))
    assert "synth-fine: **not reproduced**: the two models' horizons agree within 1 layer" in same
    ceiling = render_organisms(_capacity_records((92, 7, 8), (60, 7, 8)))  # 8: not reached
    assert "synth-fine: **undetermined**: both models' horizons are at the last layer or beyond" in ceiling
    reversed_ = render_organisms(_capacity_records((60, 5, 6), (92, 2, 3)))
    assert "synth-fine: **undetermined** (the weaker sibling is the more accurate here" in reversed_
    alone = render_organisms([r for r in _capacity_records((92, 5, 6), (60, 2, 3)) if r.model == "organism-llava"])
    assert "capacity): not tested (no organism and its weaker sibling in the records)" in alone


def _deepstack_records(with_: tuple[int, int], without: tuple[int, int], acc: float = 90) -> list[Record]:
    """(withdraw horizon, information horizon) on the fine family of organism-qwen3-vl and organism-qwen2.5-vl
    (global: horizons 2 for both), both ``acc`` accurate unpruned."""
    records = []
    for model, (fine_w, fine_i) in (("organism-qwen3-vl", with_), ("organism-qwen2.5-vl", without)):
        for bench, (w, i) in {"synth-global": (2, 2), "synth-fine": (fine_w, fine_i)}.items():
            records += [rec("full", acc, bench, model)]
            records += [rec(f"vtw@{k}", 10 if k < w else acc, bench, model) for k in range(8)]
            records += [_study_record(model, bench, i)]
    return records


def test_the_deepstack_pair_says_whether_deepstack_moves_the_horizon():
    text = render_organisms(_deepstack_records((5, 6), (2, 3)))
    assert "### DeepStack: organism-qwen3-vl against organism-qwen2.5-vl" in text
    verdict = next(line for line in text.splitlines() if "does DeepStack move the horizon" in line)
    assert "**mixed** (organism-qwen3-vl against organism-qwen2.5-vl" in verdict  # global agrees, fine deeper
    assert "synth-global: **no difference**" in verdict
    assert ("synth-fine: **deeper** (withdraw horizon layer 5 with DeepStack against layer 2 without, difference +3 "
            "(98.75% CI [+3, +3])") in verdict  # fmt: skip
    assert "no significant difference between" in verdict  # the unpruned pair, paired (equal accuracy here)
    row = next(line for line in text.splitlines() if line.startswith("| synth-fine ") and "with - without" in line)
    assert "deeper in 100%" in row
    assert "**DeepStack** (does it move the horizon?)" in text  # its rule is printed
    same = render_organisms(_deepstack_records((2, 2), (2, 2)))
    assert "does DeepStack move the horizon: **no difference**" in same
    shallower = render_organisms(_deepstack_records((2, 3), (2, 6)))
    assert "synth-fine: **shallower**" in shallower
    conflicting = render_organisms(_deepstack_records((5, 3), (2, 6)))  # withdraw deeper, information shallower
    assert "synth-fine: **conflicting**" in conflicting
    alone = render_organisms([r for r in _deepstack_records((5, 6), (2, 3)) if r.model == "organism-qwen2.5-vl"])
    assert "DeepStack" not in alone


def test_a_tier_reads_its_own_information_studies_and_else_the_defaults():
    default = _capacity_records((92, 5, 6), (60, 2, 3))
    tier = [Record(**{**r.__dict__, "case": r.case + "-heldout4200"}) for r in _capacity_records((92, 5, 4), (60, 2, 4))]
    first, second = render_organisms(default + tier).split("## The model organisms on 4200 held-out rows")
    assert "information horizon layer 6 against layer 3" in first
    assert "information horizon layer 4 against layer 4" in second  # the tier's own studies
    no_studies = [r for r in tier if not r.information]
    _, second = render_organisms(default + no_studies).split("## The model organisms on 4200 held-out rows")
    assert "information horizon layer 6 against layer 3" in second  # the default's, when the tier has none


def test_a_tier_information_case_ends_in_its_rows() -> None:
    from horizon.harness.matrix import ORGANISM_FULL_ROWS, InfoCase, information_matrix

    tier = [c for c in information_matrix() if c.held_out]
    assert {c.model for c in tier} == {"organism-llava", "organism-llava-weak", "organism-qwen2.5-vl", "organism-qwen3-vl"}
    assert all(c.id.endswith(f"-heldout{ORGANISM_FULL_ROWS}") and "organism_full" in c.marks for c in tier)
    assert not any("default" in c.marks for c in tier)
    with pytest.raises(ValueError, match="held_out must be >= 0 rows, got -1"):
        InfoCase("organism-llava", "synth-fine", (), 4, held_out=-1)


def _gap(a: int | None, b: int | None, difference: tuple[int, int], measure: str = "withdraw") -> HorizonGap:
    return HorizonGap(measure, 100, 8, a, b, (0, 8), (0, 8), difference, 0.5, 0.9875)


@pytest.mark.parametrize(("gaps", "outcome"), [
    ((_gap(2, 5, (1, 4)), _gap(3, 3, (-1, 2), "information")), "reproduced"),
    ((_gap(2, 5, (1, 4)), _gap(5, 2, (-4, -1), "information")), "shallower"),  # one each way: not reproduced
    ((_gap(3, 3, (-1, 1)), _gap(3, 4, (0, 1), "information")), "agree"),
    ((_gap(3, 4, (-2, 4)), _gap(3, 3, (-1, 1), "information")), "inconclusive"),
    ((_gap(7, None, (-1, 3)), _gap(None, 7, (-3, 1), "information")), "ceiling"),
])  # fmt: skip
def test_a_familys_capacity_outcome_by_hand(gaps, outcome):
    ahead = compare([0.0] * 50 + [1.0] * 50, [1.0] * 100)  # the stronger model 50 points ahead
    c = FamilyCapacity("synth-fine", "organism-llava", "organism-llava-weak", ahead, gaps)
    assert c.differs and c.outcome == outcome
    same = FamilyCapacity("synth-global", "organism-llava", "organism-llava-weak", compare([1.0] * 9, [1.0] * 9), gaps)
    verdict = capacity_verdict([c, same])
    expected = {"reproduced": "**reproduced**", "shallower": "**not reproduced**", "agree": "**not reproduced**",
                "inconclusive": "**inconclusive**", "ceiling": "**undetermined**"}[outcome]  # fmt: skip
    assert verdict.startswith(expected + " ("), verdict
    missing = FamilyCapacity("synth-fine", "organism-llava", "organism-llava-weak", ahead, gaps[:1], ("information",))
    assert "not compared: information" in family_verdict(missing)


def test_kept_counts_are_read_back_from_the_average_per_layer():
    from dataclasses import replace

    from horizon.report.information import merging_note
    from horizon.report.organism_data import kept_counts

    full = replace(rec("full", 90), average_visual_tokens=144.0)
    # 8 layers, a stage at layer 6: layers 0-5 see 144, layers 6-7 the kept count
    table = {m: {6: replace(rec(f"{m}@6:0.125", 50), average_visual_tokens=(6 * 144 + 2 * k) / 8)}
             for m, k in (("random", 18), ("pool", 16), ("sparsevlm", 22))}  # fmt: skip
    assert kept_counts(table, full, 8) == {"random": 18, "pool": 16, "sparsevlm": 22}
    assert kept_counts(table, None, 8) == {}
    assert merging_note(["random", "dart"]) is None
    assert merging_note(["visionzip", "random", "pool"]).startswith("pool, visionzip make new tokens")
