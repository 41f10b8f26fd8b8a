"""``horizon bench suite``: the harness's own overhead per case on the embedded default matrix, run as
``pytest suite`` runs it.

The default cases (marker ``default``: the tiny models on fixture data, one sample per forward; the organisms
on the first ``SUITE_ROWS`` held-out synth rows, 16 per forward) go through the same case runners as
suite/conftest.py builds and the same sweep groups as suite/test_matrix.py passes (``CaseRunner.run(case,
group)``: a group's first case runs the whole group in one pass). A case's wall time (prompting, running,
scoring, writing its record, checking its baseline) is set against the time spent in the model's processor and
the engine's ``run()`` (recorded as ``timing["model_s"]``, a group's time shared among its cases); everything
else is the harness's overhead. Models and data are loaded before timing, as each suite worker does once. The
information cases (``test_information``) are not timed: their records carry no model time.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from horizon.harness.check import check
from horizon.harness.matrix import ORGANISMS, Case, all_cases, sweep_groups
from horizon.harness.records import write_record
from horizon.harness.runner import CaseRunner, default_runners
from horizon.models.loading import LoadedModel


@dataclass(frozen=True)
class SuiteOverhead:
    cases: int
    case_s: float  # total wall time of the cases
    model_s: float  # of which in the model's processor and the engine's run()

    @property
    def overhead(self) -> float:
        return 1 - self.model_s / self.case_s


def bench_suite(cache: Path, limit_cases: int | None = None, *, cases: Sequence[Case] | None = None) -> SuiteOverhead:
    """The default cases (or ``cases``) in the suite's order, each through its runner with its sweep group; the
    first ``limit_cases`` of them for a quick run (their sweep groups cut to the chosen cases)."""
    everything = all_cases()
    groups = sweep_groups(everything)  # as suite/test_matrix.py computes them: over every case
    cases = list(cases if cases is not None else [c for c in everything if "default" in c.marks])[:limit_cases]
    chosen = {c.id for c in cases}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tiny, organism = default_runners(root, cache)

        def runner(case: Case) -> CaseRunner:
            return organism if case.model in ORGANISMS else tiny

        for c in cases:  # load models and samples outside the timing
            runner(c).model(c.model)
            runner(c).samples(c.benchmark)
        case_s = model_s = 0.0
        for case in cases:
            group = [g for g in groups.get(case.id, ()) if g.id in chosen]
            t0 = time.perf_counter()
            record = runner(case).run(case, group)
            write_record(root / "results", record)
            check(record, root / "baselines", "record", owner="bench")
            case_s += time.perf_counter() - t0
            model_s += record.timing["model_s"]
    return SuiteOverhead(len(cases), case_s, model_s)


@dataclass(frozen=True)
class SweepReuse:
    configurations: int
    separate_s: float
    reused_s: float

    @property
    def speedup(self) -> float:
        return self.separate_s / self.reused_s


def bench_sweep_reuse(
    loaded: LoadedModel, *, keep: float = 0.1, methods: tuple[str, ...] = ("random", "fastv", "dart")
) -> SweepReuse:
    """A Figure-1-style sweep (each method at every layer) on one prompt, run separately and with prefix reuse."""
    from horizon.engine.run import prepare, run
    from horizon.engine.sweep import run_many
    from horizon.images import demo_image
    from horizon.schedule import parse_schedule

    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    schedules = [parse_schedule(f"{m}@{layer}:{keep:g}") for m in methods for layer in range(1, loaded.n_layers)]
    run_many(loaded, prompt, schedules[:2], max_new_tokens=1)  # warm-up
    t0 = time.perf_counter()
    for s in schedules:
        run(loaded, prompt, s, max_new_tokens=1)
    separate = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_many(loaded, prompt, schedules, max_new_tokens=1)
    return SweepReuse(len(schedules), separate, time.perf_counter() - t0)


@dataclass(frozen=True)
class BatchedEvaluation:
    samples: int
    schedules: int
    batch: int
    one_by_one_s: float
    batched_s: float
    same_answers: bool

    @property
    def speedup(self) -> float:
        return self.one_by_one_s / self.batched_s


def bench_batched(
    loaded: LoadedModel, bench_name: str = "synth-fine", samples: int = 32, batch: int = 16
) -> BatchedEvaluation:
    """One organism sweep group (the default suite's schedules for ``loaded``) on the first held-out rows,
    through ``evaluate_many`` one sample per forward and ``batch`` per forward."""
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.samples import load_samples
    from horizon.evaluation.loop import evaluate_many
    from horizon.harness.matrix import organism_matrix

    bench = BENCHMARKS.get(bench_name)
    schedules = [c.resolved for c in organism_matrix() if c.model == loaded.name and c.benchmark == bench_name]
    if not schedules:
        raise ValueError(f"{loaded.name} has no organism cases on {bench_name} (organisms: organism-llava, ...)")
    chosen = load_samples(bench)[0][:samples]
    evaluate_many(loaded, bench, chosen[:2], schedules[:2], max_new_tokens=1, batch=2)  # warm-up
    t0 = time.perf_counter()
    one = evaluate_many(loaded, bench, chosen, schedules, max_new_tokens=1)
    t1 = time.perf_counter()
    many = evaluate_many(loaded, bench, chosen, schedules, max_new_tokens=1, batch=batch)
    t2 = time.perf_counter()
    same = all(a.predictions == b.predictions for a, b in zip(one, many, strict=True))
    return BatchedEvaluation(len(chosen), len(schedules), batch, t1 - t0, t2 - t1, same)
