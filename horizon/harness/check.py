"""Checking a case's record against its baseline, in one of three modes (the suite's baseline logic).

``check`` compares a record with ``baselines/<device>/<model>/<benchmark>.json``: compare (a mismatch or a
missing baseline fails), record (missing cases are recorded, existing ones compared), update (the file takes
the obtained values; a changed value still fails so a person reviews it). Every write goes through a shard
owned by the session and its worker (``owner``), merged at the end of that session only (xdist-safe, atomic;
:func:`horizon.harness.merge.merge_session`). Compare mode writes nothing (a case's obtained values are in its record under
``results/``); update mode also keeps the changed cases in ``<benchmark>.obtained.json`` for review. A damaged baseline file fails
the cases that need it with its name (and update mode replaces it); it never stops the session.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from horizon.benchmarks.registry import BENCHMARKS
from horizon.evaluation.study import study_declarations
from horizon.files import write_atomic
from horizon.harness.baselines import (
    BaselineError,
    BaselineFile,
    CaseBaseline,
    Tolerance,
    compare,
    dumps,
    load,
    shard_path,
)
from horizon.harness.records import STAND_IN_FOLDER, Record
from horizon.metrics import Metric, table

MODES = ("compare", "record", "update")
# the numbers a baseline keeps beside the benchmark's own (declared here, where baseline_metrics adds them)
RECORD_METRICS = table(
    (
        Metric(name="visual_tokens", kind="count", direction="none"),  # average visual tokens per layer
        Metric(name="prefill_ratio", kind="ratio", direction="lower"),  # pruned over unpruned, same session
        Metric(name="latency_ratio", kind="ratio", direction="lower"),
    )
)


def baseline_metrics(record: Record) -> dict[str, float]:
    """What a baseline holds for a case: the benchmark metrics, the visual tokens actually kept, and for
    efficiency cases the time ratios to the unpruned model of the same session (never absolute times).

    A stand-in's record keeps neither its times (a tiny model's on a shared CPU) nor, for an information study,
    its information values (means, variances, retained sums): random weights put them at ~1e-6, where another
    BLAS build or thread count moves them by more than any band (docs/stand-ins.md). Its scores, horizon layers
    and sample counts stay."""
    ratios = {} if record.stand_in else {k: v for k, v in record.timing.items() if k in ("prefill_ratio", "latency_ratio")}
    metrics = record.metrics
    if record.stand_in and record.schedule == "information":
        kinds = declared_metrics(record)
        metrics = {k: v for k, v in metrics.items() if k not in kinds or kinds[k].kind != "value"}
    return {**metrics, "visual_tokens": record.average_visual_tokens, **ratios}


def declared_metrics(record: Record) -> dict[str, Metric]:
    """The kind of every number :func:`baseline_metrics` may hold for ``record``: its benchmark's declared
    metrics, the information study's (an information case) and the record's own."""
    bench = BENCHMARKS.get(record.benchmark)
    if record.schedule == "information":
        return {**study_declarations(record.metrics, bench.headline_metric), **RECORD_METRICS}
    return {**bench.declared, **RECORD_METRICS}


def damaged_entry(case: str, expected: CaseBaseline, benchmark: str) -> str | None:
    """Why a baseline entry contradicts itself, else None: where the benchmark's headline is 100 x the mean of its
    units (:attr:`~horizon.benchmarks.base.Benchmark.unit_mean_is_headline`), a stored headline that is not the mean
    of the stored units (beyond the rounding both are stored at) is a damaged baseline, whatever the run obtained."""
    bench = BENCHMARKS.get(benchmark)
    if not expected.units or not bench.unit_mean_is_headline or bench.headline not in expected.metrics:
        return None
    if expected.failures:  # seeds that failed on other samples score their own subsets: the means need not meet
        return None
    stored, mean = expected.metrics[bench.headline], 100.0 * statistics.fmean(expected.units.values())
    if abs(stored - mean) <= UNIT_ROUNDING:
        return None
    return (f"{case}: damaged baseline: its {bench.headline} {stored:.4f} is not the mean of its {len(expected.units)} "
            f"stored units ({mean:.4f}); restore the file (git checkout) or re-record the case with --update-baselines")


UNIT_ROUNDING = 0.01  # points: a headline and its units are stored to 4 decimals each (<= 0.005 points apart)


def problems_of(record: Record, expected: CaseBaseline, tolerance: Tolerance) -> list[str]:
    """``record`` against its baseline entry: the entry's own integrity, bands by declared kind, sample count,
    failed samples."""
    damaged = damaged_entry(record.case, expected, record.benchmark)
    if damaged is not None:
        return [damaged]
    found = compare(record.case, baseline_metrics(record), expected, tolerance, declared_metrics(record),
                    n=record.n, failures=record.failures, units=record.units,
                    unit_metric=BENCHMARKS.get(record.benchmark).unit_of)  # fmt: skip
    if found and record.failed_samples:
        found.append(f"{record.case}: first failed samples: " + "; ".join(record.failed_samples[:3]))
    return found


def baseline_path(root: Path, record: Record) -> Path:
    """``root/<device>/<model>/<benchmark>.json``; a stand-in record's under ``root/stand-in/`` (kept apart)."""
    kind = (STAND_IN_FOLDER,) if record.stand_in else ()
    return root.joinpath(*kind, record.device, record.model, f"{record.benchmark}.json")


