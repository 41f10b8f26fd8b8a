"""Which scorer scored a number (issue 33): each benchmark names its scorer under each protocol, a protocol without
one falls back visibly, and records, `horizon eval`, the case table, the CSV and the paper tables all say so."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from horizon.benchmarks.base import Variant, is_fallback
from horizon.benchmarks.registry import BENCHMARKS
from horizon.harness.records import Record
from horizon.protocol import DEFAULT_PROTOCOL, PAPER_PROTOCOL, PROTOCOLS
from horizon.report.cases import cases_csv, render_cases
from horizon.report.tables import HEADERS, LAYOUTS, render

ROOT = Path(__file__).resolve().parents[1]
PAPER_FALLBACKS = {"docvqa", "infovqa", "ocrbench", "ocr-vqa", "gqa", "mmbench-en", "mmbench-cn", "synth",
                   "synth-global", "synth-fine"}  # fmt: skip
DOC_NAMES = {"docvqa": "DocVQA", "infovqa": "InfoVQA", "ocrbench": "OCRBench", "ocr-vqa": "OCR-VQA", "gqa": "GQA",
             "mmbench-en": "MMBench EN/CN", "mmbench-cn": "MMBench EN/CN"}  # how docs/protocol.md names them


def test_every_benchmark_names_its_scorer_under_every_protocol():
    for name, bench in BENCHMARKS.items():
        for protocol in PROTOCOLS.names():
            scorer = bench.under(protocol).scorer
            assert scorer.strip(), (name, protocol)
            assert not is_fallback(scorer) or protocol != DEFAULT_PROTOCOL, name  # lmms-eval scores every one


def test_the_paper_fallbacks_are_these_and_docs_name_them():
    fallbacks = {n for n, b in BENCHMARKS.items() if is_fallback(b.under(PAPER_PROTOCOL).scorer)}
    assert fallbacks == PAPER_FALLBACKS
    text = (ROOT / "docs" / "protocol.md").read_text()
    listed = re.search(r"Under `paper` that is \*\*(.+?)\*\*", text, re.S)
    assert listed is not None
    named = {w.strip() for w in re.split(r",| and ", listed.group(1).replace("\n", " ")) if w.strip()}
    assert named == {DOC_NAMES[n] for n in PAPER_FALLBACKS if not n.startswith("synth")}


def test_a_fallback_names_the_benchmark_and_protocol():
    scorer = BENCHMARKS.get("docvqa").under(PAPER_PROTOCOL).scorer
    assert scorer.startswith(BENCHMARKS.get("docvqa").scorer)
    assert "(fallback: the paper protocol's source scores no docvqa)" in scorer
    own = BENCHMARKS.get("pope").under(PAPER_PROTOCOL).scorer
    assert "eval_pope.py" in own and not is_fallback(own)


def test_a_variant_with_a_scorer_must_name_it():
    with pytest.raises(ValueError, match="must name it"):
        Variant(source="x.py", score=lambda samples, preds: {})
    with pytest.raises(ValueError, match="must name its scorer"):
        replace(BENCHMARKS.get("mme"), scorer=" ")


def _record(bench: str, protocol: str, value: float = 50.0) -> Record:
    b = BENCHMARKS.get(bench).under(protocol)
    return Record(case=f"{bench}-{protocol}", model="llava-1.5-7b", benchmark=bench, schedule="full", device="cpu",
                  dtype="float32", attn_implementation="sdpa", n=2, failures=0, metrics={b.headline: value},
                  average_visual_tokens=576.0, label="Vanilla", protocol=protocol, scorer=b.scorer)  # fmt: skip


def test_the_case_table_and_csv_say_which_scorer():
    records = [_record("docvqa", PAPER_PROTOCOL), _record("pope", PAPER_PROTOCOL)]
    table = render_cases(records)
    assert "paper (its scorer: fallback)" in table
    assert table.count("its scorer: fallback") == 1
    csv = cases_csv(records)
    assert csv.splitlines()[0].split(",")[8] == "scorer" and "eval_pope.py" in csv


def test_a_paper_table_names_its_fallback_columns():
    layout = LAYOUTS["table2"]  # LLaVA-1.5-7B: MMBench EN/CN and GQA fall back under paper
    records = [_record(c, PAPER_PROTOCOL) for c in layout.columns]
    text = render(layout, records, {})
    fallback = sorted(HEADERS[c] for c in layout.columns if c in PAPER_FALLBACKS)
    assert fallback and f"as the paper protocol's source has none: {', '.join(fallback)}" in text
    lmms = render(layout, [_record(c, DEFAULT_PROTOCOL) for c in layout.columns], {})
    assert "fallback" not in lmms and "source has none" not in lmms
