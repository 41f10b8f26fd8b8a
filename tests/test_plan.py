"""``horizon plan`` (horizon/cli/plan.py, horizon/efficiency/budget.py): what a suite selection costs before it runs."""

from __future__ import annotations

import json

import pytest

from horizon.benchmarks import fixtures
from horizon.benchmarks.registry import BENCHMARKS
from horizon.cli import main
from horizon.efficiency.budget import Throughput, eval_cost, information_cost, visual_tokens
from horizon.efficiency.flops import map_flops
from horizon.efficiency.table3 import costs
from horizon.harness.matrix import paper_table
from horizon.models.presets import MODELS

LLAVA = MODELS.get("llava-1.5-7b")
SPEED = Throughput("llava-1.5-7b", "H100", prefill_ms=100.0, decode_ms_per_token=20.0, n_visual=576,
                   text_tokens=64, map_seconds=30.0, map_layers=(0, 31))  # fmt: skip


def test_every_real_benchmark_states_its_split_size_and_where_it_was_read():
    for name in BENCHMARKS.names():
        spec = BENCHMARKS.get(name)
        if spec.generate is not None:  # synth: generated, as many rows as asked
            assert spec.rows is None
            continue
        assert spec.rows is not None and spec.rows_source.strip(), name
        assert len(fixtures.rows(name)) <= spec.rows  # the fixtures are a few of its rows, in its layout


def test_a_spec_with_rows_but_no_source_is_refused():
    from dataclasses import replace

    with pytest.raises(ValueError, match="rows must be >= 1 and name its source"):
        replace(BENCHMARKS.get("mme"), rows_source=" ")


def test_an_unpruned_run_at_the_doctors_prompt_costs_the_doctors_times():
    c = eval_cost("x", LLAVA, "mme", "full", samples=10, seeds=1, text_tokens=64, answer_tokens=5, speed=SPEED)
    assert c.gpu_seconds == pytest.approx(10 * (100.0 + 4 * 20.0) / 1e3)
    assert c.tflops == pytest.approx(10 * costs(LLAVA.arch, "full", 64, 576)[1])


def test_pruning_scales_the_prefill_by_its_flops_and_seeds_multiply_the_runs():
    full = eval_cost("a", LLAVA, "mme", "full", 10, 1, text_tokens=64, answer_tokens=1, speed=SPEED)
    pruned = eval_cost("b", LLAVA, "mme", "dart@2:0.25", 10, 3, text_tokens=64, answer_tokens=1, speed=SPEED)
    ratio = costs(LLAVA.arch, "dart@2:0.25", 64, 576)[1] / costs(LLAVA.arch, "full", 64, 576)[1]
    assert pruned.runs == 30 and 0 < ratio < 1
    assert pruned.gpu_seconds == pytest.approx(3 * full.gpu_seconds * ratio)


def test_an_information_case_costs_its_maps():
    c = information_cost("i", LLAVA, "mme", tuple(range(32)), samples=200, text_tokens=64, speed=SPEED)
    one = map_flops(LLAVA.arch, 576, 64, range(32)) / map_flops(LLAVA.arch, 576, 64, (0, 31))
    assert c.gpu_seconds == pytest.approx(200 * 30.0 * one)


def test_qwen_is_costed_at_its_largest_visual_count():
    assert visual_tokens(MODELS.get("qwen2.5-vl-7b")) == 1605632 // 784 == 2048
    assert visual_tokens(MODELS.get("qwen3-vl-8b")) == 1605632 // 1024 == 1568  # 16-px patches, merged 2x2
    assert visual_tokens(LLAVA) == 576


def test_plan_costs_what_pytest_selects(capsys, tmp_path):
    out = tmp_path / "plan.json"
    assert main(["plan", "-m", "paper", "-k", "llava and mme", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    cases = json.loads(out.read_text())["cases"]
    table2 = {c.id: c for c in paper_table("table2") if c.benchmark == "mme"}
    assert {c["case"] for c in cases} == set(table2)  # exactly the selection: Table 2's MME column
    for c in cases:
        seeds = len(table2[c["case"]].seeds)
        assert c["samples"] == 2374 and c["runs"] == 2374 * seeds and c["gpu_hours"] is None
    assert any(c["seeds"] == 3 for c in cases)  # the paper protocol's random stages run 3 seeds
    assert "no doctor JSON given" in printed and "assumptions:" in printed


def test_plan_gives_gpu_hours_from_a_gpu_doctor_json(capsys, tmp_path):
    doctor = {"device": "cuda", "versions": {"gpu": "NVIDIA H100"}, "models": {"llava-1.5-7b": {"numbers": {
        "prompt": {"n_visual": 576, "text_tokens": 64},
        "table3": [{"schedule": "full", "prefill_ms": 100.0, "decode_ms_per_token": 20.0}],
        "information_map": {"seconds": 30.0, "layers": [0, 31]}}}}}  # fmt: skip
    (tmp_path / "d.json").write_text(json.dumps(doctor))
    out = tmp_path / "plan.json"
    assert main(["plan", "-m", "paper", "-k", "llava-1.5-7b-mme-full-paper", "--doctor", str(tmp_path / "d.json"),
                 "--answer-tokens", "5", "--text-tokens", "64", "--json", str(out)]) == 0  # fmt: skip
    (case,) = json.loads(out.read_text())["cases"]
    assert case["gpu_hours"] == pytest.approx(2374 * (100.0 + 4 * 20.0) / 1e3 / 3600)
    assert "times from NVIDIA H100" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "paper and (", "-k", "x"], "refused by pytest"),
        (["--answer-tokens", "0"], "--answer-tokens"),
        (["--device", "tpu"], "--device 'tpu'"),
        (["--device", "cpu", "--doctor", "d.json"], "use it with --device cuda"),
    ],
)
def test_bad_plan_options_are_refused(capsys, args, message):
    assert main(["plan", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_cpu_doctor_json_is_refused(capsys, tmp_path):
    (tmp_path / "d.json").write_text(json.dumps({"device": "cpu", "versions": {"gpu": "none"}, "models": {}}))
    assert main(["plan", "-m", "paper", "--doctor", str(tmp_path / "d.json")]) == 2
    assert "not a GPU" in capsys.readouterr().err


def test_the_nightly_numbers_in_docs_suite_are_what_horizon_plan_prints(capsys):
    """docs/suite.md quotes `horizon plan -m nightly`: its cases, runs and PFLOPs are the command's, today."""
    import re
    from pathlib import Path

    text = " ".join((Path(__file__).resolve().parents[1] / "docs" / "suite.md").read_text().split())
    quoted = re.search(r"`horizon plan -m nightly` reported (\d+) real-checkpoint cases, ([\d,]+) runs .*? and "
                       r"([\d,]+) PFLOPs of prefill", text)  # fmt: skip
    assert quoted, "docs/suite.md no longer quotes `horizon plan -m nightly`: update this test with it"
    assert main(["plan", "-m", "nightly"]) == 0
    out = capsys.readouterr().out
    cases = re.search(r"horizon plan · (\d+) real-checkpoint cases", out)
    total = re.search(r"total: (\d+)\+? runs, ([\d.]+) PFLOPs", out)
    assert cases and total
    printed = (cases.group(1), f"{int(total.group(1)):,}", f"{round(float(total.group(2))):,}")
    assert printed == quoted.groups(), (f"docs/suite.md says {quoted.groups()}, `horizon plan -m nightly` prints "
                                        f"{printed}: update the sentence (and its date)")  # fmt: skip
