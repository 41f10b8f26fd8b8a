"""``horizon eval``: a model on a benchmark from local data under a schedule."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from horizon.cli.options import (
    add_data_options,
    add_model_options,
    add_protocol_option,
    add_stand_in_option,
    check_at_least,
    check_max_new_tokens,
    check_options_early,
    check_output_file,
    check_schedule_before_loading,
    check_schedule_on,
    check_seed,
    note,
    protocol_option,
    schedule_option,
    stand_in_model,
    stand_in_samples,
)
from horizon.cli.progress import INTERRUPTED_EXIT, bar, interrupted
from horizon.files import write_atomic

if TYPE_CHECKING:
    from horizon.benchmarks.base import Benchmark
    from horizon.evaluation.loop import EvalResult, Interrupted
    from horizon.schedule import Schedule


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("eval", help="evaluate a model on a benchmark from local data under a schedule")
    add_model_options(p)
    add_data_options(p)
    add_stand_in_option(p)
    p.add_argument("--schedule", default="full")
    add_protocol_option(p, "prompts, scorers, the form of paper presets, seeds (paper: the authors' LLaVA-1.5 pipeline)")
    p.add_argument("--limit", type=int, help="a seeded subset of at most N samples (whole MME pairs / MMBench groups)")
    p.add_argument("--seed", type=int, default=0, help="seeds the subset and random selections")
    p.add_argument("--max-new-tokens", type=int, help="default: the benchmark's")
    p.add_argument("--batch", type=int, default=1, help="samples per forward (same answers; times shared per batch)")
    p.add_argument("--json", type=Path, help="also write metrics and predictions to this JSON file")


def cmd_eval(args: argparse.Namespace) -> int:
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.samples import load_samples, subset
    from horizon.engine.plan import stages_needing
    from horizon.evaluation.loop import Interrupted, evaluate
    from horizon.methods.base import stochastic
    from horizon.models.loading import load_model
    from horizon.models.presets import STAND_IN_NEW_TOKENS

    # every option is checked here, before samples or the model load
    if args.stand_ins:
        args.model = stand_in_model(args.model, args.path)
        args.max_new_tokens = args.max_new_tokens or STAND_IN_NEW_TOKENS
    protocol = protocol_option(args.protocol, args.model, args.path)
    bench = BENCHMARKS.get(args.bench).under(protocol.name)
    schedule = schedule_option(args.schedule, form=protocol.presets)
    guided = stages_needing(schedule, "guide_importance")
    if guided:
        raise ValueError(
            f"{', '.join(guided)} needs a guide model's token importance, which horizon eval does not compute: run "
            f"SGL on one prompt with `horizon run --schedule {str(schedule)!r} --guide MODEL`"
        )
    check_options_early(args)
    check_output_file(args.json)
    check_max_new_tokens(args.max_new_tokens)
    check_seed(args.seed)
    check_at_least(args.limit, "--limit", 1, "a number of samples")
    check_at_least(args.batch, "--batch", 1, "samples per forward")
    check_schedule_before_loading(schedule, args.model, args.path)
    # before loading a model: fail fast on missing data
    samples, bad = stand_in_samples(bench) if args.stand_ins and not args.data else load_samples(bench, path=args.data)
    chosen = subset(samples, args.limit, seed=args.seed, what="--limit")
    if args.limit is not None and args.limit > len(samples):
        note(f"--limit {args.limit} is more than the {len(samples)} samples {bench.name} has here: all of them run")
    loaded = load_model(args.model, path=args.path, dtype=args.dtype, attn_implementation=args.attn, device=args.device)
    check_schedule_on(schedule, loaded)  # once, before any sample runs
    protocol.check_family(loaded.adapter.family, loaded.name)
    seeds = protocol.seeds_for(stochastic(schedule), args.seed)
    results: list[EvalResult] = []
    with bar(len(chosen) * len(seeds), f"{loaded.name} · {bench.name} · {schedule}") as shown:
        for seed in seeds:
            if len(seeds) > 1:
                shown.set_postfix_str(f"seed {seed} ({len(results) + 1} of {len(seeds)})")
            try:
                results.append(evaluate(loaded, bench, chosen, schedule, seed=seed, max_new_tokens=args.max_new_tokens,
                                        batch=args.batch, progress=shown.update))  # fmt: skip
            except Interrupted as err:
                shown.leave = False  # the bar is cleared: the one line below says where the run stopped
                shown.close()
                return _interrupted(args, bench, loaded.name, schedule, protocol.name, seeds, results, err, bad)
    result = results[0]
    metrics = _mean_metrics(results)
    print(
        f"{bench.name} · {loaded.name} · {schedule} · protocol {protocol.name} · {result.n} samples "
        f"({len(result.failures)} failed, {len(bad)} unreadable rows) · {result.average_visual_tokens:.1f} visual tokens/layer"
    )
    print(f"scored by {bench.scorer}")
    if len(seeds) > 1:  # a random stage under a protocol that repeats it: the mean, each seed, the spread
        rows = [[k, v, statistics.stdev(r.metrics[k] for r in results), *(r.metrics[k] for r in results)]
                for k, v in sorted(metrics.items())]  # fmt: skip
        print(tabulate(rows, headers=["metric", f"mean of {len(seeds)} seeds", "sd", *(f"seed {s}" for s in seeds)],
                       floatfmt=".2f"))  # fmt: skip
    else:
        print(tabulate(sorted(metrics.items()), headers=["metric", "value"], floatfmt=".2f"))
    for failure in [*bad, *result.failures][:10]:
        print(f"  skipped: {failure}")
    if args.json:
        record = eval_record(bench, loaded.name, bool(args.stand_ins), str(schedule), protocol.name, seeds, results,
                             bad, total=len(chosen))  # fmt: skip
        write_atomic(args.json, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return 0


def _mean_metrics(results: Sequence[EvalResult]) -> dict[str, float]:
    """Each metric's mean over the seeds' results (the metrics every result has)."""
    names = [k for k in results[0].metrics if all(k in r.metrics for r in results)]
    return {k: statistics.fmean(r.metrics[k] for r in results) for k in names}


def eval_record(bench: Benchmark, model: str, stand_in: bool, schedule: str, protocol: str, seeds: Sequence[int],
                results: Sequence[EvalResult], unreadable: Sequence[str], *, total: int,
                partial: str = "", done: int = 0, seeds_planned: int = 0) -> dict[str, Any]:  # fmt: skip
    """What ``--json`` writes: metrics, predictions and per-sample rows (``samples``: [id, answer, unit value (mean
    over seeds)(, unit)], what ``horizon compare`` pairs). ``partial`` (when Ctrl-C cut the run short) says what
    was cut: ``done`` of ``total`` samples finished (failed ones included; ``n`` ran), ``seeds`` of the
    ``seeds_planned`` kept."""
    from horizon.evaluation.per_sample import sample_rows

    result = results[0]
    return {
        "written_by": "horizon eval",
        "partial": bool(partial),
        **({"interrupted": partial, "done": done, "seeds_planned": seeds_planned} if partial else {}),
        "total": total,
        "benchmark": bench.name,
        "model": model,
        "stand_in": stand_in,
        "schedule": schedule,
        "protocol": protocol,
        "scorer": bench.scorer,
        "seeds": list(seeds),
        "n": result.n,
        "metrics": _mean_metrics(results) if result.n else {},
        "seed_metrics": [r.metrics for r in results] if len(results) > 1 else [],
        "failures": list(result.failures),
        "unreadable": list(unreadable),
        "average_visual_tokens": result.average_visual_tokens,
        "predictions": result.predictions,
        "samples": sample_rows([r for r in results if r.n]),
    }


def _interrupted(args: argparse.Namespace, bench: Benchmark, model: str, schedule: Schedule, protocol: str,
                 seeds: Sequence[int], whole: list[EvalResult], err: Interrupted, bad: Sequence[str]) -> int:  # fmt: skip
    """Ctrl-C: the finished samples into ``--json`` (marked partial), one line, exit 130. Under several seeds, the
    seeds that finished are kept whole and the cut one only where it has samples and no seed finished before it."""
    total = err.total * len(seeds)
    done = err.done + err.total * len(whole)
    kept = ""
    if args.json and (whole or err.results[0].n):
        ran = whole or err.results
        said = f"interrupted after {err.done} of {err.total} samples"
        if len(seeds) > 1:
            said = f"seed {seeds[len(whole)]} ({len(whole) + 1} of {len(seeds)}) {said}"
        said += "; the seeds before it kept whole, it left out" if whole else "; the finished samples kept"
        record = eval_record(bench, model, bool(args.stand_ins), str(schedule), protocol, seeds[: len(ran)], ran, bad,
                             total=err.total, partial=said, done=err.total if whole else err.done,
                             seeds_planned=len(seeds))  # fmt: skip
        write_atomic(args.json, json.dumps(record, indent=2, sort_keys=True) + "\n")
        kept = str(args.json)
    print(interrupted(done, total, "samples" if len(seeds) == 1 else "sample runs", kept)
          + ("" if kept or not done else " (give --json FILE to keep finished samples)"), file=sys.stderr)  # fmt: skip
    return INTERRUPTED_EXIT
