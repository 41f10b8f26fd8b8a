"""Baselines: one JSON file per device/model/benchmark, with the tolerance policy stored beside the data.

File layout (``baselines/<device>/<model>/<benchmark>.json``, design §5)::

    {"schema_version": 1, "device": "cpu", "model": "tiny-llava", "benchmark": "mme",
     "machine": {...}, "tolerance": {"z": 3.0, "floor": 0.5, "rel": 0.02, "ratio_rel": 0.15, "paired_alpha": 0.01},
     "cases": {"<case id>": {"n": 200, "failures": 0, "metrics": {"accuracy": 56.25, ...},
                             "units": {"ids": "<key>", "values": "0110..."}, "detects_drop": 4.0}},
     "unit_ids": {"<key>": ["<sample or group>", ...]}}

Tolerances by each metric's declared kind (:mod:`horizon.metrics`; the caller passes the declarations): a
percentage gets a band of ``z`` binomial standard errors for its sample count, at least ``floor`` points; a
time ratio to the unpruned run of the same session gets ``ratio_rel``; any other number (MME's score, counts,
information values) gets ``rel``. A case that keeps its per-unit values (``units``) is also compared paired on
them (:mod:`horizon.stats.gate`: exact McNemar on the flipped answers at ``paired_alpha``), which catches a drop of
``detects_drop`` points for certain where the bands let far larger ones pass. Both directions count: a better number also means the baseline no longer
describes the code. A changed sample count, more failed samples, a NaN and an undeclared metric fail too. Writes are
atomic (a temp file in the same folder, then ``os.replace``), keys sorted, floats rounded, one trailing
newline; each pytest session writes shards named by its id (each xdist worker its own) and merges only those at its end.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from horizon.harness.baseline_units import decode, encode
from horizon.harness.records import STAND_IN_FOLDER
from horizon.metrics import KINDS, Metric, MetricKind, UndeclaredMetricError, kind_of
from horizon.stats.gate import GATE_ALPHA, detects, paired_gate

SCHEMA_VERSION = 1
DIGITS = 4


class BaselineError(ValueError):
    """A baseline file that cannot be used (names the file and what is wrong)."""


@dataclass(frozen=True)
class Tolerance:
    z: float = 3.0  # binomial standard errors allowed for a percentage accuracy
    floor: float = 0.5  # at least this many points
    rel: float = 0.02  # relative band for other numbers
    ratio_rel: float = 0.15  # relative band for time ratios
    paired_alpha: float = GATE_ALPHA  # the paired gate's false-alarm rate per case (horizon/stats/gate.py)

    def __post_init__(self) -> None:
        for name in ("z", "floor", "rel", "ratio_rel"):
            if not getattr(self, name) >= 0:
                raise BaselineError(f"tolerance {name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 < self.paired_alpha < 1:
            raise BaselineError(f"tolerance paired_alpha must be in (0, 1), got {self.paired_alpha!r}")


def band(kind: MetricKind, baseline: float, n: int, tol: Tolerance) -> float:
    """How far a metric of ``kind`` may move from ``baseline`` measured on ``n`` samples."""
    if kind == "percent":
        p = min(max(baseline / 100.0, 0.0), 1.0)
        return max(tol.floor, tol.z * 100.0 * math.sqrt(p * (1 - p) / max(n, 1)))
    if kind not in KINDS:
        raise BaselineError(f"metric kind {kind!r} is not one of {', '.join(KINDS)}")
    return abs(baseline) * (tol.ratio_rel if kind == "ratio" else tol.rel)


@dataclass(frozen=True)
class Mismatch:
    case: str
    metric: str
    baseline: float | None
    obtained: float | None
    tolerance: float | None

    def __str__(self) -> str:
        if self.baseline is None:
            return f"{self.case}: {self.metric} has no baseline (obtained {self.obtained})"
        if self.obtained is None:
            return f"{self.case}: {self.metric} was not produced (baseline {self.baseline})"
        if not (math.isfinite(self.obtained) and math.isfinite(self.baseline)):
            return f"{self.case}: {self.metric} = {self.obtained}, baseline {self.baseline}: not a finite number"
        way = "higher" if self.obtained > self.baseline else "lower"
        return (f"{self.case}: {self.metric} = {self.obtained:.4g}, {way} than the baseline {self.baseline:.4g} "
                f"by more than the tolerance ±{self.tolerance:.4g}")  # fmt: skip


@dataclass(frozen=True)
class CaseBaseline:
    n: int
    metrics: Mapping[str, float]
    failures: int | None = None  # failed samples when recorded (None: a file written before they were kept)
    units: Mapping[str, float] | None = None  # unit -> value, for the paired gate (None: bands only)


@dataclass(frozen=True)
class BaselineFile:
    device: str
    model: str
    benchmark: str
    tolerance: Tolerance = field(default_factory=Tolerance)
    cases: Mapping[str, CaseBaseline] = field(default_factory=dict)
    machine: Mapping[str, Any] = field(default_factory=dict)

    def with_case(self, case: str, n: int, metrics: Mapping[str, float], failures: int | None = None,
                  units: Mapping[str, float] | None = None) -> BaselineFile:  # fmt: skip
        return replace(self, cases={**self.cases, case: CaseBaseline(n, dict(metrics), failures,
                                                                     None if not units else dict(units))})  # fmt: skip


def compare(
    case: str,
    obtained: Mapping[str, float],
    expected: CaseBaseline,
    tol: Tolerance,
    declared: Mapping[str, Metric],
    *,
    n: int,
    failures: int = 0,
    units: Mapping[str, float] | None = None,
    unit_metric: str = "",
) -> list[str]:
    """Every problem of a case's ``obtained`` numbers (on ``n`` samples, ``failures`` of them failed) against its
    baseline: a metric outside its band, missing on either side, or not finite; a changed sample count; more failed
    samples than recorded; and where both hold per-unit values, a significant paired change of ``unit_metric``
    (:func:`horizon.stats.gate.paired_gate`). Each metric's kind comes from ``declared``; an undeclared one is a
    problem too."""
    problems: list[str] = []
    failing = expected.failures is not None and failures > expected.failures
    if units and expected.units:
        gate = paired_gate(case, unit_metric, expected.units, units, tol.paired_alpha)
        if gate and failing and set(units) < set(expected.units):  # the units gone are the samples that now fail
            gate = [f"{case}: {len(expected.units) - len(units)} of the baseline's units are missing from this run: "
                    "their samples now fail (named below)"]  # fmt: skip
        problems += gate
    if n != expected.n:
        problems.append(f"{case}: ran on {n} samples, the baseline on {expected.n}: the samples changed")
    if failing:
        problems.append(f"{case}: {failures} samples failed, the baseline had {expected.failures}: a regression to "
                        "fix (re-recording the baseline would accept the failures)")  # fmt: skip
    for metric in sorted(set(obtained) | set(expected.metrics)):
        got, want = obtained.get(metric), expected.metrics.get(metric)
        if got is None or want is None:
            problems.append(str(Mismatch(case, metric, want, got, None)))
            continue
        try:
            kind = kind_of(metric, declared, "its producer")
        except UndeclaredMetricError as err:
            problems.append(f"{case}: {err}")
            continue
        if not (math.isfinite(got) and math.isfinite(want)):
            problems.append(str(Mismatch(case, metric, want, got, None)))
            continue
        width = band(kind, want, expected.n, tol)
        if abs(got - want) > width + 1e-9:
            problems.append(str(Mismatch(case, metric, want, got, width)))
    return problems


def rounded(value: float) -> float:
    """``DIGITS`` decimals, or ``DIGITS`` significant digits below 1 (information values are ~1e-5)."""
    if value == 0 or abs(value) >= 1 or not math.isfinite(value):
        return round(value, DIGITS)
    return float(f"{value:.{DIGITS}g}")


def dumps(bf: BaselineFile) -> str:
    data = {
        "schema_version": SCHEMA_VERSION,
        "device": bf.device,
        "model": bf.model,
        "benchmark": bf.benchmark,
        "machine": dict(bf.machine),
        "tolerance": {
            "z": bf.tolerance.z,
            "floor": bf.tolerance.floor,
            "rel": bf.tolerance.rel,
            "ratio_rel": bf.tolerance.ratio_rel,
            "paired_alpha": bf.tolerance.paired_alpha,
        },  # fmt: skip
    }
    shared: dict[str, list[str]] = {}
    data["cases"] = {case: _case_json(c, bf.tolerance.paired_alpha, shared) for case, c in bf.cases.items()}
    if shared:
        data["unit_ids"] = shared
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _case_json(c: CaseBaseline, alpha: float, shared: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": c.n, "metrics": {k: rounded(float(v)) for k, v in c.metrics.items()}}
    if c.failures is not None:
        out["failures"] = c.failures
    if c.units:  # with the drop the paired gate catches on them for certain (points; horizon/stats/gate.py)
        out["units"] = encode(c.units, shared)
        out["detects_drop"] = round(detects(len(c.units), alpha), 2)
    return out


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict, refusing a key given twice (``json`` would silently keep the last copy)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    pass


def _number(value: Any, where: str) -> float:
    """A metric's stored value: a JSON number (NaN and infinity are compared, and fail, later)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BaselineError(f"{where} is {json.dumps(value)}, not a number")
    return float(value)


