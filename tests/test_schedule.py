"""Schedules: syntax, validation with clear messages, per-layer counts, and the paper's presets."""

from __future__ import annotations

import pytest

from horizon.paper_presets import DERIVED_SETTINGS, PAPER_BUDGETS, PAPER_PRESETS, TABLE_SETTINGS, resolve_schedule
from horizon.registry import UnknownNameError
from horizon.schedule import Keep, Schedule, Stage, parse_schedule


@pytest.mark.parametrize(
    "text",
    ["dart@2:0.44+random@20:0.07", "vtw@21", "divprune@0:0.33", "fastv@3:#64", "pdrop@8:0.5/reindex", "full"],
)
def test_round_trip(text):
    assert str(parse_schedule(text)) == text


def test_parse_fields():
    s = parse_schedule("fastv@3:#64+random@20:0.05/original")
    assert s.stages[0] == Stage("fastv", 3, Keep(64, absolute=True))
    assert s.stages[1] == Stage("random", 20, Keep(0.05), positions="original")
    assert parse_schedule("vtw@26").stages[0].keep.count(576) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("random@2:1.5", "keep 1.5 is outside [0, 1]"),
        ("random@2:-0.1", "outside [0, 1]"),
        ("random@2:abc", "'abc'"),
        ("random@2", "needs a keep"),
        ("random@2:#x", "'#x'"),
        ("random@4:0.5+random@2:0.1", "stages out of order"),
        ("random@4:0.5+random@4:0.1", "stages out of order"),
        ("random@2:0.2+random@9:0.3", "keeps more than"),
        ("vtw@3:0.5", "withdraws every visual token"),
        ("random@2:0.5/shuffled", "not one of original, reindex"),
        ("Random@2", "cannot parse"),
        ("random2:0.5", "cannot parse"),
    ],
)
def test_bad_schedules_name_the_value(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_schedule(text)


def test_counts_and_depth_checks():
    s = parse_schedule("random@2:#300+random@9:0.5")
    with pytest.raises(ValueError, match="keeps 288 visual tokens but only 200 of 576 survive to layer 9"):
        parse_schedule("random@2:#200+random@9:0.5").counts(576)
    assert s.counts(576) == (300, 288)
    with pytest.raises(ValueError, match="keeps 700 visual tokens but only 576"):
        parse_schedule("random@2:#700").counts(576)
    with pytest.raises(ValueError, match="past the model's depth: layers are 0..31"):
        parse_schedule("random@32:0.5").check_depth(32)


def test_tokens_per_layer():
    s = parse_schedule("dart@2:0.44+random@20:0.07")
    per_layer = s.tokens_per_layer(32, 576)
    assert per_layer[:2] == (576, 576)
    assert set(per_layer[2:20]) == {253} and set(per_layer[20:]) == {40}
    assert Schedule().tokens_per_layer(4, 10) == (10, 10, 10, 10)


def test_keep_rounds_half_up():
    assert Keep(0.5).count(3) == 2
    assert Keep(0.29).count(576) == 167
    assert Keep(1.0).count(576) == 576


def test_every_paper_preset_meets_its_budget():
    assert len(TABLE_SETTINGS) == 24 and TABLE_SETTINGS <= set(PAPER_PRESETS)
    for name in TABLE_SETTINGS:
        schedule = PAPER_PRESETS.get(name)
        table = name.rsplit(":", 1)[0]
        layers, n_visual, budget = PAPER_BUDGETS[table]
        avg = schedule.average_tokens(layers, n_visual)
        assert abs(avg - budget) <= 0.05 * budget, (name, avg, budget)


def test_paper_example_dart_random_192():
    # Table 5: LLaVA DART+Random at 192 averages 193.7 with fractional counts; rounded counts give 193.3
    avg = PAPER_PRESETS.get("paper:llava-192:dart+random").average_tokens(32, 576)
    assert avg == pytest.approx((2 * 576 + 18 * 253 + 12 * 40) / 32)
    assert abs(avg - 193.7) < 0.5


@pytest.mark.parametrize("n_visual", [192, 500, 1014, 2048])
def test_qwen_presets_keep_half_for_any_image(n_visual):
    for name, schedule in PAPER_PRESETS.items():
        if name.startswith("paper:qwen-50"):
            assert abs(schedule.average_tokens(28, n_visual) / n_visual - 0.5) <= 0.025, name


def test_unknown_preset_suggests():
    with pytest.raises(UnknownNameError, match="did you mean 'paper:qwen-50:dart\\+random'"):
        resolve_schedule("paper:qwen-50:dart+randon")
    assert str(resolve_schedule("paper:llava-64:fastv+vtw")) == "fastv@2:0.06+vtw@26"


def test_derived_table2_presets_averages():
    avg = {n: PAPER_PRESETS.get(n).average_tokens(32, 576) for n in DERIVED_SETTINGS if n.startswith("paper:llava")}
    assert avg["paper:llava-192:pdrop"] == pytest.approx(192.3, abs=0.1)
    assert avg["paper:llava-64:pdrop"] == pytest.approx(63.7, abs=0.1)
    assert avg["paper:llava-192:vtw"] == 198 and avg["paper:llava-64:vtw"] == 72
    # SparseVLM without its recycled tokens (the run records those): (3·576 + 4·300 + 9·200 + 16·110) / 32
    assert avg["paper:llava-192:sparsevlm"] == pytest.approx(202.75)
