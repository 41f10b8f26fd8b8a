"""Every fact one home (docs/design.md §2): each is defined once and read everywhere else; these tests tie the places
that must agree, and scan the code for the fact typed again, so a copy cannot come back unnoticed."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from horizon.harness.matrix import TINY, all_cases
from horizon.models.presets import MODELS, REAL_VISION, TINY_VISION, vision_of
from horizon.models.settings import DEFAULT_ATTENTION, DEFAULT_DEVICE, DEFAULT_DTYPE
from horizon.protocol import DEFAULT_PROTOCOL
from horizon.schedule import SweepPoint, sweep_point

PACKAGE = Path(__file__).resolve().parents[1] / "horizon"


def _trees(exclude: tuple[str, ...] = ()) -> list[tuple[str, ast.AST]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        if not any(rel == e or rel.startswith(e) for e in exclude):
            out.append((rel, ast.parse(path.read_text())))
    return out


def _strings(tree: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


# the default protocol's name ----------------------------------------------------------------------------------------


def test_the_default_protocols_name_is_written_only_in_protocol_py() -> None:
    found = [rel for rel, tree in _trees(exclude=("protocol.py",)) if DEFAULT_PROTOCOL in _strings(tree)]
    assert found == []


def test_every_default_protocol_reads_it() -> None:
    from horizon.benchmarks.base import Benchmark
    from horizon.cli import build_parser
    from horizon.harness.matrix import Case
    from horizon.harness.records import Record

    parser = build_parser()
    for command in (["run", "--model", "m"], ["eval", "--model", "m", "--bench", "b"],
                    ["info", "--model", "m", "--bench", "b"]):  # fmt: skip
        args = parser.parse_args(command)
        assert (args.protocol, args.device, args.dtype, args.attn) == (DEFAULT_PROTOCOL, DEFAULT_DEVICE, DEFAULT_DTYPE,
                                                                       DEFAULT_ATTENTION), command  # fmt: skip
    assert Case("m", "b", "full").protocol == DEFAULT_PROTOCOL
    assert Record.__dataclass_fields__["protocol"].default == DEFAULT_PROTOCOL
    assert Benchmark.__dataclass_fields__["protocol"].default == DEFAULT_PROTOCOL


# each preset's depth and visual tokens ------------------------------------------------------------------------------


def test_the_layer_sweeps_span_each_presets_depth() -> None:
    """Figures 1, 2, 9, 10 and the organisms' sweeps run every layer their model has (its preset's depth); the tiny
    models' four-layer sweep only exercises the sweep path."""
    layers: dict[tuple[str, str], set[int]] = {}
    for case in all_cases():
        point = sweep_point(str(case.resolved))
        if "sweep" in case.marks and point is not None and case.model not in TINY:
            layers.setdefault((case.model, point.method), set()).add(point.layer)
    assert layers
    for (model, method), seen in layers.items():
        depth = MODELS.get(model).arch.layers
        assert seen == set(range(0 if method == "vtw" else 1, depth)), (model, method)


def test_the_paper_budgets_geometry_is_the_presets() -> None:
    from horizon.paper_presets import PAPER_BUDGETS
    from horizon.paper_tables import PAPER_TABLES

    for table in PAPER_TABLES.values():
        preset = MODELS.get(table.model)
        budgets = [v for k, v in PAPER_BUDGETS.items() if k.startswith(f"paper:{table.presets}-")]
        assert budgets, table.name
        for layers, visual, _ in budgets:
            assert layers == preset.arch.layers, table.name
            assert preset.visual_tokens is None or visual == preset.visual_tokens, table.name


@pytest.mark.parametrize("module", ["harness/matrix.py", "speed/methods.py", "cli/bench.py", "efficiency/table3.py",
                                    "doctor/build.py"])  # fmt: skip
def test_no_preset_geometry_typed_again(module: str) -> None:
    """The fixed visual-token counts of the presets (576, 144) appear in no code of these modules (comments and
    docstrings may name them)."""
    counts = {p.visual_tokens for _, p in MODELS.items() if p.visual_tokens}
    tree = ast.parse((PACKAGE / module).read_text())
    numbers = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, int)}
    assert numbers & counts == set()


# the schedule grammar -------------------------------------------------------------------------------------------------


