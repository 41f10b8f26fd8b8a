"""The FLOPs and Storage columns of the paper's Table 3 from the Table 5 schedules (analytic, no weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from horizon.cli import main
from horizon.efficiency.table3 import PUBLISHED_ACCOUNTING, TABLE3_SCHEDULES, reproduce_table3
from horizon.models.presets import MODELS
from horizon.report.tables import TABLE3_ROWS, load_paper

PAPER = load_paper(Path(__file__).parents[1] / "baselines" / "paper", "table3")
ARCH = MODELS.get("llava-1.5-7b").arch


def _rows(published: bool = False) -> dict[str, object]:
    return {r.label: r for r in reproduce_table3(ARCH, PAPER, published_accounting=published)}


def test_every_published_row_is_reproduced():
    assert set(TABLE3_SCHEDULES) == set(PAPER) == set(TABLE3_ROWS)
    rows = _rows()
    # the paper's own rows (unpruned, DART+VTW, DART+Random) come straight from Table 5's schedules
    for label in ("full", "192:dart+vtw", "192:dart+random", "64:dart+vtw", "64:dart+random"):
        assert abs(rows[label].flops_delta) < 0.03 and abs(rows[label].kv_delta) < 0.03, label
    assert abs(rows["full"].flops_delta) < 0.002 and abs(rows["full"].kv_delta) < 0.002
    # FastV's and DART's rows follow those methods' own token accounting: Table 5's ratios give fewer tokens
    # (lower in both columns by the same fraction), the published accounting matches to 1%
    published = _rows(published=True)
    for label in PUBLISHED_ACCOUNTING:
        assert rows[label].flops_delta < -0.015 and rows[label].kv_delta < -0.015, label
        assert abs(published[label].flops_delta) < 0.01 and abs(published[label].kv_delta) < 0.01, label


def test_the_papers_efficiency_claims_hold():
    rows = _rows()
    # "DART + Random ... FLOPs can decrease by 74.4%" (64 tokens)
    assert 1 - rows["64:dart+random"].flops_t / rows["full"].flops_t == pytest.approx(0.744, abs=0.005)
    # "DART+Random pruning requires less memory [than FastV]": true with FastV's own accounting at both budgets;
    # with Table 5's FastV settings (pruned from layer 3) it holds at 64 tokens but not at 192
    published = _rows(published=True)
    for budget in (192, 64):
        assert published[f"{budget}:dart+random"].kv_mb < published[f"{budget}:fastv"].kv_mb
    assert rows["64:dart+random"].kv_mb < rows["64:fastv"].kv_mb
    assert rows["192:dart+random"].kv_mb > rows["192:fastv"].kv_mb


def test_flops_cli_prints_table3(capsys):
    root = Path(__file__).parents[1] / "baselines" / "paper"
    assert main(["flops", "--table3", "--paper", str(root)]) == 0
    out = capsys.readouterr().out
    assert "9.21 (-0.1%)" in out and "dart@2:#36" in out and "2.43 (-0.3%)" in out
    assert main(["flops", "--table3", "--paper", str(root), "--model", "qwen2.5-vl-7b"]) == 2
    assert "--table3 is LLaVA-1.5-7B's table" in capsys.readouterr().err
