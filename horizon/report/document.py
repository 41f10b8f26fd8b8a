"""The report document: a header (machine, versions), the paper-layout tables, every case; pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from horizon.harness.records import Record
from horizon.models.presets import STAND_IN_NEW_TOKENS, STAND_IN_PREFIX
from horizon.paper_tables import PAPER_TABLES
from horizon.report.cases import render_cases
from horizon.report.information import render_horizons, render_information
from horizon.report.organism import render_organisms
from horizon.report.settings import render_settings, uses_paper_settings
from horizon.report.tables import LAYOUTS, protocols, render, render_table3

STAND_IN_HEADING = "Stand-in models: machinery only, numbers carry no meaning"


def render_report(
    records: Sequence[Record],
    paper: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    machine: str = "",
    figures: Sequence[str] = (),
    regressions: Sequence[str] | None = None,
    information_figures: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The whole Markdown report; ``regressions`` (None: not checked) are the records' problems against their
    baselines; ``information_figures`` maps an information case to its PNGs. Stand-in records (``Record.stand_in``)
    get their own part under :data:`STAND_IN_HEADING`, after every real one, with figures and information-figure keys
    prefixed :data:`STAND_IN_PREFIX`."""
    versions = sorted({", ".join(f"{k} {v}" for k, v in sorted(r.versions.items())) for r in records})
    devices = sorted({r.device for r in records})
    parts = [
        "# horizon report",
        "",
        f"{len(records)} case records from {', '.join(devices) or 'no device'}" + (f" · {machine}" if machine else ""),
        *(f"- versions: {v}" for v in versions),
        "- FLOPs: dense-prefill (horizon/efficiency/flops.py) at each case's mean prompt length",
        "",
    ]
    if regressions is not None:
        parts += _regressions(regressions, len(records))
    real = [r for r in records if not r.stand_in]
    stand_ins = [r for r in records if r.stand_in]
    info = information_figures or {}
    parts += _body(real, paper, [f for f in figures if not f.startswith(STAND_IN_PREFIX)], info)
    if stand_ins:  # never in a table with real records; no paper values beside numbers that carry no meaning
        used = sorted({f"{r.stand_in} for {r.model}" for r in stand_ins})
        parts += [f"# {STAND_IN_HEADING}", "", f"{len(stand_ins)} records of cases run on stand-ins ({', '.join(used)}): "
                  "the real benchmark code on fixture rows, random weights of the real depth and visual geometry, at most "
                  f"{STAND_IN_NEW_TOKENS} new tokens. They check the harness's plumbing and a machine's configuration "
                  "before the real run (docs/stand-ins.md); they measure nothing.", ""]  # fmt: skip
        chosen = [f for f in figures if f.startswith(STAND_IN_PREFIX)]
        parts += _body(stand_ins, {}, chosen, {k.removeprefix(STAND_IN_PREFIX): v for k, v in info.items()
                                               if k.startswith(STAND_IN_PREFIX)})  # fmt: skip
    return "\n".join(parts)


def _body(records: Sequence[Record], paper: Mapping[str, Mapping[str, Mapping[str, float]]], figures: Sequence[str],
          information_figures: Mapping[str, Sequence[str]]) -> list[str]:
    """The report's sections from ``records`` (all real, or all stand-ins): organisms, the paper's tables, their
    settings, the information sections, the layer sweeps, every case."""
    parts = []
    organisms = render_organisms(records)
    if organisms:
        parts.append(organisms)
    for name, layout in LAYOUTS.items():
        for protocol in protocols(records, layout.model):  # never two protocols in one table
            chosen = [r for r in records if r.protocol == protocol]
            parts.append(render(layout, chosen, paper.get(name, {})))
    table3 = PAPER_TABLES["table3"]
    if any(r.model == table3.model and r.benchmark == table3.columns[0] for r in records):
        parts.append(render_table3(records, paper.get("table3", {})))
    if uses_paper_settings(r.schedule for r in records):
        parts.append(render_settings())
    studies = [r for r in records if r.information]
    horizons = render_horizons(records)
    if studies or horizons:
        parts += ["## Visual-token information", ""]
        parts += [horizons] if horizons else []
        parts += [render_information(r.information, information_figures.get(r.case, ())) for r in studies]
    if figures:
        parts += ["## Layer sweeps", ""] + [f"![{name}]({name})" for name in figures] + [""]
    parts += ["## All cases", "", "Every metric of every case: `cases.csv` (one row per case and metric) and `cases.json` "
              "(the records whole) beside this report.", "", render_cases(records), ""]
    return parts


def _regressions(problems: Sequence[str], n: int) -> list[str]:
    if not problems:
        return ["## Regressions", "", f"None: all {n} records are within their baselines' tolerances.", ""]
    return ["## Regressions", "", f"{len(problems)} problems against the baselines:", "",
            *(f"- {p}" for p in problems), ""]  # fmt: skip
