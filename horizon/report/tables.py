"""Markdown tables in the layouts of the paper's Tables 1 and 2, from records; pure functions.

Columns are the paper's benchmarks with each benchmark's headline metric (MME: perception + cognition,
POPE: F1). ``Acc.`` (Table 1) is the mean of the benchmarks with MME divided by 28 (its 2800 maximum as a
percentage); ``Rel.`` is the mean over benchmarks of the row's score over the unpruned model's score, x100.
Both formulas reproduce the paper's own Acc. and Rel. columns from its cells (tests/test_report.py). Where
the paper has the cell, a reproduced value is shown with the paper's value and the difference.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from tabulate import tabulate

from horizon.benchmarks.base import is_fallback
from horizon.benchmarks.registry import BENCHMARKS
from horizon.harness.records import Record
from horizon.metrics import Metric
from horizon.paper_tables import PAPER_TABLES, PaperTable

HEADERS = {"mme": "MME", "scienceqa-img": "SQA", "pope": "POPE", "textvqa": "VQA^T", "textvqa-ocr": "VQA^T",
           "mmbench-en": "MMB",
           "gqa": "GQA", "mmbench-cn": "MMB-CN", "infovqa": "InfoVQA", "docvqa": "DocVQA", "ocrbench": "OCRBench"}  # fmt: skip


LAYOUTS = {name: PAPER_TABLES[name] for name in ("table1", "table2", "table1-qwen3")}  # accuracy tables; Table 3 below


def headline_metric(record: Record) -> Metric:
    """The declared headline metric of ``record``'s benchmark (its spec in horizon/benchmarks/registry.py)."""
    return BENCHMARKS.get(record.benchmark).headline_metric


def score(record: Record) -> float:
    """``record``'s headline number (MME: perception + cognition, POPE: F1, ...)."""
    return record.metrics[headline_metric(record).name]


def accuracy(row: Mapping[str, float], columns: Sequence[str]) -> float:
    """The paper's Acc.: the mean of each column's headline on a 0-100 scale (a score as a share of its maximum:
    MME's 2800 gives MME / 28)."""
    return sum(BENCHMARKS.get(c).headline_metric.as_percent(row[c]) for c in columns) / len(columns)


def relative(row: Mapping[str, float], full: Mapping[str, float], columns: Sequence[str]) -> float:
    return 100 * sum(row[c] / full[c] for c in columns) / len(columns)


def load_paper(root: Path, name: str) -> dict[str, dict[str, float]]:
    """The published rows of paper table ``name`` under ``root`` (``{}`` when it is not there); a damaged file
    is a ValueError naming it."""
    path = root / f"{name}.json"
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text())["rows"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not one of the paper's tables (a JSON object with 'rows'): {err!r}") from None
    if not isinstance(rows, dict) or not all(isinstance(v, dict) for v in rows.values()):
        raise ValueError(f"{path}: 'rows' must be a JSON object of rows (each an object of cells)")
    return rows


def _cell(ours: float | None, paper: float | None, digits: int = 1, spread: float | None = None) -> str:
    if ours is None:
        return "–" if paper is None else f"– ({paper:g})"
    mine = f"{ours:.{digits}f}" + ("" if spread is None else f"±{spread:.{digits}f}")
    return mine if paper is None else f"{mine} ({paper:g}, {ours - paper:+.{digits}f})"


def protocols(records: Sequence[Record], model: str) -> list[str]:
    """The protocols ``model``'s records ran under, sorted: the report renders one table per protocol."""
    return sorted({r.protocol for r in records if r.model == model})


def _cells(layout: PaperTable, records: Sequence[Record]) -> tuple[dict[str, dict[str, float]],
                                                                    dict[str, dict[str, float]], dict[str, set[str]]]:
    """(label -> column -> score, label -> column -> spread over seeds, label -> provenances) of ``layout``'s cells."""
    cells: dict[str, dict[str, float]] = {}
    spreads: dict[str, dict[str, float]] = {}
    origin: dict[str, set[str]] = {}
    for r in records:
        if r.model == layout.model and r.benchmark in layout.columns and r.label and not r.information:
            cells.setdefault(r.label, {})[r.benchmark] = score(r)
            spread = r.spread.get(headline_metric(r).name)
            if spread is not None:
                spreads.setdefault(r.label, {})[r.benchmark] = spread
            if r.provenance:
                origin.setdefault(r.label, set()).add(r.provenance)
    return cells, spreads, origin


def missing_cells(layout: PaperTable, records: Sequence[Record]) -> list[str]:
    """The cells of ``layout`` that ``records`` leave empty (``"<row> / <benchmark>"``): after a run of every case of
    the table, none may be (a case whose label or benchmark is not its layout's lands nowhere and leaves one)."""
    cells = _cells(layout, records)[0]
    return [f"{label} / {column}" for label in layout.labels() for column in layout.columns
            if column not in cells.get(label, {})]  # fmt: skip


def _kind(records: Sequence[Record], model: str) -> str:
    """' on stand-ins' when ``model``'s records are stand-ins' (refusing a mix of stand-in and real records), else ''."""
    kinds = {bool(r.stand_in) for r in records if r.model == model}
    if len(kinds) > 1:
        raise ValueError(f"records of {model} from stand-ins and from the real model: render them apart "
                         "(a stand-in's numbers carry no meaning)")  # fmt: skip
    return " on stand-ins" if kinds == {True} else ""


def render(layout: PaperTable, records: Sequence[Record], paper: Mapping[str, Mapping[str, float]]) -> str:
    """The Markdown table of ``layout`` from ``records`` (one model, one protocol, real or stand-in), with paper values
    where present. A row ran with several seeds shows their mean ± standard deviation; a row's label names where its
    setting comes from (released scripts, transcribed from Tables 4/5, or derived) when it is a paper preset."""
    found = protocols(records, layout.model)
    if len(found) > 1:
        raise ValueError(f"{layout.name}: records of {layout.model} under several protocols ({', '.join(found)}); "
                         "render one protocol at a time")  # fmt: skip
    kind = _kind(records, layout.model)
    cells, spreads, origin = _cells(layout, records)
    full = cells.get("full", {})
    labels = layout.labels()
    headers = ["Method"] + [HEADERS[c] for c in layout.columns] + (["Acc."] if layout.acc_column else []) + ["Rel."]
    table = []
    for label in labels:
        ours, theirs = cells.get(label, {}), paper.get(label, {})
        marks = ", ".join(sorted(origin.get(label, ())))
        row = [label + (f" ({marks})" if marks else "")]
        row += [_cell(ours.get(c), theirs.get(c), spread=spreads.get(label, {}).get(c)) for c in layout.columns]
        complete = all(c in ours for c in layout.columns) and all(c in full for c in layout.columns)
        if layout.acc_column:
            row.append(f"{accuracy(ours, layout.columns):.1f}" if complete else "–")
        if complete and any(full[c] == 0 for c in layout.columns):  # a ratio to nothing (a stand-in's zeros)
            row.append("n/a (unpruned 0)")
        else:
            row.append(f"{relative(ours, full, layout.columns):.1f}" if complete else "–")
        table.append(row)
    note = "Cells: reproduced (paper, difference); – where nothing was run; ±: the standard deviation over seeds."
    if found:
        note += f" Protocol: {found[0]} (docs/protocol.md)."
    fallback = sorted({HEADERS[r.benchmark] for r in records if r.model == layout.model
                       and r.benchmark in layout.columns and is_fallback(r.scorer)})  # fmt: skip
    if fallback:
        note += (f" Scored by the lmms-eval scorer, as the {found[0]} protocol's source has none: "
                 f"{', '.join(fallback)} (each record's scorer).")  # fmt: skip
    title = layout.title + (f" (protocol {found[0]})" if found else "") + kind
    body = tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)
    return f"### {title}\n\n{body}\n\n{note}\n"


