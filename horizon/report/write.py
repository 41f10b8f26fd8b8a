"""Writing a report: from the records under a folder (a suite session's, ``horizon report RESULTS``) into report.md,
its figures, figures.json (what each figure plots), cases.csv and cases.json; or from baseline files into a page that
can be read without running anything (``horizon report --from-baselines``, docs/report.md). Every file of one report
is written in one atomic step (horizon/files.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from horizon.files import write_all_atomic
from horizon.harness.check import find_regressions
from horizon.harness.records import Record
from horizon.report.figure import FigureSpec

PAGE = "report.md"
FIGURE_DATA = "figures.json"
PAGE_FIGURES = "report"  # the baseline page's figures: a folder beside it, named after it
REGENERATE = "horizon report --from-baselines baselines --out docs"  # how docs/report.md is written


def write_report(results: Path, out: Path, paper_root: Path, baselines: Path | None = None, *,
                 stand_ins: bool | None = None) -> tuple[Path, int]:  # fmt: skip
    """Render every record under ``results`` into ``out/report.md`` (with the regressions against ``baselines``
    when given), its figures beside it, and every case's numbers into ``out/cases.csv`` and ``out/cases.json``; returns
    the report and the record count. ``stand_ins`` True/False keeps only stand-in/real records (a suite session's own
    kind); None keeps both, the stand-ins in their own part of the report."""
    from horizon.harness.records import read_records
    from horizon.report.cases import cases_csv, cases_json

    records = [r for r in read_records(results) if stand_ins is None or bool(r.stand_in) == stand_ins]
    regressions = None if baselines is None else find_regressions(records, baselines)
    text, specs = page(records, load_papers(paper_root), regressions=regressions)
    files: dict[Path, str | bytes] = {out / "cases.csv": cases_csv(records), out / "cases.json": cases_json(records)}
    return _write(out, text, specs, "", files), len(records)


def write_baseline_page(baselines: Path, out: Path, paper_root: Path, *, stand_ins: bool = False,
                        draw: bool = True) -> tuple[Path, int]:  # fmt: skip
    """The page of every case in the baseline files under ``baselines`` (``stand_ins``: the stand-ins' too) as
    ``out/report.md``, its figures and ``figures.json`` under ``out/report/`` (``draw`` False: the data without the
    PNGs); a PNG there that the page no longer shows is removed. Returns the page and the record count."""
    from horizon.report.from_baselines import read_baseline_records

    records = read_baseline_records(baselines, stand_ins=stand_ins)
    text, specs = baseline_page(records, load_papers(paper_root))
    path = _write(out, text, specs, f"{PAGE_FIGURES}/", {}, draw=draw)
    if draw:
        shown = {s.name for s in specs}
        for stale in (out / PAGE_FIGURES).glob("*.png"):
            if stale.name not in shown:
                stale.unlink()
    return path, len(records)


def baseline_page(records: Sequence[Record], paper: Mapping[str, Mapping[str, Mapping[str, float]]]) -> tuple[
        str, list[FigureSpec]]:  # fmt: skip
    """The page of records rebuilt from baselines and its figures: what :func:`write_baseline_page` writes; pure."""
    from horizon.report.from_baselines import NOT_IN_BASELINES, devices

    source = (f"Rendered from the committed baseline files (`baselines/<device>/<model>/<benchmark>.json`, device "
              f"{devices(records)}) by `{REGENERATE}`; nothing was run to write it. {len(records)} cases: each one's "
              "metrics, sample count, failed samples and per-sample values from its baseline; its model, benchmark, "
              f"schedule, label and seeds from the suite's case matrix (horizon/harness/matrix.py). Not in baselines, "
              f"so not here: {NOT_IN_BASELINES} (the capacity finding compares withdraw horizons only). The baselines "
              "are what `pytest suite` checks every run against, so these are the numbers the suite reproduces.")  # fmt: skip
    cases = "the baseline files themselves (`baselines/<device>/<model>/<benchmark>.json`)"
    return page(records, paper, source=source, figure_folder=f"{PAGE_FIGURES}/", cases_note=cases)


def page(records: Sequence[Record], paper: Mapping[str, Mapping[str, Mapping[str, float]]], *,
         regressions: Sequence[str] | None = None, source: str = "", figure_folder: str = "",
         cases_note: str = "") -> tuple[str, list[FigureSpec]]:  # fmt: skip
    """The report's Markdown and the figures it shows; pure."""
    from horizon.report.document import CASES_FILES, render_report

    specs = page_figures(records)
    text = render_report(records, paper, figures=specs, regressions=regressions, source=source,
                         figure_folder=figure_folder, cases_note=cases_note or CASES_FILES)  # fmt: skip
    return text, specs


def page_figures(records: Sequence[Record]) -> list[FigureSpec]:
    """Every figure of a report of ``records``: the layer sweeps, then each information study's; a stand-in's file
    names start with ``stand-in-``."""
    from horizon.models.presets import STAND_IN_PREFIX
    from horizon.report.figures import sweep_figures
    from horizon.report.information_figures import information_figures

    real = [r for r in records if not r.stand_in]
    specs = sweep_figures(real) + sweep_figures([r for r in records if r.stand_in], STAND_IN_PREFIX)
    for r in records:
        if r.information:
            specs += information_figures(r.information, r.case, STAND_IN_PREFIX if r.stand_in else "", r.stand_in)
    return specs


def load_papers(root: Path) -> dict[str, dict[str, dict[str, float]]]:
    """The paper's tables under ``root`` (``{}`` for a table that is not there)."""
    from horizon.report.tables import LAYOUTS, load_paper

    return {name: load_paper(root, name) for name in (*LAYOUTS, "table3")}


def _write(out: Path, text: str, specs: Sequence[FigureSpec], folder: str, files: dict[Path, str | bytes], *,
           draw: bool = True) -> Path:  # fmt: skip
    """The page, its figures' data and (``draw``) PNGs under ``out/folder``, and ``files``, in one atomic step."""
    from horizon.report.figure import figures_json, save

    where = out / folder if folder else out
    if draw:
        files.update(save(spec, where) for spec in specs)
    files[where / FIGURE_DATA] = figures_json(specs)
    files[out / PAGE] = text
    write_all_atomic(files)
    return out / PAGE
