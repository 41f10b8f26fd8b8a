"""The paper's test run on any method (``horizon verdict``): a layer sweep of the method against random at an equal
budget on the same samples, the paper's hybrid at an equal average budget, and the information each retains.

Everything runs through the suite's own pieces (the organisms' held-out synth rows, ``evaluate_many`` with one
shared prefix per sample, ``sample_rows`` for the per-sample units a paired test reads), so a verdict on the
default rows is the suite's finding on the same samples. Pure of printing: progress goes to a callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from horizon.benchmarks.base import Benchmark, Sample
from horizon.benchmarks.registry import BENCHMARKS
from horizon.evaluation.loop import EvalResult, evaluate_many
from horizon.evaluation.per_sample import sample_rows
from horizon.evaluation.study import Study, StudyConfig, run_study
from horizon.harness.matrix import (
    EQUAL_BUDGET_KEEPS,
    FINDINGS_ORGANISMS,
    ORGANISM_KEEP,
    ORGANISM_STAGE_LAYER,
    SUITE_ROWS,
    SYNTH_FAMILIES,
    equal_budget_schedules,
)
from horizon.harness.records import Record
from horizon.harness.runner import ORGANISM_BATCH
from horizon.methods import METHODS
from horizon.methods.base import stochastic
from horizon.models.loading import LoadedModel, load_model
from horizon.schedule import parse_schedule

Progress = Callable[[str], None]
METHOD_SEEDS = 1000  # a stochastic method's seeds start here, apart from random's 0..


@dataclass(frozen=True, kw_only=True)
class VerdictConfig:
    method: str
    models: tuple[str, ...] = FINDINGS_ORGANISMS
    benchmarks: tuple[str, ...] = SYNTH_FAMILIES
    rows: int = SUITE_ROWS  # held-out synth rows (split between the task families); a real benchmark: its first N
    keep: float = ORGANISM_KEEP
    seeds: int = 3  # random's runs (a sample's value: its mean over them), as the protocols average theirs
    info_rows: int = 16  # samples of the information-retained study (0: none)
    hybrid_layer: int = ORGANISM_STAGE_LAYER
    batch: int = ORGANISM_BATCH

    def __post_init__(self) -> None:
        METHODS.get(self.method)  # unknown: the registry's error names the known ones
        if self.rows < 2 or self.seeds < 1 or self.info_rows < 0 or self.batch < 1:
            raise ValueError(f"rows >= 2, seeds >= 1, info rows >= 0 and batch >= 1, got {self.rows}, {self.seeds}, "
                             f"{self.info_rows}, {self.batch}")  # fmt: skip
        if not 0 < self.keep < 1:
            raise ValueError(f"keep {self.keep!r} must be a fraction in (0, 1)")
        if self.hybrid_layer not in EQUAL_BUDGET_KEEPS:
            raise ValueError(f"the hybrid's random stage goes at layer {sorted(EQUAL_BUDGET_KEEPS)}, not {self.hybrid_layer}")
        if not self.models or not self.benchmarks:
            raise ValueError("a verdict needs at least one model and one benchmark")


@dataclass(frozen=True)
class Sweep:
    """One model and benchmark: the records a verdict reads (per-sample units in each)."""

    name: str  # the method judged
    keep: float
    model: str
    benchmark: str
    n: int
    full: Record
    method: dict[int, Record]  # layer -> the method alone at ``keep``
    random: dict[int, Record]  # layer -> random at the same budget (units: the mean over its seeds)
    hybrid: dict[str, Record] = field(default_factory=dict)  # "alone" / "+random" / "+vtw" at an equal budget
    study: Study | None = None
    seconds: float = 0.0


def sweep_layers(method: str, depth: int) -> list[int]:
    """The layers a sweep prunes at: from 1 (or the method's first) to the last but one, as the suite's sweeps."""
    return list(range(max(1, METHODS.get(method).min_layer), depth))


def _record(model: str, bench: Benchmark, schedule: str, results: Sequence[EvalResult]) -> Record:
    first = results[0]
    metrics = {k: sum(r.metrics[k] for r in results) / len(results) for k in first.metrics}
    return Record(case=f"verdict-{model}-{bench.name}-{schedule}", model=model, benchmark=bench.name, schedule=schedule,
                  device="cpu", dtype="float32", attn_implementation="sdpa", n=first.n,
                  failures=max(len(r.failures) for r in results), metrics=metrics,
                  average_visual_tokens=first.average_visual_tokens, seeds=list(range(len(results))),
                  samples=sample_rows(results), scorer=bench.scorer)  # fmt: skip


def organism_samples(benchmark: str, rows: int) -> list[Sample]:
    """The suite's organism samples: the first ``rows`` held-out synth rows, the benchmark's task family of them."""
    from horizon.benchmarks.synth import HELD_OUT_SEED
    from horizon.benchmarks.synth import rows as synth_rows

    return BENCHMARKS.get(benchmark).samples_of(synth_rows(rows, seed=HELD_OUT_SEED))


def run_sweep(loaded: LoadedModel, bench: Benchmark, samples: Sequence[Sample], config: VerdictConfig,
              progress: Progress) -> Sweep:  # fmt: skip
    start = time.monotonic()
    depth = loaded.n_layers
    layers = sweep_layers(config.method, depth)
    keep = f"{config.keep:g}"
    alone = {layer: f"{config.method}@{layer}:{keep}" for layer in layers}
    rand = {layer: f"random@{layer}:{keep}" for layer in layers}
    hybrid: dict[str, str] = {}
    if METHODS.get(config.method).min_layer <= 2:
        names = ("alone", "+random", "+vtw")
        hybrid = dict(zip(names, equal_budget_schedules(config.method, config.hybrid_layer), strict=True))
    # random's runs take seeds 0.., a stochastic method's its own (METHOD_SEEDS on): judged against random, random
    # itself is then a second, independent draw, never the same run
    method_schedules = ["full", *alone.values(), *hybrid.values()]
    runs: dict[tuple[str, str], list[EvalResult]] = {}
    for seed in range(config.seeds):
        groups = [("random", list(rand.values()), seed)]
        if seed == 0 or METHODS.get(config.method).stochastic:
            mine = method_schedules if seed == 0 else [s for s in method_schedules if stochastic(parse_schedule(s))]
            groups.append(("method", mine, METHOD_SEEDS + seed))
        for role, group, draw in groups:
            progress(f"{loaded.name} · {bench.name}: {role} schedules, seed {seed + 1}/{config.seeds}, {len(group)} "
                     f"schedules x {len(samples)} samples")  # fmt: skip
            results = evaluate_many(loaded, bench, samples, [parse_schedule(s) for s in group], seed=draw,
                                    max_new_tokens=1, batch=config.batch)  # fmt: skip
            for schedule, result in zip(group, results, strict=True):
                runs.setdefault((role, schedule), []).append(result)
    rec = {key: _record(loaded.name, bench, key[1], r) for key, r in runs.items()}
    study = None
    if config.info_rows:
        progress(f"{loaded.name} · {bench.name}: information retained, {min(config.info_rows, len(samples))} samples")
        methods = tuple(dict.fromkeys((config.method, "random")))
        study = run_study(loaded, bench, samples[: config.info_rows], StudyConfig(
            layers=tuple(layers), methods=methods, keeps=(config.keep,), oracle_keeps=(), withdraw=False,
            max_new_tokens=1))  # fmt: skip
    return Sweep(config.method, config.keep, loaded.name, bench.name, len(samples), rec[("method", "full")],
                 {k: rec[("method", s)] for k, s in alone.items()}, {k: rec[("random", s)] for k, s in rand.items()},
                 {k: rec[("method", s)] for k, s in hybrid.items()}, study, time.monotonic() - start)  # fmt: skip


def run_verdict(config: VerdictConfig, progress: Progress, env: dict[str, str] | None = None) -> list[Sweep]:
    """Every model x benchmark of ``config``: organisms on their held-out synth rows, other benchmarks on local data."""
    from horizon.benchmarks.samples import load_samples

    sweeps = []
    for model in config.models:
        loaded = load_model(model, env=env)
        for name in config.benchmarks:
            bench = BENCHMARKS.get(name)
            if name in SYNTH_FAMILIES:
                samples = organism_samples(name, config.rows)
            else:
                samples = load_samples(bench, env=env)[0][: config.rows]
            sweeps.append(run_sweep(loaded, bench, samples, config, progress))
    return sweeps
