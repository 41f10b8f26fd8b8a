"""Table 1's settings carried to Qwen3-VL-8B: the rule gives Table 4 itself at 28 layers, and its presets meet the
budget at 36 (horizon/paper_scaling.py)."""

from __future__ import annotations

import pytest

from horizon.models.presets import MODELS
from horizon.paper_presets import (
    DERIVED_SETTINGS,
    PAPER_BUDGETS,
    PAPER_PRESETS,
    QWEN3_DEPTH,
    TABLE_SETTINGS,
    provenance,
)
from horizon.paper_scaling import average, deep_layers, hybrids, presets
from horizon.paper_tables import PAPER_TABLES
from horizon.schedule import parse_schedule


def test_the_rule_at_28_layers_is_table_4_as_transcribed():
    made = presets("qwen", 28)
    assert set(made) == {n for n in TABLE_SETTINGS if n.startswith("paper:qwen-50:")}
    for name, schedule in made.items():
        assert parse_schedule(schedule) == PAPER_PRESETS.get(name), name


def test_qwen3_presets_are_derived_at_the_8b_depth_and_meet_the_budget():
    assert QWEN3_DEPTH == MODELS.get("qwen3-vl-8b").arch.layers == MODELS.get(PAPER_TABLES["table1-qwen3"].model).arch.layers
    assert deep_layers(QWEN3_DEPTH) == (32, 33)
    names = [n for n in PAPER_PRESETS.names() if n.startswith("paper:qwen3-50:")]
    assert len(names) == 6 and all(n in DERIVED_SETTINGS and provenance(n) == "derived" for n in names)
    layers, n_visual, budget = PAPER_BUDGETS["paper:qwen3-50"]
    for name in names:
        per_layer = PAPER_PRESETS.get(name).tokens_per_layer(layers, n_visual)
        share = sum(per_layer) / layers / n_visual
        # within Table 4's own spread (its +VTW rows average 49.1-49.2 %, the others 49.9-50.1 %)
        assert 0.48 <= share <= 0.505, (name, share)
    assert PAPER_PRESETS.get("paper:qwen3-50:dart+random") == parse_schedule("dart@2:0.5+random@32:0.25")
    assert PAPER_PRESETS.get("paper:qwen3-50:divprune+vtw") == parse_schedule("divprune@0:0.53+vtw@33")


def test_every_table_row_has_its_preset():
    table = PAPER_TABLES["table1-qwen3"]
    assert table.columns == PAPER_TABLES["table1"].columns and table.methods == PAPER_TABLES["table1"].methods
    assert all(schedule == "full" or schedule in PAPER_PRESETS for _, schedule in table.rows())


def test_the_deep_layers_stay_apart_and_inside_the_decoder():
    assert deep_layers(28) == (25, 26) and deep_layers(14) == (12, 13) and deep_layers(80) == (71, 74)
    for layers in (4, 5, 6, 7, 12):  # random and VTW would coincide or fall past the last layer
        with pytest.raises(ValueError, match=f"{layers} layers is too shallow"):
            deep_layers(layers)


def test_average_and_the_solved_keeps():
    assert average(28, 2, 0.46) == pytest.approx((2 + 26 * 0.46) / 28)
    assert average(36, 2, 0.5, 32, 0.25) == pytest.approx(0.5)
    h = hybrids("dart", 36)
    assert (h.alone, h.with_random, h.with_vtw) == ("dart@2:0.47", "dart@2:0.5+random@32:0.25", "dart@2:0.5+vtw@33")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: hybrids("fastv", 36), "written for dart, divprune, not 'fastv'"),
    (lambda: deep_layers(3), "3 layers is too shallow"),
    (lambda: deep_layers(12), r"12 layers is too shallow for Table 1's hybrids: random would prune at layer 11 and VTW at 11"),
])  # fmt: skip
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
