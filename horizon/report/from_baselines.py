"""Records rebuilt from baseline files, so a report can be read without running anything (``horizon report
--from-baselines``, docs/report.md).

A baseline keeps each case's metrics, sample count, failed samples and per-unit values
(horizon/harness/baselines.py); the case's model, benchmark, schedule, label, protocol and seeds come from the suite's
case matrix (horizon/harness/matrix.py), where every case id of a baseline must still be (an id it no longer knows is
an error naming it). An information case's study is rebuilt from its flat numbers
(:func:`horizon.evaluation.study.study_metrics`): layers, mean and variance of information, horizons, withdraw-all and
oracle scores, information retained. What a baseline does not keep stays empty and :data:`NOT_IN_BASELINES` says so:
timing, analytic FLOPs and KV storage, library versions, the answers, and a study's maps, p(y) and per-sample
information. Pure but for :func:`read_baseline_records`, which reads the files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from horizon.benchmarks.registry import BENCHMARKS
from horizon.harness.baselines import SHARD, BaselineFile, CaseBaseline, load
from horizon.harness.matrix import Case, InfoCase, all_cases, information_matrix
from horizon.harness.records import STAND_IN_FOLDER, Record
from horizon.harness.session import RECORDED_SETTINGS
from horizon.models.presets import stand_in_name
from horizon.paper_presets import provenance
from horizon.protocol import PROTOCOLS

NOT_IN_BASELINES = ("timing, analytic FLOPs and KV storage, library versions, the answers, and an information "
                    "study's token maps, p(y) and per-sample information")  # fmt: skip
STUDY_ABSENT = "the token maps, p(y) and p_text, per-sample information, the removal and answer rules' texts"
RATIOS = ("prefill_ratio", "latency_ratio")  # a baseline's time ratios, kept in a record's timing


class UnknownCaseError(ValueError):
    """A baseline's case id that the suite's matrix no longer knows (names it and its file)."""


def case_index(extra: tuple[str, ...] = ()) -> dict[str, Case | InfoCase]:
    """Every case id of the suite's matrix -> its case; ``extra``: a plugin's methods that joined the sweeps
    (``pytest suite --methods``). A case run under another protocol (``--protocol``) has another id:
    :func:`find_case` looks those up."""
    index: dict[str, Case | InfoCase] = {c.id: c for c in all_cases(extra)}
    index.update((c.id, c) for c in information_matrix(extra))
    return index


def find_case(case_id: str, cases: Mapping[str, Case | InfoCase]) -> Case | InfoCase | None:
    """``case_id``'s case in ``cases``, or a case of it moved to another protocol whose id it is; None: neither."""
    if case_id in cases:
        return cases[case_id]
    for protocol in PROTOCOLS.names():
        if case_id.endswith(f"-{protocol}") or f"-{protocol}-" in case_id:
            for case in cases.values():
                moved = replace(case, protocol=protocol)
                if moved.id == case_id:
                    return moved
    return None


def baseline_records(bf: BaselineFile, cases: Mapping[str, Case | InfoCase], *, stand_in: bool = False,
                     source: str = "") -> list[Record]:  # fmt: skip
    """The records of every case of ``bf`` (``stand_in``: a stand-in baseline, whose records name the stand-in),
    sorted by case id; ``source`` (the file) names it in errors."""
    out = []
    for case_id, entry in sorted(bf.cases.items()):
        case = find_case(case_id, cases)
        if case is None:
            raise UnknownCaseError(f"{source or bf.model + '/' + bf.benchmark}: case {case_id!r} is not in the suite's "
                                   "case matrix (horizon/harness/matrix.py): remove it from the baseline or restore its "
                                   "case")  # fmt: skip
        if (case.model, case.benchmark) != (bf.model, bf.benchmark):
            raise ValueError(f"{source}: case {case_id!r} is {case.model} on {case.benchmark} in the matrix, the file's "
                             f"{bf.model} on {bf.benchmark}")  # fmt: skip
        out.append(_record(case_id, case, entry, bf.device, stand_in))
    return out


def _record(case_id: str, case: Case | InfoCase, entry: CaseBaseline, device: str, stand_in: bool) -> Record:
    metrics = dict(entry.metrics)
    visual = metrics.pop("visual_tokens", 0.0)
    timing = {k: metrics.pop(k) for k in RATIOS if k in metrics}
    common: dict[str, Any] = {
        "case": case_id, "model": case.model, "benchmark": case.benchmark, "device": device,
        "dtype": RECORDED_SETTINGS["dtype"], "attn_implementation": RECORDED_SETTINGS["attn"], "n": entry.n,
        "failures": entry.failures or 0, "metrics": metrics, "average_visual_tokens": visual, "timing": timing,
        "protocol": case.protocol, "stand_in": stand_in_name(case.model) if stand_in else "",
        "samples": [[unit, "", value] for unit, value in sorted((entry.units or {}).items())],
    }  # fmt: skip
    if isinstance(case, InfoCase):
        return Record(schedule="information", label="information", **common,
                      information=study_from_metrics(case, metrics, entry.n))  # fmt: skip
    return Record(schedule=str(case.resolved), label=case.label, seeds=list(case.seeds),
                  provenance=provenance(case.schedule, PROTOCOLS.get(case.protocol).presets), **common)  # fmt: skip


