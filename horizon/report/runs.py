"""Runs with per-sample rows, whatever wrote them: a suite record or a ``horizon eval --json`` file (``horizon
compare``'s inputs); the parsing is pure, :func:`read_runs` reads files.

A :class:`Run` holds what a paired comparison needs: what ran (benchmark, protocol, model, schedule), its metrics,
its units (each unit's value in [0, 1], :attr:`horizon.harness.records.Record.units`), its answers, and whether it
is whole. An eval file written when Ctrl-C cut the run short says ``"partial": true`` with ``n`` of ``total``
samples finished; an eval file written before those keys existed is whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from horizon.harness.records import Record
from horizon.protocol import DEFAULT_PROTOCOL

TAKES = "compare takes suite records (results/<device>/*.json), `horizon eval --json` files, or folders of either"
EVAL = "horizon eval"
SUITE = "suite record"
_EVAL_KEYS = ("benchmark", "model", "schedule", "metrics", "n")  # what an eval file written before written_by holds


@dataclass(frozen=True)
class Run:
    """One run's per-sample results, read from ``source`` (a suite record or an eval file: ``written_by``)."""

    name: str  # a record's case id; an eval file's the same form: <model>-<benchmark>-<schedule>[-<protocol>]
    source: str
    written_by: str  # SUITE or EVAL
    benchmark: str
    protocol: str
    model: str
    schedule: str
    stand_in: bool
    metrics: Mapping[str, float]
    units: Mapping[str, float]  # unit -> value in [0, 1]; empty: no per-sample rows
    answers: Mapping[str, str]  # sample id -> its answer as the per-sample rows keep it (cut short)
    predictions: Mapping[str, str] | None  # sample id -> the whole answer, where the file keeps it (an eval file)
    n: int  # samples that finished
    total: int  # samples chosen
    partial: bool = False
    interrupted: str = ""  # what a partial eval file says about the cut
    device: str = ""  # a record's
    seeds: tuple[int, ...] = field(default=(0,))
    done: int | None = None  # a partial eval file's samples finished (failed ones included) of ``total``
    seeds_planned: int | None = None  # a partial eval file's seeds its schedule runs (``seeds``: those kept whole)

    @property
    def key(self) -> tuple[bool, str]:
        """What a run in a folder is matched by: stand-in or not, and its name."""
        return self.stand_in, self.name

    @property
    def partial_note(self) -> str:
        """A partial run's "partial: N of M samples" (or its seeds cut short), else an empty string."""
        if not self.partial:
            return ""
        if self.seeds_planned is not None and len(self.seeds) < self.seeds_planned:
            return f"partial: {len(self.seeds)} of {self.seeds_planned} seeds"  # every sample of the seeds kept
        done = self.n if self.done is None else self.done
        if done < self.total:
            return f"partial: {done} of {self.total} samples"
        return "partial: fewer seeds than its schedule runs"  # an older file without the counts


def run_name(model: str, benchmark: str, schedule: str, protocol: str) -> str:
    """A case id's form (horizon/harness/matrix.py Case.id) for a run outside the matrix."""
    base = f"{model}-{benchmark}-{schedule}"
    return base if protocol == DEFAULT_PROTOCOL else f"{base}-{protocol}"


def from_record(r: Record, source: str = "") -> Run:
    return Run(name=r.case, source=source, written_by=SUITE, benchmark=r.benchmark, protocol=r.protocol,
               model=r.model, schedule=r.schedule, stand_in=bool(r.stand_in), metrics=dict(r.metrics),
               units=_units(r.samples, source), answers=_answers(r.samples), predictions=None, n=r.n, total=r.n,
               device=r.device, seeds=tuple(r.seeds))  # fmt: skip


