"""Checking a case's record against its baseline, in one of three modes (the suite's baseline logic).

``check`` compares a record with ``baselines/<device>/<model>/<benchmark>.json``: compare (a mismatch or a
missing baseline fails), record (missing cases are recorded, existing ones compared), update (the file takes
the obtained values; a changed value still fails so a person reviews it). Every write goes through a
per-process shard merged at the end of the session (xdist-safe, atomic; :func:`horizon.baselines.merge_all_shards`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from horizon.baselines import BaselineFile, Mismatch, compare, dumps, load, shard_path
from horizon.files import write_atomic
from horizon.results import Record

MODES = ("compare", "record", "update")


def baseline_metrics(record: Record) -> dict[str, float]:
    """What a baseline holds for a case: the benchmark metrics, the visual tokens actually kept, and for
    efficiency cases the time ratios to the unpruned model of the same session (never absolute times)."""
    ratios = {k: v for k, v in record.timing.items() if k in ("prefill_ratio", "latency_ratio")}
    return {**record.metrics, "visual_tokens": record.average_visual_tokens, **ratios}


def baseline_path(root: Path, record: Record) -> Path:
    return root / record.device / record.model / f"{record.benchmark}.json"


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def check(record: Record, root: Path, mode: str) -> list[str]:
    """Problems with ``record`` against its baseline (empty: pass); writes shards for record/update."""
    if mode not in MODES:
        raise ValueError(f"baseline mode {mode!r} is not one of {', '.join(MODES)}")
    path = baseline_path(root, record)
    obtained = baseline_metrics(record)
    current = load(path) if path.exists() else BaselineFile(record.device, record.model, record.benchmark)
    expected = current.cases.get(record.case)
    if expected is None:
        if mode == "compare":
            return [f"{record.case}: no baseline in {path}; record it with `pytest suite --record-baselines`"]
        _write_shard(path, current, record, obtained)
        return []
    problems: list[Mismatch] = compare(record.case, record.n, obtained, expected, current.tolerance)
    if problems:
        _write_shard(path.with_name(f"{path.stem}.obtained.json"), current, record, obtained)
        if mode == "update":
            _write_shard(path, current, record, obtained)
    return [str(p) for p in problems]


def find_regressions(records: Sequence[Record], root: Path) -> list[str]:
    """Every record's problems against its baseline under ``root`` (read only; nothing is written)."""
    problems: list[str] = []
    cache: dict[Path, BaselineFile | None] = {}
    for record in records:
        path = baseline_path(root, record)
        if path not in cache:
            cache[path] = load(path) if path.exists() else None
        current = cache[path]
        expected = None if current is None else current.cases.get(record.case)
        if current is None or expected is None:
            problems.append(f"{record.case}: no baseline in {path}")
            continue
        found = compare(record.case, record.n, baseline_metrics(record), expected, current.tolerance)
        problems += [str(m) for m in found]
    return problems


def _write_shard(path: Path, current: BaselineFile, record: Record, obtained: dict[str, float]) -> None:
    shard = shard_path(path, worker_id())
    existing = load(shard) if shard.exists() else BaselineFile(current.device, current.model, current.benchmark,
                                                                current.tolerance)  # fmt: skip
    write_atomic(shard, dumps(existing.with_case(record.case, record.n, obtained)))