def test_only_schedule_py_writes_a_schedule_regex() -> None:
    """No pattern with ``@`` and a layer's digits outside the one parser (schedule.py)."""
    found = [(rel, s) for rel, tree in _trees(exclude=("schedule.py",)) for s in _strings(tree)
             if "@" in s and ("\\d" in s or "[0-9" in s)]  # fmt: skip
    assert found == []


@pytest.mark.parametrize(
    ("text", "point"),
    [("dart@3:0.125", SweepPoint("dart", 3, "0.125")), ("vtw@4", SweepPoint("vtw", 4, None)),
     ("random@2:0", SweepPoint("random", 2, "0")), ("full", None), ("dart@2:0.25+random@5:#18", None),
     ("fastv@3:#64", None), ("pdrop@8:0.5/reindex", None), ("information", None), ("paper:llava-64:dart", None),
     ("dart@3", None)],
)  # fmt: skip
def test_sweep_point(text: str, point: SweepPoint | None) -> None:
    assert sweep_point(text) == point


# family quirks ---------------------------------------------------------------------------------------------------------


def _family_tests(tree: ast.AST) -> list[str]:
    """``<...family> == "<literal>"`` (or !=, in) and ``"llava" in <name>`` comparisons."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        named = any(isinstance(s, (ast.Name, ast.Attribute)) and (getattr(s, "id", "") == "family" or
                    getattr(s, "attr", "") == "family") for s in sides)  # fmt: skip
        literal = [s.value for s in sides if isinstance(s, ast.Constant) and isinstance(s.value, str)]
        if (named and literal) or any(v in ("llava", "qwen", "qwen2_5_vl") for v in literal):
            found.append(ast.unparse(node))
    return found


def test_family_quirks_live_in_models() -> None:
    found = {rel: q for rel, tree in _trees(exclude=("models/",)) if (q := _family_tests(tree))}
    assert found == {}


def test_the_planted_family_test_is_caught() -> None:
    assert _family_tests(ast.parse("if preset.family == 'llava': pass\nx = 'llava' in name\n")) == [
        "preset.family == 'llava'", "'llava' in name"]


def test_an_organism_is_a_bundled_preset_and_its_family_is_the_presets() -> None:
    from horizon.organism.build import BUILDERS, build_llava, build_qwen, build_qwen3
    from horizon.organism.config import ORGANISMS

    assert ORGANISMS == tuple(n for n, p in MODELS.items() if p.bundled) and len(ORGANISMS) >= 2
    for name in ORGANISMS:
        builder = {"llava": build_llava, "qwen2_5_vl": build_qwen, "qwen3_vl": build_qwen3}[MODELS.get(name).family]
        assert BUILDERS[name] is builder


def test_the_real_vision_towers_sit_beside_the_presets() -> None:
    import horizon.doctor.build as build

    assert not hasattr(build, "REAL_VISION")
    from horizon.models.presets import QWEN3_VL_SMALL_VISION, QWEN3_VL_VISION, TINY_QWEN3_VISION

    own = {"qwen3-vl-2b": QWEN3_VL_SMALL_VISION, "qwen3-vl-4b": QWEN3_VL_SMALL_VISION, "qwen3-vl-8b": QWEN3_VL_VISION,
           "qwen3-vl-30b-a3b": QWEN3_VL_VISION, "qwen3-vl-235b-a22b": QWEN3_VL_VISION}
    for name, preset in MODELS.items():
        tiny = TINY_QWEN3_VISION if preset.family == "qwen3_vl" else TINY_VISION
        assert vision_of(preset) == (own.get(name) or REAL_VISION[preset.family] if preset.real else tiny)


# the CLI's shared option blocks -----------------------------------------------------------------------------------------

SHARED = {"--protocol", "--device", "--dtype", "--attn", "--model", "--path", "--bench", "--data"}
# plan's --device is the device a selection would run on (default cuda), not a load's; flops' --model is an optional
# preset whose architecture numbers are read, no model is loaded
OWN = {("plan.py", "--device"), ("flops.py", "--model")}


def test_the_clis_shared_options_are_defined_once() -> None:
    found = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        if path.name == "options.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in SHARED
                    and (path.name, node.args[0].value) not in OWN):  # fmt: skip
                found.append((path.name, node.args[0].value))
    assert found == []


def test_every_command_with_a_model_takes_the_same_block() -> None:
    from horizon.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        options = {o for a in parser._actions for o in a.option_strings}
        if "--model" in options and "--path" in options:
            assert {"--device", "--dtype", "--attn"} <= options, name
