"""Stand-ins (docs/stand-ins.md): every real checkpoint's case runs on a model of the same family and geometry with
random weights; the records say so, live apart, and the report never mixes them with real ones."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from horizon.benchmarks import fixtures
from horizon.benchmarks.registry import BENCHMARKS
from horizon.harness.matrix import all_cases, information_matrix, paper_table
from horizon.harness.records import Record, read_records, write_record
from horizon.harness.stand_ins import features, figure_of, has_stand_in, sample, table_ids
from horizon.models.presets import MODELS, STAND_IN_STUDY, stand_in_name, stand_in_study_layers
from horizon.paper_tables import PAPER_TABLES
from horizon.report.tables import missing_cells, missing_table3, render

ROOT = Path(__file__).resolve().parents[1]


def test_each_real_checkpoint_has_a_stand_in_of_its_family_depth_and_visual_geometry():
    depth = {"llava-1.5-7b": 32, "llava-1.5-13b": 40, "qwen2.5-vl-3b": 36, "qwen2.5-vl-7b": 28,  # the numbers
             "qwen3-vl-2b": 28, "qwen3-vl-4b": 36, "qwen3-vl-8b": 36,  # the Qwen3-VL configs' (docs/models.md)
             "qwen3-vl-30b-a3b": 48, "qwen3-vl-235b-a22b": 94}
    reals = [name for name, p in MODELS.items() if p.real]
    assert sorted(reals) == sorted(depth)
    for name in reals:
        real, stand = MODELS.get(name), MODELS.get(stand_in_name(name))
        assert stand.stands_in_for == name and stand.tiny and not stand.real
        assert (stand.family, stand.arch.layers) == (real.family, depth[name])
        assert (stand.visual_tokens, stand.min_pixels, stand.max_pixels) == (real.visual_tokens, real.min_pixels,
                                                                          real.max_pixels)  # fmt: skip
        assert (stand.arch.kv_heads < stand.arch.heads) == (real.arch.kv_heads < real.arch.heads)  # MHA vs GQA kept


def test_a_stand_in_is_refused_for_what_is_not_a_real_checkpoint():
    from horizon.models.presets import stand_in_of

    with pytest.raises(ValueError, match="only real checkpoints have stand-ins"):
        stand_in_of(MODELS.get("tiny-llava"))


def test_stand_ins_see_the_real_visual_token_counts(tiny_model):
    from horizon.engine.run import prepare

    def count(model: str, size: tuple[int, int]) -> int:
        return prepare(tiny_model(model), [Image.new("RGB", size, (200, 30, 30))], ["What is it?"]).n_visual

    assert count("stand-in-llava-1.5-7b", (224, 168)) == count("stand-in-llava-1.5-7b", (640, 480)) == 576
    small, large = count("stand-in-qwen2.5-vl-7b", (224, 168)), count("stand-in-qwen2.5-vl-7b", (640, 480))
    assert small != large and small >= 256  # resolution-dependent, at least min_pixels' 256 merged tokens


def test_every_real_checkpoint_case_has_a_stand_in_and_fixture_rows_its_protocol_can_read():
    cases = [c for c in [*all_cases(), *information_matrix()] if has_stand_in(c)]
    assert len(cases) > 1700  # Tables 1-3, the sweeps, Figure 9 and the information studies
    for bench in sorted({(c.benchmark, c.protocol) for c in cases}):
        spec = BENCHMARKS.get(bench[0]).under(bench[1])
        rows = fixtures.rows(spec.name)
        samples = [spec.to_sample(row, i) for i, row in enumerate(rows)]
        assert samples and all(spec.prompt(s, "llava") for s in samples), bench
    assert {MODELS.get(stand_in_name(c.model)).arch.layers for c in cases} == {32, 28, 36}  # LLaVA, Qwen2.5-VL, Qwen3-VL


def test_the_study_layers_of_a_stand_in_run_first_to_last():
    assert stand_in_study_layers(32) == (0, 10, 21, 31)
    assert stand_in_study_layers(3) == (0, 1, 2)
    assert len(stand_in_study_layers(28)) == STAND_IN_STUDY[0]


def test_the_ci_sample_touches_every_table_figure_benchmark_method_and_preset():
    cases, info = all_cases(), information_matrix()
    ids = sample(cases, info)
    assert ids == sample(cases, info) and len(ids) == len(set(ids)) and len(ids) < 60  # deterministic and small
    real = [c for c in cases if has_stand_in(c)]
    tables = table_ids()
    everything = set().union(*(features(c, tables) for c in real))
    by_id = {c.id: c for c in real}
    chosen = [by_id[i] for i in ids if i in by_id]
    touched = set().union(*(features(c, tables) for c in chosen))
    assert touched == everything
    kinds = {f.split()[0] for f in everything}
    assert kinds == {"benchmark", "method", "preset", "table", "figure", "unpruned"}
    assert {f for f in everything if f.startswith("table")} == {f"table {t}" for t in PAPER_TABLES}
    # Fig. 1, 2, 10, Fig. 9 for both models, and Fig. 2 on Qwen3-VL-8B
    assert len([f for f in everything if f.startswith("figure")]) == 6
    for figure in {figure_of(c) for c in chosen} - {None}:  # each figure's line has two points: it plots
        assert len([c for c in chosen if figure_of(c) == figure]) >= 2, figure
    assert {c.id for c in info if has_stand_in(c)} <= set(ids)


def _record(case, value: float = 50.0, stand_in: str = "stand-in-x") -> Record:  # type: ignore[no-untyped-def]
    bench = BENCHMARKS.get(case.benchmark)
    metrics = {m.name: value for m in bench.metrics}
    return Record(case=case.id, model=case.model, benchmark=case.benchmark, schedule=str(case.resolved),
                  device="cpu", dtype="float32", attn_implementation="sdpa", n=4, failures=0, metrics=metrics,
                  average_visual_tokens=64.0, flops_t=1.0, kv_mb=2.0,
                  timing={"measured_prefill_ms": 3.0, "e2e_ms": 4.0, "prefill_ratio": 0.5},
                  label=case.label, protocol=case.protocol, stand_in=stand_in)  # fmt: skip


@pytest.mark.parametrize("name", ["table1", "table2"])
def test_every_paper_case_label_lands_in_its_layout_cell(name):
    layout = PAPER_TABLES[name]
    cases = [c for c in all_cases() if c.model == layout.model and c.benchmark in layout.columns and "paper" in c.marks]
    assert {c.id for c in paper_table(name)} <= {c.id for c in cases}
    records = [_record(c) for c in paper_table(name)]
    assert missing_cells(layout, records) == []
    table = render(layout, records, {})
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert " on stand-ins" in table.splitlines()[0] and len(rows) == 2 + len(layout.labels())
    assert not any("–" in row for row in rows)  # every cell, Acc. and Rel. filled


def test_table3_from_its_cases_has_no_empty_cell():
    records = [_record(c) for c in paper_table("table3")]
    assert missing_table3(records) == []
    assert missing_table3(records[1:]) == [f"{records[0].label} / {c}" for c in
                                           ("tokens", "flops_t", "kv_mb", "cuda_ms", "latency_ms", "accuracy")]  # fmt: skip


def test_a_planted_label_or_layout_mismatch_leaves_an_empty_cell():
    layout = PAPER_TABLES["table2"]
    records = [_record(c) for c in paper_table("table2")]
    renamed = [replace(r, label="192:dart+rand") if r.label == "192:dart+random" else r for r in records]
    assert missing_cells(layout, renamed) == [f"192:dart+random / {b}" for b in layout.columns]
    # a layout whose row was renamed (a preset row the cases do not have): its row is empty, named
    moved = replace(layout, methods=tuple("dart+vtw" if m == "fastv+vtw" else m for m in layout.methods))
    assert "192:dart+vtw / mme" not in missing_cells(moved, records)  # a row both have
    relabelled = [replace(r, label=r.label.replace("fastv+vtw", "fastv+VTW")) for r in records]
    assert "64:fastv+vtw / gqa" in missing_cells(layout, relabelled)
    wrong_bench = [replace(r, benchmark="textvqa") if r.benchmark == "textvqa-ocr" else r for r in records]
    assert "full / textvqa-ocr" in missing_cells(layout, wrong_bench)


def test_a_table_refuses_stand_in_and_real_records_together():
    layout = PAPER_TABLES["table2"]
    records = [_record(c) for c in paper_table("table2")]
    mixed = [replace(records[0], stand_in=""), *records[1:]]
    with pytest.raises(ValueError, match="stand-ins and from the real model"):
        render(layout, mixed, {})


def test_the_report_puts_stand_ins_apart_under_their_heading():
    from horizon.report.document import STAND_IN_HEADING, render_report

    cases = paper_table("table2")
    stand = [_record(c, 23.41) for c in cases]
    real = [replace(_record(c, 87.66), stand_in="") for c in cases]
    text = render_report(stand + real, {"table2": {"full": {"mme": 1500.0}}})
    head, _, tail = text.partition(f"# {STAND_IN_HEADING}")
    assert tail, "no stand-in part"

    def full_rows(part: str) -> list[str]:
        return [line for line in part.splitlines() if line.startswith("| full ")]

    assert len(full_rows(head)) == len(full_rows(tail)) == 2  # Tables 2 and 3
    assert all("87.7" in row and "23.4" not in row for row in full_rows(head))
    assert all("23.4" in row and "87.7" not in row for row in full_rows(tail))
    assert "(1500," in head and "(1500," not in tail  # paper values beside real numbers only
    assert "Table 2: LLaVA-1.5-7B (protocol paper) on stand-ins" in tail
    assert "Table 2: LLaVA-1.5-7B (protocol paper)\n" in head
    only_stand = render_report(stand, {})
    assert only_stand.index(f"# {STAND_IN_HEADING}") < only_stand.index("### Table 2")


def test_stand_in_records_and_baselines_live_apart(tmp_path):
    from horizon.harness.check import baseline_metrics, baseline_path

    case = paper_table("table3")[1]
    stand, real = _record(case), replace(_record(case), stand_in="")
    paths = write_record(tmp_path, stand), write_record(tmp_path, real)
    assert paths[0].relative_to(tmp_path).parts[:2] == ("stand-in", "cpu") and paths[1].parent == tmp_path / "cpu"
    assert sorted(bool(r.stand_in) for r in read_records(tmp_path)) == [False, True]  # two records, one case
    assert baseline_path(tmp_path, stand) == tmp_path / "stand-in" / "cpu" / case.model / f"{case.benchmark}.json"
    assert "prefill_ratio" not in baseline_metrics(stand) and "prefill_ratio" in baseline_metrics(real)


def test_a_stand_in_study_baseline_keeps_scores_and_horizons_not_information_values():
    """Random weights put a stand-in's information at ~1e-6, where a BLAS build moves it by more than any band: its
    baseline keeps the study's scores, horizon layers and visual tokens; a real study's keeps every number."""
    from horizon.harness.check import baseline_metrics

    case = next(c for c in information_matrix() if c.model == "llava-1.5-7b")
    metrics = {"horizon_layer": 21.0, "full:total": 1200.0, "info_mean@0": 2e-6, "info_var@0": 1e-12,
               "retained_random0.5@31": 3e-6, "oracle0.1@31:total": 900.0}  # fmt: skip
    stand = replace(_record(paper_table("table1")[0]), case=case.id, benchmark="mme", schedule="information",
                    metrics=metrics)  # fmt: skip
    kept = baseline_metrics(stand)
    assert sorted(kept) == ["full:total", "horizon_layer", "oracle0.1@31:total", "visual_tokens"]
    assert set(metrics) <= set(baseline_metrics(replace(stand, stand_in="")))


def test_a_stand_in_case_runs_the_real_path_and_is_marked(tmp_path, horizon_cache):
    from horizon.efficiency.flops import prefill_flops
    from horizon.harness.runner import CaseRunner

    data = fixtures.write_all(tmp_path / "data")
    runner = CaseRunner({"HORIZON_DATA": str(data)}, {"HORIZON_CACHE": str(horizon_cache)}, stand_ins=True)
    case = next(c for c in paper_table("table2") if c.label == "64:dart+random" and c.benchmark == "pope")
    record = runner.run(case)
    assert (record.model, record.stand_in, record.case) == ("llava-1.5-7b", "stand-in-llava-1.5-7b", case.id)
    assert record.protocol == "paper" and len(record.seed_metrics) == 3 and record.failures == 0
    assert record.provenance == "released" and 60 < record.average_visual_tokens < 70
    arch = MODELS.get("llava-1.5-7b").arch  # analytic costs of the real architecture, not the stand-in's
    text = round(record.flops_t * 1e12 - prefill_flops(arch, [0] * arch.layers))
    assert record.flops_t > 1.0 and text > 0


def test_suite_collects_every_real_case_under_stand_ins_and_none_is_skipped():
    out = subprocess.run([sys.executable, "-m", "pytest", "suite/test_matrix.py", "--stand-ins", "--collect-only", "-q",
                          "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    m = re.search(r"(\d+)/(\d+) tests collected \((\d+) deselected\)", out.stdout)
    assert m, out.stdout[-500:]
    real = [c for c in [*all_cases(), *information_matrix()] if has_stand_in(c)]
    assert int(m[1]) == len(real) and int(m[2]) - int(m[3]) == len(real)
    sampled = subprocess.run([sys.executable, "-m", "pytest", "suite/test_matrix.py", "--stand-ins", "--collect-only",
                              "-q", "-m", "stand_in_sample", "-p", "no:cacheprovider"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    m = re.search(r"(\d+)/(\d+) tests collected", sampled.stdout)
    assert m and int(m[1]) == len(sample(all_cases(), information_matrix())), sampled.stdout[-500:]
