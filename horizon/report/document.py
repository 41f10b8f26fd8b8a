"""The report document, in the order a reader needs it: the findings' verdicts, the paper's tables, then the details
(the organisms' sections, the information studies, the layer sweeps' figures, every case); pure.

Records of models whose numbers carry no meaning (the tiny random-weight models, stand-ins) are never beside the
others: each kind gets its own part after every real one, under a heading that says "machinery only". Prose is
wrapped for reading (:mod:`horizon.report.markdown`); tables are not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from horizon.harness.records import Record
from horizon.models.presets import MODELS, STAND_IN_NEW_TOKENS
from horizon.paper_tables import PAPER_TABLES
from horizon.report.cases import render_cases
from horizon.report.figure import FigureSpec, markdown
from horizon.report.information import render_horizons, render_information
from horizon.report.markdown import wrap
from horizon.report.organism import organism_report
from horizon.report.organism_data import FAMILIES
from horizon.report.organism_verdicts import render_findings
from horizon.report.settings import render_settings, uses_paper_settings
from horizon.report.tables import LAYOUTS, protocols, render, render_table3

STAND_IN_HEADING = "Stand-in models: machinery only, numbers carry no meaning"
TINY_HEADING = "Tiny random-weight models: machinery only, numbers carry no meaning"
CASES_FILES = "`cases.csv` (one row per case and metric) and `cases.json` (the records whole) beside this report"

Paper = Mapping[str, Mapping[str, Mapping[str, float]]]


def random_weights(record: Record) -> bool:
    """A tiny random-weight model's record (a preset built from its config, no checkpoint; not a stand-in's)."""
    return not record.stand_in and record.model in MODELS and MODELS.get(record.model).tiny


def render_report(
    records: Sequence[Record],
    paper: Paper,
    *,
    machine: str = "",
    figures: Sequence[FigureSpec] = (),
    regressions: Sequence[str] | None = None,
    source: str = "",
    figure_folder: str = "",
    cases_note: str = CASES_FILES,
) -> str:
    """The whole Markdown report. ``regressions`` (None: not checked) are the records' problems against their
    baselines; ``figures`` the figures drawn for it (``figure_folder``: their path from the page, ending in ``/``);
    ``source`` says where the records come from (default: the records' devices and versions); ``cases_note`` where
    every number of every case is. The tiny models' records (:func:`random_weights`) and the stand-ins'
    (``Record.stand_in``) get their parts under :data:`TINY_HEADING` and :data:`STAND_IN_HEADING`, after every real
    one, with their own figures."""
    real = [r for r in records if not r.stand_in and not random_weights(r)]
    tiny = [r for r in records if random_weights(r)]
    stand_ins = [r for r in records if r.stand_in]
    organisms = organism_report(real)
    parts = ["# horizon report", "", *render_findings(organisms.verdicts), "## About these records", ""]
    parts += [source or _source(records, machine), ""]
    if regressions is not None:
        parts += _regressions(regressions, len(records))
    body = _Body(figures, figure_folder, cases_note)
    if real or not (tiny or stand_ins):
        parts += body.render(real, paper, organisms.text, tables_note=True)
    if tiny:  # numbers that carry no meaning: never beside the organisms' or a real checkpoint's
        names = ", ".join(sorted({r.model for r in tiny}))
        parts += [f"# {TINY_HEADING}", "", f"{len(tiny)} records of the tiny random-weight models ({names}): the real "
                  "benchmarks' loading, prompting and scoring code run on fixture rows by models with random weights "
                  "(horizon/models/tiny.py). They check the machinery; no verdict reads them.", ""]  # fmt: skip
        parts += _machinery(body.render(tiny, {}, organism_report(tiny).text))
    if stand_ins:  # no paper values beside numbers that carry no meaning
        used = sorted({f"{r.stand_in} for {r.model}" for r in stand_ins})
        parts += [f"# {STAND_IN_HEADING}", "", f"{len(stand_ins)} records of cases run on stand-ins ({', '.join(used)}): "
                  "the real benchmark code on fixture rows, random weights of the real depth and visual geometry, at most "
                  f"{STAND_IN_NEW_TOKENS} new tokens. They check the harness's plumbing and a machine's configuration "
                  "before the real run (docs/stand-ins.md); they measure nothing.", ""]  # fmt: skip
        parts += _machinery(body.render(stand_ins, {}, organism_report(stand_ins).text))
    return wrap("\n".join(parts).rstrip("\n") + "\n")


MACHINERY = " (machinery only)"


def _machinery(parts: list[str]) -> list[str]:
    """A machinery-only part's sections: every heading and figure caption in it says so too."""
    out = []
    for part in parts:
        lines = [line + MACHINERY if line.startswith(("## ", "### ")) else
                 line.replace("*Figure: ", "*Figure (machinery only: random weights): ", 1) for line in part.split("\n")]
        out.append("\n".join(lines))
    return out


def _source(records: Sequence[Record], machine: str) -> str:
    devices = sorted({r.device for r in records})
    versions = sorted({", ".join(f"{k} {v}" for k, v in sorted(r.versions.items())) for r in records})
    lines = [f"{len(records)} case records from {', '.join(devices) or 'no device'}" + (f" · {machine}" if machine else "")]
    lines += [f"- versions: {v}" for v in versions if v]
    lines.append("- FLOPs: dense-prefill (horizon/efficiency/flops.py) at each case's mean prompt length")
    return "\n".join(lines)


class _Body:
    """The sections of one part of the report (real records, or one kind of machinery-only records)."""

    def __init__(self, figures: Sequence[FigureSpec], folder: str, cases_note: str) -> None:
        self.figures, self.folder, self.cases_note = figures, folder, cases_note

    def render(self, records: Sequence[Record], paper: Paper, organisms: str, tables_note: bool = False) -> list[str]:
        """The paper's tables and settings, the organisms' sections, the information sections, the layer sweeps'
        figures, every case."""
        parts = self._tables(records, paper, tables_note)
        parts += [organisms] if organisms else []
        models = {r.model for r in records}
        stand_in = bool(records) and bool(records[0].stand_in)
        mine = [f for f in self.figures if f.model in models and f.stand_in == stand_in]
        studies = [r for r in records if r.information]
        horizons = render_horizons(records)
        if studies or horizons:
            parts += ["## Visual-token information", ""]
            parts += [horizons] if horizons else []
            parts += [render_information(r.information, [f for f in mine if f.case == r.case], self.folder)
                      for r in studies]  # fmt: skip
        sweeps = [f for f in mine if not f.case]
        if sweeps:
            parts += ["## Layer sweeps", ""]
            for figure in sweeps:
                parts += markdown(figure, self.folder)
        parts += ["## All cases", "", f"Every metric of every case: {self.cases_note}.", "", render_cases(records), ""]
        return parts

    @staticmethod
    def _tables(records: Sequence[Record], paper: Paper, note: bool) -> list[str]:
        tables = []
        for name, layout in LAYOUTS.items():
            for protocol in protocols(records, layout.model):  # never two protocols in one table
                chosen = [r for r in records if r.protocol == protocol]
                tables.append(render(layout, chosen, paper.get(name, {})))
        table3 = PAPER_TABLES["table3"]
        if any(r.model == table3.model and r.benchmark == table3.columns[0] for r in records):
            tables.append(render_table3(records, paper.get("table3", {})))
        parts = ["## The paper's tables", "", *tables] if tables else []
        if not tables and note:
            parts = ["## The paper's tables", "", "No case of the paper's Tables 1-3 is among these records: they run "
                     "on the real checkpoints (`pytest suite -m paper`, docs/suite.md). The organisms' tables below "
                     "follow the layouts of the paper's figures.", ""]  # fmt: skip
        # the paper's settings (Tables 4/5) beside a part that runs its presets; an organism's own schedules
        # (vtw@4, ...) may read like one, and are not
        if uses_paper_settings(r.schedule for r in records if r.benchmark not in FAMILIES):
            parts.append(render_settings())
        return parts


def _regressions(problems: Sequence[str], n: int) -> list[str]:
    if not problems:
        return ["## Regressions", "", f"None: all {n} records are within their baselines' tolerances.", ""]
    return ["## Regressions", "", f"{len(problems)} problems against the baselines:", "",
            *(f"- {p}" for p in problems), ""]  # fmt: skip
