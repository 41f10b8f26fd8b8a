"""``horizon eval``: a model on a benchmark from local data under a schedule."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

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
    from horizon.evaluation.loop import evaluate
    from horizon.evaluation.per_sample import sample_rows
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
    results = [evaluate(loaded, bench, chosen, schedule, seed=seed, max_new_tokens=args.max_new_tokens,
                        batch=args.batch) for seed in seeds]  # fmt: skip
    result = results[0]
    metrics = {k: statistics.fmean(r.metrics[k] for r in results) for k in result.metrics}
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
        record = {
            "benchmark": bench.name,
            "model": loaded.name,
            "stand_in": bool(args.stand_ins),
            "schedule": str(schedule),
            "protocol": protocol.name,
            "scorer": bench.scorer,
            "seeds": list(seeds),
            "n": result.n,
            "metrics": metrics,
            "seed_metrics": [r.metrics for r in results] if len(results) > 1 else [],
            "failures": list(result.failures),
            "unreadable": bad,
            "average_visual_tokens": result.average_visual_tokens,
            "predictions": result.predictions,
            "samples": sample_rows(results),  # [id, answer, unit value (mean over seeds)(, unit)]: horizon/stats
        }
        args.json.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return 0
