"""Writing the session's report from the records under a folder: report.md, its figures, cases.csv and cases.json."""

from __future__ import annotations

from pathlib import Path

from horizon.files import write_atomic
from horizon.harness.check import find_regressions


def write_report(results: Path, out: Path, paper_root: Path, baselines: Path | None = None, *,
                 stand_ins: bool | None = None) -> tuple[Path, int]:
    """Render every record under ``results`` into ``out/report.md`` (with the regressions against ``baselines``
    when given), and every case's numbers into ``out/cases.csv`` and ``out/cases.json``; returns the report and
    the record count. ``stand_ins`` True/False keeps only stand-in/real records (a suite session's own kind); None
    keeps both, the stand-ins in their own part of the report."""
    from horizon.harness.records import read_records
    from horizon.models.presets import STAND_IN_PREFIX
    from horizon.report.cases import cases_csv, cases_json
    from horizon.report.document import render_report
    from horizon.report.figures import plot_sweeps
    from horizon.report.information import plot_information
    from horizon.report.tables import LAYOUTS, load_paper

    records = [r for r in read_records(results) if stand_ins is None or bool(r.stand_in) == stand_ins]
    paper = {name: load_paper(paper_root, name) for name in (*LAYOUTS, "table3")}
    real = [r for r in records if not r.stand_in]
    stand = [r for r in records if r.stand_in]
    figures = [p.name for p in plot_sweeps(real, out) + plot_sweeps(stand, out, STAND_IN_PREFIX)]
    info_figures = {}
    for r in (r for r in records if r.information):  # a stand-in's figures and key are prefixed (document.py)
        prefix = STAND_IN_PREFIX if r.stand_in else ""
        info_figures[prefix + r.case] = [p.name for p in plot_information(r.information, out, prefix)]
    path = out / "report.md"
    regressions = None if baselines is None else find_regressions(records, baselines)
    write_atomic(path, render_report(records, paper, figures=figures, regressions=regressions,
                                     information_figures=info_figures))  # fmt: skip
    write_atomic(out / "cases.csv", cases_csv(records))
    write_atomic(out / "cases.json", cases_json(records))
    return path, len(records)

