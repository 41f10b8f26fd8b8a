"""Every case of a session: a compact Markdown table for people, and the full data as CSV and JSON; pure."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict

from tabulate import tabulate

from horizon.benchmarks.base import is_fallback
from horizon.harness.records import Record
from horizon.report.tables import headline_metric

CSV_COLUMNS = ("case", "device", "model", "stand_in", "benchmark", "schedule", "label", "protocol", "scorer", "n",
               "failures", "metric", "value")


def _headline(r: Record) -> str:
    """The case's headline number (an information case: its horizon layer and how many numbers it holds)."""
    if r.schedule == "information":
        layer = r.metrics.get("horizon_layer")
        return f"horizon layer {layer:g} ({len(r.metrics)} numbers)" if layer is not None else f"{len(r.metrics)} numbers"
    name = headline_metric(r).name
    value = r.metrics.get(name)
    if value is None:
        return "–"
    spread = r.spread.get(name)
    return f"{name} {value:.4g}" + ("" if spread is None else f" ± {spread:.2g} ({len(r.seeds)} seeds)")


def render_cases(records: Sequence[Record]) -> str:
    """One short row per record: case, samples, failures, headline metric, visual tokens, analytic cost, timing.
    Every metric of every case is in ``cases.csv`` / ``cases.json`` beside the report."""
    rows = []
    for r in sorted(records, key=lambda r: (r.device, r.case)):
        cost = f"{r.flops_t:.3g} T / {r.kv_mb:.1f} MB" if r.flops_t is not None and r.kv_mb is not None else "–"
        timing = (f"{r.timing['prefill_ms']:.1f} / {r.timing.get('decode_ms', 0):.1f}" if "prefill_ms" in r.timing
                  else "–")  # fmt: skip
        case = r.case + (f" (stand-in: {r.stand_in})" if r.stand_in else "")
        protocol = r.protocol + (" (its scorer: fallback)" if is_fallback(r.scorer) else "")
        rows.append((case, r.device, protocol, r.n, r.failures, _headline(r), f"{r.average_visual_tokens:.1f}", cost,
                     timing))  # fmt: skip
    headers = ["case", "device", "protocol", "n", "failed", "headline", "visual tokens/layer", "FLOPs / KV",
               "prefill / decode ms"]  # fmt: skip
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def cases_csv(records: Sequence[Record]) -> str:
    """Every metric of every record, one row per (case, metric): the long form a spreadsheet or pandas reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in sorted(records, key=lambda r: (r.device, r.case)):
        numbers = {**r.metrics, "visual_tokens": r.average_visual_tokens, **{f"timing:{k}": v for k, v in r.timing.items()}}
        if r.flops_t is not None:
            numbers["flops_t"] = r.flops_t
        if r.kv_mb is not None:
            numbers["kv_mb"] = r.kv_mb
        for metric, value in sorted(numbers.items()):
            writer.writerow((r.case, r.device, r.model, r.stand_in, r.benchmark, r.schedule, r.label, r.protocol,
                             r.scorer, r.n, r.failures, metric, repr(float(value))))  # fmt: skip
    return out.getvalue()


def cases_json(records: Sequence[Record]) -> str:
    """Every record whole (information studies included), as one JSON list sorted by device and case."""
    data = [asdict(r) for r in sorted(records, key=lambda r: (r.device, r.case))]
    return json.dumps(data, indent=1, sort_keys=True) + "\n"