def check(record: Record, root: Path, mode: str, *, owner: str) -> list[str]:
    """Problems with ``record`` against its baseline (empty: pass); record/update write ``owner``'s shards."""
    if mode not in MODES:
        raise ValueError(f"baseline mode {mode!r} is not one of {', '.join(MODES)}")
    path = baseline_path(root, record)
    obtained = baseline_metrics(record)
    fresh = BaselineFile(record.device, record.model, record.benchmark)
    try:
        current = load(path, root) if path.exists() else fresh
    except BaselineError as err:
        if mode != "update":
            return [f"{record.case}: {err}; replace the file with `pytest suite --update-baselines` (run every "
                    f"case it holds) or restore it with `git checkout {path}`"]  # fmt: skip
        current = fresh  # the damaged file is replaced by this session's values
    expected = current.cases.get(record.case)
    if expected is None:
        if mode == "compare":
            return [f"{record.case}: no baseline in {path}; record it with `pytest suite --record-baselines`"]
        return _write_shards([path], current, record, obtained, owner)
    problems = problems_of(record, expected, current.tolerance)
    if problems and mode == "update":
        review = path.with_name(f"{path.stem}.obtained.json")
        problems += _write_shards([review, path], current, record, obtained, owner)  # the baseline's last
    return problems


def find_regressions(records: Sequence[Record], root: Path) -> list[str]:
    """Every record's problems against its baseline under ``root`` (read only; nothing is written); a damaged
    baseline file is a problem of each record that needs it."""
    problems: list[str] = []
    cache: dict[Path, BaselineFile | str | None] = {}
    for record in records:
        path = baseline_path(root, record)
        if path not in cache:
            try:
                cache[path] = load(path, root) if path.exists() else None
            except BaselineError as err:
                cache[path] = str(err)
        current = cache[path]
        if isinstance(current, str):
            problems.append(f"{record.case}: {current}")
            continue
        expected = None if current is None else current.cases.get(record.case)
        if current is None or expected is None:
            problems.append(f"{record.case}: no baseline in {path}")
            continue
        problems += problems_of(record, expected, current.tolerance)
    return problems


def _write_shards(paths: Sequence[Path], current: BaselineFile, record: Record, obtained: dict[str, float],
                  owner: str) -> list[str]:  # fmt: skip
    """``record``'s entry into ``owner``'s shard of each of ``paths``; a problem when the folder cannot take it."""
    try:
        for path in paths:
            _write_shard(path, current, record, obtained, owner)
    except OSError as err:
        return [f"{record.case}: its baseline could not be written beside {paths[-1]} ({err}); the baseline folder is "
                "read-only or full: its baseline entry was not recorded"]  # fmt: skip
    return []


def _write_shard(path: Path, current: BaselineFile, record: Record, obtained: dict[str, float], owner: str) -> None:
    shard = shard_path(path, owner)
    existing = load(shard) if shard.exists() else BaselineFile(current.device, current.model, current.benchmark,
                                                                current.tolerance)  # fmt: skip
    write_atomic(shard, dumps(existing.with_case(record.case, record.n, obtained, record.failures, record.units)))
