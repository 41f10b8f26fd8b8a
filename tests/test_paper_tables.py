"""The paper's tables are defined once (horizon/paper_tables.py): every paper case lands in a cell of its layout."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from horizon.harness.matrix import all_cases
from horizon.paper_tables import PAPER_TABLES
from horizon.report.tables import LAYOUTS, TABLE3_ROWS

PAPER = Path(__file__).parents[1] / "baselines" / "paper"


def _cells() -> set[tuple[str, str, str]]:
    """(model, benchmark, row label) of every cell the report renders for Tables 1-3."""
    cells = {(t.model, b, label) for t in LAYOUTS.values() for b in t.columns for label in t.labels()}
    table3 = PAPER_TABLES["table3"]
    return cells | {(table3.model, table3.columns[0], label) for label in TABLE3_ROWS}


def test_every_paper_case_label_lands_in_a_layout_cell() -> None:
    cells = _cells()
    paper = [c for c in all_cases() if {"paper", "efficiency"} & set(c.marks)]
    # Tables 1, 2 and 3 (Table 3's cells are Table 2 cases too), and Table 1's rows on Qwen3-VL-8B
    assert len(paper) == 7 * 7 + 7 * 25 + 1 * 9 - 9 + 7 * 7
    missing = [(c.id, c.label) for c in paper if (c.model, c.benchmark, c.label) not in cells]
    assert missing == []


def test_every_layout_cell_has_a_case() -> None:
    cases = {(c.model, c.benchmark, c.label) for c in all_cases()}
    assert _cells() - cases == set()


@pytest.mark.parametrize("name", sorted(n for n, t in PAPER_TABLES.items() if t.published))
def test_the_published_rows_are_the_layout_rows(name: str) -> None:
    data = json.loads((PAPER / f"{name}.json").read_text())
    table = PAPER_TABLES[name]
    assert set(data["rows"]) == set(table.labels())
    if name != "table3":  # Table 3's columns are its measures (tokens, FLOPs, ...), on one benchmark
        assert tuple(data["columns"]) == table.columns
    assert data.get("model", table.model) == table.model


def test_a_renamed_row_is_refused() -> None:
    with pytest.raises(ValueError, match="dart\\+randomm"):
        replace(PAPER_TABLES["table1"], methods=("dart", "dart+randomm"))


def test_only_the_papers_own_tables_have_published_rows() -> None:
    assert {p.stem for p in PAPER.glob("*.json")} == {n for n, t in PAPER_TABLES.items() if t.published}