def run_from_json(text: str, source: str) -> Run:
    """The run a file holds (``source`` names it in errors): a suite record or an eval file, else a ValueError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}: not JSON ({err}); {TAKES}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a JSON {type(data).__name__}, not a run; {TAKES}")
    if "schema_version" in data:
        return from_record(Record.from_json(text, source), source)
    if data.get("written_by") == EVAL or all(k in data for k in _EVAL_KEYS):
        return _from_eval(data, source)
    keys = ", ".join(sorted(data)[:6]) or "none"
    raise ValueError(f"{source}: neither a suite record (it has schema_version) nor a `horizon eval --json` file (it "
                     f"has {', '.join(_EVAL_KEYS)}); its keys: {keys}. {TAKES}")  # fmt: skip


def _from_eval(data: dict[str, Any], source: str) -> Run:
    names = {k: data.get(k, DEFAULT_PROTOCOL if k == "protocol" else None) for k in ("benchmark", "model", "schedule",
                                                                                       "protocol")}  # fmt: skip
    bad = {k: v for k, v in names.items() if not isinstance(v, str) or not v}
    if bad:
        raise ValueError(f"{source}: an eval file whose {', '.join(f'{k} {v!r}' for k, v in bad.items())} is not a "
                         "name (a non-empty string)")  # fmt: skip
    benchmark, model, schedule, protocol = (str(names[k]) for k in ("benchmark", "model", "schedule", "protocol"))
    n, total, partial = data.get("n"), data.get("total", data.get("n")), data.get("partial", False)
    if not isinstance(partial, bool):
        raise ValueError(f"{source}: partial {partial!r}: true or false")
    if not (isinstance(n, int) and isinstance(total, int) and not isinstance(n, bool) and 0 <= n <= total):
        raise ValueError(f"{source}: n {n!r} of total {total!r}: counts of samples, n at most total")
    metrics = data.get("metrics")
    if not isinstance(metrics, dict) or not all(isinstance(v, int | float) for v in metrics.values()):
        raise ValueError(f"{source}: metrics {str(metrics)[:60]!r}: an object of numbers")
    rows, predictions = data.get("samples", []), data.get("predictions")
    whole: dict[str, str] | None = None  # the whole answers, where every one is a string
    if isinstance(predictions, dict) and all(isinstance(v, str) for v in predictions.values()):
        whole = {str(k): v for k, v in predictions.items()}
    return Run(name=run_name(model, benchmark, schedule, protocol), source=source, written_by=EVAL,
               benchmark=benchmark, protocol=protocol, model=model, schedule=schedule,
               stand_in=bool(data.get("stand_in", False)), metrics={k: float(v) for k, v in metrics.items()},
               units=_units(rows, source), answers=_answers(rows),
               predictions=whole, n=n, total=total, partial=partial, interrupted=str(data.get("interrupted", "")),
               seeds=tuple(seeds) if isinstance(seeds := data.get("seeds"), list) else (0,),
               done=_count(data, "done", source), seeds_planned=_count(data, "seeds_planned", source))  # fmt: skip


def _count(data: dict[str, Any], key: str, source: str) -> int | None:
    """An optional count of a partial eval file (None where it is not written)."""
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{source}: {key} {value!r}: a count (a whole number >= 0)")
    return value


def _units(rows: Any, source: str) -> dict[str, float]:
    """Each unit's value from per-sample rows ``[id, answer, value(, unit)]``, checked."""
    if not isinstance(rows, list):
        raise ValueError(f"{source}: samples {str(rows)[:40]!r}: a list of [id, answer, value(, unit)] rows")
    out = {}
    for i, row in enumerate(rows):
        ok = isinstance(row, list) and len(row) in (3, 4) and isinstance(row[0], str)
        value = row[2] if ok else None
        if not ok or isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"{source}: sample row {i} {str(row)[:60]}: not [id, answer, value in [0, 1](, unit)]")
        out[str(row[3]) if len(row) > 3 else row[0]] = float(value)
    return out


def _answers(rows: Any) -> dict[str, str]:
    return {row[0]: str(row[1]) for row in rows} if isinstance(rows, list) else {}


def same_answers(a: Run, b: Run) -> bool:
    """Whether the samples both runs answered got the same answer: the whole answers where both files keep them,
    else the rows' (both cut short the same way, horizon/evaluation/per_sample.py)."""
    x, y = (a.predictions, b.predictions) if a.predictions is not None and b.predictions is not None else (
        a.answers, b.answers)  # fmt: skip
    return all(x[s] == y[s] for s in set(x) & set(y))


def read_runs(path: Path, side: str) -> list[Run]:
    """The runs of one file, or of every ``*.json`` under a folder (recursively; names starting with "." skipped)."""
    if not path.exists():
        raise ValueError(f"{side} {str(path)!r} does not exist: give a run or a folder of runs; {TAKES}")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*.json") if not p.name.startswith("."))
    if not files:
        raise ValueError(f"{side} {str(path)!r} holds no runs (*.json); {TAKES}")
    out = []
    for p in files:
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError) as err:  # a folder named *.json, a binary file
            raise ValueError(f"{p}: cannot be read as JSON text ({err}); {TAKES}") from None
        out.append(run_from_json(text, str(p)))
    return out
