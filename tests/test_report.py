"""Report tables: the Acc./Rel. formulas reproduce the paper's own columns; rendering from records."""

from __future__ import annotations

from pathlib import Path

import pytest

from horizon.harness.records import Record
from horizon.report.tables import LAYOUTS, accuracy, load_paper, relative, render

PAPER = Path(__file__).parents[1] / "baselines" / "paper"


@pytest.mark.parametrize("name", ["table1", "table2"])
def test_rel_and_acc_formulas_reproduce_the_papers_columns(name):
    import json

    data = json.loads((PAPER / f"{name}.json").read_text())
    rows, cols = data["rows"], data["columns"]
    for label, reported in data["reported"].items():
        assert relative(rows[label], rows["full"], cols) == pytest.approx(reported["rel"], abs=0.11), label
        if "acc" in reported:
            assert accuracy(rows[label], cols) == pytest.approx(reported["acc"], abs=0.11), label


def _record(bench: str, label: str, value: float) -> Record:
    metric = {"mme": "total", "pope": "f1", "mmbench-en": "circular_accuracy", "mmbench-cn": "circular_accuracy"}
    return Record(case=f"llava-1.5-7b-{bench}-{label}", model="llava-1.5-7b", benchmark=bench, schedule="s",
                  device="h100", dtype="float16", attn_implementation="sdpa", n=100, failures=0,
                  metrics={metric.get(bench, "accuracy"): value}, average_visual_tokens=192.0, label=label)  # fmt: skip


def test_render_table2_from_records():
    layout = LAYOUTS["table2"]
    paper = load_paper(PAPER, "table2")
    records = [_record(b, "full", paper["full"][b]) for b in layout.columns]
    records += [_record(b, "192:dart+random", paper["192:dart+random"][b] - 1.0) for b in layout.columns]
    text = render(layout, records, paper)
    assert text.startswith("### Table 2: LLaVA-1.5-7B") and "| Method" in text
    line = next(x for x in text.splitlines() if x.startswith("| 192:dart+random"))
    assert "1815.0 (1816, -1.0)" in line and "| 68.2 (69.2, -1.0)" in line
    # Rel.: 1815/1862, 68.2/69.5, 83.4/85.9, 55.8/58.3, 62.9/64.6, 58.6/62, 56.7/58.1 -> mean 0.9684
    assert line.rstrip(" |").endswith("96.8")
    assert "| 64:fastv " in text and "– (1088)" in text  # not run: the paper's value alone


def test_table3_shows_costs_times_and_paper_values():
    from horizon.report.tables import render_table3

    r = Record(case="c", model="llava-1.5-7b", benchmark="textvqa-ocr", schedule="s", device="h100", dtype="float16",
               attn_implementation="sdpa", n=50, failures=0, metrics={"accuracy": 56.0}, average_visual_tokens=193.3,
               flops_t=4.07, kv_mb=154.7, timing={"measured_prefill_ms": 60.0, "e2e_ms": 150.0},
               label="192:dart+random")  # fmt: skip
    text = render_table3([r], load_paper(PAPER, "table3"))
    line = next(x for x in text.splitlines() if x.startswith("| 192:dart+random"))
    for cell in (
        "193.3 (192, +1.3)",
        "4.07 (4.06, +0.01)",
        "154.7 (154.2, +0.5)",
        "60.0 (67.4, -7.4)",
        "56.0 (56.8, -0.8)",
    ):
        assert cell in line


def test_sweep_figures_from_records(tmp_path):
    from horizon.report.figures import plot_sweeps, sweep_points

    def rec(schedule: str, acc: float) -> Record:
        return Record(case=f"m-b-{schedule}", model="llava-1.5-7b", benchmark="pope", schedule=schedule,
                      device="cpu", dtype="float32", attn_implementation="sdpa", n=10, failures=0,
                      metrics={"f1": acc}, average_visual_tokens=1.0)  # fmt: skip

    records = [rec("full", 85.0)] + [rec(f"{m}@{layer}:0.1", 60 + layer + (5 if m == "dart" else 0))
                                     for m in ("random", "dart") for layer in (2, 8, 16)]  # fmt: skip
    records += [rec("dart@2:0.44+random@20:0.07", 80.0)]  # multi-stage: not a sweep point
    points = sweep_points(records)
    assert points == {("llava-1.5-7b", "pope", "0.1", 0): {"dart": [(2, 67.0), (8, 73.0), (16, 81.0)],
                                                            "random": [(2, 62.0), (8, 68.0), (16, 76.0)]}}  # fmt: skip
    (png,) = plot_sweeps(records, tmp_path)
    assert png.name == "sweep-llava-1.5-7b-pope-0.1.png" and png.read_bytes()[:4] == b"\x89PNG"


def test_settings_tables_are_rendered_from_the_schedules():
    from horizon.report.settings import render_settings

    text = render_settings()
    line = next(x for x in text.splitlines() if x.startswith("| dart+random ") and "random @ 20: 0.07" in x)
    assert "dart @ 2: 0.44" in line and "193.3" in line  # (2·576 + 18·253 + 12·40) / 32
    assert "| sparsevlm (derived)" in text and "### paper:llava-64" in text


