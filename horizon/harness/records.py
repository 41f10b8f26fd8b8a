"""Records: everything one case produced, as JSON (design §1). Reports and baselines read records only."""

from __future__ import annotations

import json
import os
import re
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from horizon.files import write_atomic
from horizon.protocol import DEFAULT_PROTOCOL

SCHEMA_VERSION = 1


class RecordError(ValueError):
    """A record file that cannot be read (names the file)."""


@dataclass(frozen=True)
class Record:
    case: str
    model: str
    benchmark: str
    schedule: str
    device: str  # device slug: cpu, h100, ...
    dtype: str
    attn_implementation: str
    n: int
    failures: int
    metrics: dict[str, float]
    average_visual_tokens: float
    flops_t: float | None = None  # analytic decoder prefill FLOPs (T) at the mean prompt length
    kv_mb: float | None = None
    flops_formula: str = ""
    timing: dict[str, float] = field(default_factory=dict)  # prefill_ms, decode_ms (medians), ...
    versions: dict[str, str] = field(default_factory=dict)
    label: str = ""  # the row name in reports, e.g. "DART+Random"
    information: dict[str, Any] = field(default_factory=dict)  # an information case's study (horizon.information)
    failed_samples: list[str] = field(default_factory=list)  # the first failures, "sample id: error" (at most 10)
    protocol: str = DEFAULT_PROTOCOL  # the conventions it ran under (horizon/protocol.py)
    # what scored it under that protocol, and where that was read; another protocol's scorer standing in where the
    # protocol's source has none says "(fallback: ...)" (horizon/benchmarks/base.py fallback_scorer); "" in records
    # written before issue 33
    scorer: str = ""
    seeds: list[int] = field(default_factory=lambda: [0])  # one run per seed; ``metrics`` is their mean
    seed_metrics: list[dict[str, float]] = field(default_factory=list)  # each seed's metrics, when more than one
    provenance: str = ""  # a paper preset's: "released", "transcribed" or "derived" (horizon/paper_presets.py)
    stand_in: str = ""  # the stand-in model that ran in place of ``model`` (random weights: its numbers mean nothing)
    # per sample: [id, answer (cut short), its unit's value in [0, 1] (mean over seeds)] + [unit] where the unit is a
    # group (horizon/evaluation/per_sample.py); what paired comparisons read (horizon/stats)
    samples: list[list[Any]] = field(default_factory=list)

    @property
    def units(self) -> dict[str, float]:
        """Each unit's value (a unit is a sample, or a group of them: MME's image pair): the pairs of a comparison."""
        return {(row[3] if len(row) > 3 else row[0]): float(row[2]) for row in self.samples}

    @property
    def spread(self) -> dict[str, float]:
        """Each metric's standard deviation over the seeds (sample; empty with one seed)."""
        if len(self.seed_metrics) < 2:
            return {}
        return {k: statistics.stdev(m[k] for m in self.seed_metrics) for k in self.metrics if
                all(k in m for m in self.seed_metrics)}  # fmt: skip

    def to_json(self) -> str:
        """Indented JSON, keys sorted; the per-sample rows one line each (a record of 5000 samples stays small)."""
        data = {"schema_version": SCHEMA_VERSION, **asdict(self)}
        rows = data.pop("samples")
        text = json.dumps({**data, "samples": "@ROWS@"}, indent=2, sort_keys=True)
        inner = ",\n".join("    " + json.dumps(row, ensure_ascii=False) for row in rows)
        return text.replace('"@ROWS@"', f"[\n{inner}\n  ]" if rows else "[]") + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Record:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise RecordError(f"{source}: not a horizon record ({err})") from None
        if not isinstance(data, dict):
            shown = json.dumps(data)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}.get(type(data), "null")
            raise RecordError(f"{source}: not a horizon record (a JSON {kind}, {shown}, where a record "
                              "is a JSON object written by `horizon eval --json` or the suite)")  # fmt: skip
        version = data.pop("schema_version", None)
        if version is None:
            keys = ", ".join(sorted(data)[:5]) or "none"
            raise RecordError(f"{source}: not a horizon record (a JSON object without schema_version; its keys: "
                              f"{keys}); records are what `pytest suite` writes under results/")  # fmt: skip
        if version != SCHEMA_VERSION:
            raise RecordError(f"{source}: record schema_version {version!r}, this horizon reads {SCHEMA_VERSION}")
        try:
            return cls(**data)
        except TypeError as err:
            raise RecordError(f"{source}: not a horizon record ({err})") from None


def record_filename(case: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+#:=-]", "_", case).replace(":", "_") + ".json"


STAND_IN_FOLDER = "stand-in"  # stand-in records, results and baselines live apart from real ones (docs/stand-ins.md)


def write_record(folder: Path, record: Record) -> Path:
    """``record`` under ``folder/<device>/`` (a stand-in's under ``folder/stand-in/<device>/``), atomically."""
    kind = (STAND_IN_FOLDER,) if record.stand_in else ()
    path = folder.joinpath(*kind, record.device, record_filename(record.case))
    write_atomic(path, record.to_json())
    return path


def read_records(folder: Path) -> list[Record]:
    """Every record under ``folder`` (recursively), sorted by case id; from many machines merged as one (a stand-in
    record and a real one of the same case are two records)."""
    records: dict[tuple[bool, str, str], Record] = {}
    for path in sorted(folder.rglob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:  # a folder named *.json, a binary file
            raise RecordError(f"{path}: not a horizon record (cannot be read as JSON text: {err})") from None
        r = Record.from_json(text, str(path))
        records[(bool(r.stand_in), r.device, r.case)] = r
    return [records[k] for k in sorted(records)]


def versions() -> dict[str, Any]:
    import platform

    import torch
    import transformers

    import horizon

    machine = f"{platform.machine()} {os.cpu_count()} cores"
    pinned = {}
    if torch.cuda.is_available():  # the GPU this process ran on, as its xdist worker was pinned (conftest.py)
        machine += ", " + torch.cuda.get_device_name()
        pinned = {"cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
                  "worker": os.environ.get("PYTEST_XDIST_WORKER", "main")}  # fmt: skip
    return {"horizon": horizon.__version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version(), "machine": machine, **pinned}  # fmt: skip