def loads(text: str, source: str) -> BaselineFile:
    """A baseline file from its text, checked against itself: valid JSON without a key given twice, this schema
    version, every case's metrics numbers, every case id one of the file's own model and benchmark
    (``<model>-<benchmark>-...``), unit values matching the file's unit ids. Anything else is a
    :class:`BaselineError` naming ``source`` and, where one is at fault, the case and the metric."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as err:
        raise BaselineError(f"{source}: the key {str(err)!r} is given twice (JSON keeps only the last copy); keep "
                            "one") from None  # fmt: skip
    except json.JSONDecodeError as err:
        raise BaselineError(f"{source}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise BaselineError(f"{source}: expected a JSON object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BaselineError(
            f"{source}: schema_version {version!r}, this horizon reads {SCHEMA_VERSION}; re-record it with --update-baselines"
        )
    try:
        tol = Tolerance(**data.get("tolerance", {}))
        shared = data.get("unit_ids", {})
        device, model, benchmark = str(data["device"]), str(data["model"]), str(data["benchmark"])
        cases = {}
        others = [f"{model}-{b}-" for b in _longer_names(benchmark)]
        for case, c in data["cases"].items():
            if not str(case).startswith(f"{model}-{benchmark}-") or str(case).startswith(tuple(others)):
                raise BaselineError(f"{source}: case {case!r} is not one of this file's {model} on {benchmark} (its id "
                                    f"would start {model}-{benchmark}-)")  # fmt: skip
            metrics = {str(k): _number(v, f"{source}: case {case!r} metric {k!r}") for k, v in c["metrics"].items()}
            try:
                units = None if c.get("units") is None else decode(c["units"], shared)
            except ValueError as err:
                raise BaselineError(f"{source}: case {case!r}: {err}") from None
            cases[str(case)] = CaseBaseline(int(c["n"]), metrics, None if c.get("failures") is None else
                                            int(c["failures"]), units)  # fmt: skip
        return BaselineFile(device, model, benchmark, tol, cases, dict(data.get("machine", {})))
    except BaselineError as err:
        raise err if str(err).startswith(source) else BaselineError(f"{source}: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise BaselineError(f"{source}: malformed baseline ({type(err).__name__}: {err})") from None


def _longer_names(benchmark: str) -> list[str]:
    """The benchmarks whose names extend ``benchmark``'s (``textvqa`` -> ``textvqa-ocr``): their case ids start
    like ``benchmark``'s and belong to their own files."""
    from horizon.benchmarks.registry import BENCHMARKS

    return [b for b in BENCHMARKS.names() if b.startswith(f"{benchmark}-")]


