"""Whether a session left a paper table with an empty cell: for every paper table whose every case ran, a case
whose label or benchmark is not its layout's leaves one (the session fails rather than report a hole)."""

from __future__ import annotations

from pathlib import Path

from horizon.harness.matrix import paper_table, under_protocol
from horizon.harness.records import read_records
from horizon.paper_tables import PAPER_TABLES
from horizon.report.tables import missing_cells, missing_table3


def paper_completeness(results: Path, ran: set[str], stand_ins: bool, protocol: str | None) -> tuple[str, bool]:
    """For every paper table whose every case ran (``ran``: case ids), whether the session's records under
    ``results`` leave a cell of it empty, said in a line; ('', False) when no table ran whole."""
    complete = [name for name in PAPER_TABLES if {c.id for c in under_protocol(paper_table(name), protocol)} <= ran]
    if not complete:
        return "", False
    records = [r for r in read_records(results) if bool(r.stand_in) == stand_ins and r.case in ran]
    found = []
    for name in complete:
        empty = missing_table3(records) if name == "table3" else missing_cells(PAPER_TABLES[name], records)
        found += [f"{name}: {cell}" for cell in empty]
    if not found:
        return f"paper tables complete: {', '.join(complete)} (every case ran; no empty cell)", False
    return (f"{len(found)} empty cells in paper tables whose every case ran (a label or benchmark that is not its "
            "layout's?): " + "; ".join(found[:8]) + (" ..." if len(found) > 8 else "")), True