TABLE3_ROWS = PAPER_TABLES["table3"].labels()


def render_table3(records: Sequence[Record], paper: Mapping[str, Mapping[str, float]]) -> str:
    """Table 3 (LLaVA-1.5-7B on TextVQA): tokens, FLOPs, KV storage, prefill time, latency, accuracy."""
    table3 = PAPER_TABLES["table3"]
    kind = _kind(records, table3.model)
    by_label = table3_records(records)
    rows = []
    for label in TABLE3_ROWS:
        r, p = by_label.get(label), paper.get(label, {})
        ours = {} if r is None else table3_cells(r)
        rows.append([label] + [_cell(ours.get(c), p.get(c), 2 if c == "flops_t" else 1) for c in TABLE3_COLUMNS])
    headers = ["Method", "# Token (avg/layer)", "FLOPs (T)", "Storage (MB)", "Prefill (ms)", "Latency (ms)", "Acc."]
    body = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    note = ("FLOPs and storage are analytic (dense-prefill formula, fp16 KV) at the case's mean prompt length; "
            "times are medians on the recording device, comparable to the paper's A6000 only as ratios. The paper's "
            "FastV and DART rows imply other token counts than Table 5's (FastV full through layer 3, DART "
            "4 + 8*ceil((r*576-4)/8) tokens, not DART's code's 4 + 8*floor(r*576/8)), and its hybrid rows the released "
            "scripts' counts: `horizon flops --table3` shows both.")  # fmt: skip
    return f"### {table3.title}{kind}\n\n{body}\n\n{note}\n"


TABLE3_COLUMNS = ("tokens", "flops_t", "kv_mb", "cuda_ms", "latency_ms", "accuracy")


def table3_records(records: Sequence[Record]) -> dict[str, Record]:
    table3 = PAPER_TABLES["table3"]
    return {r.label: r for r in records
            if r.model == table3.model and r.benchmark == table3.columns[0] and r.label and not r.information}


def table3_cells(r: Record) -> dict[str, float | None]:
    """A Table 3 row's numbers from its record (an efficiency case: its times are measured, the rest analytic)."""
    return {"tokens": r.average_visual_tokens, "flops_t": r.flops_t, "kv_mb": r.kv_mb,
            "cuda_ms": r.timing.get("measured_prefill_ms"), "latency_ms": r.timing.get("e2e_ms"),
            "accuracy": r.metrics.get("accuracy")}  # fmt: skip


def missing_table3(records: Sequence[Record]) -> list[str]:
    """Table 3's empty cells (``"<row> / <column>"``) from ``records``."""
    by_label = table3_records(records)
    return [f"{label} / {c}" for label in TABLE3_ROWS for c in TABLE3_COLUMNS
            if by_label.get(label) is None or table3_cells(by_label[label])[c] is None]  # fmt: skip