def test_regressions_section_names_case_metric_and_values(tmp_path):
    from horizon.files import write_atomic
    from horizon.harness.baselines import BaselineFile, dumps
    from horizon.harness.check import find_regressions
    from horizon.report.document import render_report

    good, bad, new = _record("gqa", "full", 60.0), _record("gqa", "64:dart", 40.0), _record("sqa", "full", 1.0)
    base = BaselineFile("h100", "llava-1.5-7b", "gqa")
    for r, value in ((good, 60.2), (bad, 70.0)):
        base = base.with_case(r.case, r.n, {"accuracy": value, "visual_tokens": 192.0})
    write_atomic(tmp_path / "h100" / "llava-1.5-7b" / "gqa.json", dumps(base))
    problems = find_regressions([good, bad, new], tmp_path)
    assert len(problems) == 2
    assert problems[0].startswith("llava-1.5-7b-gqa-64:dart: accuracy = 40, lower than the baseline 70")
    assert "llava-1.5-7b-sqa-full: no baseline in" in problems[1]
    text = render_report([good, bad], {}, regressions=find_regressions([good, bad], tmp_path))
    assert "## Regressions" in text and "1 problems against the baselines" in text
    assert "None: all 1 records" in render_report([good], {}, regressions=find_regressions([good], tmp_path))


def test_horizons_from_withdraw_sweeps_and_information_cases():
    from dataclasses import replace

    from horizon.report.information import render_horizons

    full = _record("textvqa-ocr", "full", 58.0)
    full = replace(full, schedule="full", n=5000)
    sweep = [replace(_record("textvqa-ocr", "vtw", acc), case=f"c{k}", schedule=f"vtw@{k}")
             for k, acc in ((8, 20.0), (16, 40.0), (24, 57.5), (28, 58.2))]  # fmt: skip
    info = replace(_record("mme", "information", 0.0), information={"horizon": 16, "withdraw_horizon": None})
    text = render_horizons([full, *sweep, info])
    rows = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| llava")}
    assert rows["textvqa-ocr"].split("|")[5].strip() == "24"  # 57.5 >= 58 - max(1, 2 * 0.70)
    assert "≈24" in rows["textvqa-ocr"]
    assert rows["mme"].split("|")[3].strip() == "16" and rows["mme"].split("|")[4].strip() == "none"


def test_the_cases_table_is_compact_and_the_full_data_goes_to_csv_and_json(tmp_path):
    import csv
    import json

    from horizon.harness.records import write_record
    from horizon.report.cases import cases_csv, cases_json, render_cases
    from horizon.report.write import write_report

    study = Record(case="tiny-llava-pope-information", model="tiny-llava", benchmark="pope", schedule="information",
                   device="cpu", dtype="float32", attn_implementation="sdpa", n=2, failures=0,
                   metrics={"horizon_layer": 4.0, **{f"info_mean@{i}": 1e-5 * i for i in range(300)}},
                   average_visual_tokens=576.0, label="information")  # fmt: skip
    records = [study, _record("pope", "full", 80.0)]
    table = render_cases(records)
    assert max(len(line) for line in table.splitlines()) < 200  # 300 metrics do not widen the table
    assert "horizon layer 4 (301 numbers)" in table and "f1 80" in table
    rows = list(csv.DictReader(cases_csv(records).splitlines()))
    assert len([r for r in rows if r["case"] == study.case]) == 301 + 1  # every metric and the visual tokens
    assert {r["metric"] for r in rows if r["case"] != study.case} >= {"f1", "visual_tokens"}
    assert [r["case"] for r in json.loads(cases_json(records))] == [study.case, records[1].case]  # by device, case
    for r in records:
        write_record(tmp_path / "results", r)
    report, n = write_report(tmp_path / "results", tmp_path / "out", PAPER)
    assert n == 2 and {p.name for p in (tmp_path / "out").iterdir()} >= {"report.md", "cases.csv", "cases.json"}
    assert "cases.csv" in report.read_text()


def test_horizons_are_paired_where_records_keep_their_samples():
    from dataclasses import replace

    from horizon.report.information import render_horizons

    def with_lost(r, lost):  # 116 of 200 right in the unpruned run; ``lost`` of them wrong here
        rows = [[f"s{i:03d}", "x", 1.0 if lost <= i < 116 else 0.0] for i in range(200)]
        return replace(r, samples=rows, n=200)

    full = with_lost(replace(_record("textvqa-ocr", "full", 58.0), schedule="full"), 0)
    sweep = [with_lost(replace(_record("textvqa-ocr", "vtw", 58.0), case=f"c{k}", schedule=f"vtw@{k}"), lost)
             for k, lost in ((8, 60), (16, 6), (24, 5), (28, 0))]  # fmt: skip
    text = render_horizons([full, *sweep])
    row = next(line for line in text.splitlines() if line.startswith("| llava"))
    assert row.split("|")[5].strip() == "24"  # 6 one-way losses at layer 16: p = 0.031; 5 at 24: p = 0.0625
    assert "paired on the same samples" in text and "without per-sample results" not in text