def study_from_metrics(case: InfoCase, metrics: Mapping[str, float], n: int) -> dict[str, Any]:
    """An information study (as :meth:`horizon.evaluation.study.Study.to_dict` holds it) from its flat numbers;
    what they do not hold is empty, and ``absent`` says what."""
    from horizon.information.analysis import HORIZON_RULE
    from horizon.stats.horizon import WITHDRAW_RULE

    headline = BENCHMARKS.get(case.benchmark).headline
    keeps = sorted({f"{k:g}" for k in case.keeps}, key=len, reverse=True)  # the longest first: 0.125 before 0.12
    mean: dict[int, float] = {}
    variance: dict[int, float] = {}
    withdraw: dict[str, float] = {}
    oracle: dict[str, dict[str, float]] = {}
    retained: dict[str, dict[str, dict[int, float]]] = {}
    for name, value in metrics.items():
        what, _, at = name.partition(":")[0].rpartition("@")  # <what>@<layer>[:<metric>] (study_metrics)
        if not what or not at.isdigit():
            continue
        layer = int(at)
        if what == "info_mean":
            mean[layer] = value
        elif what == "info_var":
            variance[layer] = value
        elif what == "withdraw":
            withdraw[str(layer)] = value
        elif what.startswith("oracle"):
            oracle.setdefault(what.removeprefix("oracle"), {})[str(layer)] = value
        elif what.startswith("retained_"):
            rest = what.removeprefix("retained_")
            keep = next((k for k in keeps if rest.endswith(k) and len(rest) > len(k)), None)
            if keep is None:
                raise ValueError(f"{case.id}: {name!r} names none of the case's keeps ({', '.join(keeps)})")
            retained.setdefault(rest[: -len(keep)], {}).setdefault(keep, {})[layer] = value
    layers = sorted(set(mean) | {int(k) for k in withdraw})
    horizon, withdraw_h = metrics.get("horizon_layer", -1), metrics.get("withdraw_horizon", -1)
    return {
        "model": case.model, "benchmark": case.benchmark, "metric": headline, "n": n, "layers": layers,
        "mean": [mean.get(x) for x in layers] if mean else [], "variance": [variance.get(x) for x in layers] if variance
        else [], "horizon": None if horizon < 0 else int(horizon),
        "withdraw_horizon": None if withdraw_h < 0 else int(withdraw_h), "withdraw": withdraw,
        "full": metrics.get(f"full:{headline}"), "oracle": oracle,
        "retained": {method: {keep: [per.get(x) for x in layers] for keep, per in sorted(by_keep.items())}
                     for method, by_keep in sorted(retained.items())},
        "grid": None, "example": {}, "maps": {}, "sample_means": {}, "p_text": [], "p_full": None, "failures": [],
        "rules": {"horizon": HORIZON_RULE, "withdraw": WITHDRAW_RULE}, "absent": STUDY_ABSENT,
    }  # fmt: skip


def baseline_files(root: Path, *, stand_ins: bool = False) -> list[Path]:
    """The baseline files under ``root`` (``<device>/<model>/<benchmark>.json``; with ``stand_ins``, also
    ``stand-in/<device>/...``), sorted; never a review copy (``.obtained.json``), a shard or the paper's tables."""
    found = [p for p in sorted(root.glob("*/*/*.json")) if p.parts[-3] != STAND_IN_FOLDER]
    if stand_ins:
        found += sorted((root / STAND_IN_FOLDER).glob("*/*/*.json"))
    return [p for p in found if not p.name.endswith(".obtained.json") and SHARD not in p.name
            and not p.name.startswith(".")]  # fmt: skip


def read_baseline_records(root: Path, *, stand_ins: bool = False, extra: tuple[str, ...] = ()) -> list[Record]:
    """Every case of the baseline files under ``root`` as a record (:func:`baseline_records`), sorted by case id."""
    files = baseline_files(root, stand_ins=stand_ins)
    if not files:
        raise ValueError(f"no baseline files under {str(root)!r} (<device>/<model>/<benchmark>.json)")
    cases = case_index(extra)
    records: list[Record] = []
    for path in files:
        stand_in = path.relative_to(root).parts[0] == STAND_IN_FOLDER
        records += baseline_records(load(path, root), cases, stand_in=stand_in, source=str(path))
    return sorted(records, key=_order)


def _order(r: Record) -> tuple[bool, str, str]:
    return bool(r.stand_in), r.device, r.case


def devices(records: Sequence[Record]) -> str:
    return ", ".join(sorted({r.device for r in records})) or "none"