def check_place(bf: BaselineFile, path: Path, device: str, model: str, benchmark: str) -> None:
    """A file at ``path`` whose place says ``device``/``model``/``benchmark`` must say so in its header too (a
    file copied to another model's folder would otherwise be read as that model's)."""
    if (bf.device, bf.model, bf.benchmark) != (device, model, benchmark):
        raise BaselineError(f"{path}: its header names {bf.device}/{bf.model}/{bf.benchmark}, its place "
                            f"{device}/{model}/{benchmark}; restore it with git checkout or re-record it")  # fmt: skip


def place_of(path: Path, root: Path) -> tuple[str, str, str] | None:
    """The (device, model, benchmark) a file's place under ``root`` names (``[stand-in/]<device>/<model>/
    <benchmark>[.obtained|.shard-<owner>].json``); None for a file elsewhere."""
    parts = path.relative_to(root).parts
    parts = parts[1:] if parts and parts[0] == STAND_IN_FOLDER else parts
    if len(parts) != 3:
        return None
    name = parts[2]
    m = SHARD_NAME.fullmatch(name)
    stem = m["stem"] if m else name.removesuffix(".json")
    return parts[0], parts[1], stem.removesuffix(".obtained")


def load(path: Path, root: Path | None = None) -> BaselineFile:
    """The baseline file at ``path`` (:func:`loads`); with ``root``, its header checked against its place under it
    (:func:`check_place`)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise BaselineError(f"{path}: cannot read ({err})") from None
    bf = loads(text, str(path))
    place = None if root is None else place_of(path, root)
    if place is not None:
        check_place(bf, path, *place)
    return bf


# A shard is ``<benchmark>.shard-<session>-<worker>.json`` beside its file (horizon/harness/merge.py: who writes,
# merges and cleans them).
SHARD = ".shard-"
SHARD_NAME = re.compile(r"(?P<stem>.+)\.shard-(?P<owner>[^/]+)\.json")


def shard_path(path: Path, owner: str) -> Path:
    """Where ``owner`` (``<session>-<worker>``) writes its part of ``path``."""
    if not owner or "/" in owner or owner.startswith("-"):
        raise ValueError(f"shard owner {owner!r}: expected '<session>-<worker>'")
    return path.with_name(f"{path.stem}{SHARD}{owner}.json")


def shard_target(shard: Path) -> Path:
    """The baseline file a shard belongs to."""
    m = SHARD_NAME.fullmatch(shard.name)
    if m is None:
        raise ValueError(f"{shard}: not a shard file name (<benchmark>{SHARD}<session>-<worker>.json)")
    return shard.with_name(m["stem"] + ".json")
