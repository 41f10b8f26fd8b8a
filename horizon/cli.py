"""The ``horizon`` command: run one prompt under a schedule, list what exists, benchmark the engine."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from horizon.registry import UnknownNameError

log = logging.getLogger(__name__)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a preset (horizon list models) or a checkpoint folder")
    p.add_argument("--path", help="checkpoint folder for the preset (overrides $HORIZON_MODELS and the HF cache)")
    p.add_argument("--dtype", default="float32", help="float32 | float16 | bfloat16 (default float32)")
    p.add_argument("--attn", default="sdpa", help="sdpa | eager | flash_attention_2 (default sdpa)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="horizon", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run one image and question under a pruning schedule")
    _add_model_options(p)
    p.add_argument("--image", help="image file (default: the embedded demo image)")
    p.add_argument("--question", default="What is written on the sign?")
    p.add_argument("--schedule", default="full", help="e.g. 'random@2:0.5+vtw@26' or a preset 'paper:...'")
    p.add_argument("--seed", type=int, default=0, help="seed of the generator random selections draw from")
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--top-k", type=int, default=5, help="first-token probabilities to show")
    p.add_argument("--json", type=Path, help="also write the whole record to this JSON file")
    p.add_argument("--guide", help="guide model for SGL stages (a smaller preset of the same family, or a folder)")
    p.add_argument("--guide-path", help="checkpoint folder for the guide preset")
    p = sub.add_parser("eval", help="evaluate a model on a benchmark from local data under a schedule")
    _add_model_options(p)
    p.add_argument("--bench", required=True, help="a benchmark (horizon list benchmarks)")
    p.add_argument("--data", help="the benchmark's data folder or file (default: $HORIZON_DATA, then the HF cache)")
    p.add_argument("--schedule", default="full")
    p.add_argument("--limit", type=int, help="a seeded subset of at most N samples (whole MME pairs / MMBench groups)")
    p.add_argument("--seed", type=int, default=0, help="seeds the subset and random selections")
    p.add_argument("--max-new-tokens", type=int, help="default: the benchmark's")
    p.add_argument("--batch", type=int, default=1, help="samples per forward (same answers; times shared per batch)")
    p.add_argument("--json", type=Path, help="also write metrics and predictions to this JSON file")
    from horizon.cli_info import add_parser as add_info_parser

    add_info_parser(sub, _add_model_options)
    from horizon.cli_organism import add_parser as add_organism_parser

    add_organism_parser(sub)
    from horizon.cli_flops import add_parser as add_flops_parser

    add_flops_parser(sub)
    p = sub.add_parser("report", help="render one Markdown report from case records (from many machines)")
    p.add_argument("results", type=Path, help="folder of records (searched recursively)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports)")
    p.add_argument("--paper", type=Path, default=Path("baselines/paper"), help="the paper's tables")
    p.add_argument("--baselines", type=Path, default=Path("baselines"), help="baselines for the regressions section")
    p = sub.add_parser("list", help="list models, methods, presets or benchmarks")
    p.add_argument("what", choices=["models", "methods", "presets", "benchmarks"])
    from horizon.cli_bench import add_parser as add_bench_parser

    add_bench_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _quiet_transformers()
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "list":
            return cmd_list(args.what)
        if args.command == "eval":
            return cmd_eval(args)
        if args.command == "flops":
            from horizon.cli_flops import cmd_flops

            return cmd_flops(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "organism":
            from horizon.cli_organism import cmd_organism

            return cmd_organism(args)
        if args.command == "info":
            from horizon.cli_info import cmd_info

            return cmd_info(args)
        from horizon.cli_bench import cmd_bench

        return cmd_bench(args)
    except (ValueError, FileNotFoundError, UnknownNameError) as err:  # includes missing data, corrupt records
        print(f"horizon: error: {err}", file=sys.stderr)
        return 2


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def cmd_list(what: str) -> int:
    if what == "models":
        from horizon.models.presets import MODELS

        rows: list[tuple[Any, ...]] = [
            (
                p.name,
                p.family,
                p.repo_id or ("(shipped: horizon/organism/weights)" if p.bundled else "(embedded, built locally)"),
                p.arch.layers,
                p.arch.hidden,
                p.arch.intermediate,
                p.arch.heads,
                p.arch.kv_heads,
                p.arch.vocab,
                p.visual_tokens or "dynamic",
                f"{p.min_pixels}-{p.max_pixels}" if p.min_pixels else "",
            )
            for _, p in MODELS.items()
        ]
        cols = [
            "model",
            "family",
            "checkpoint",
            "layers",
            "hidden",
            "inter",
            "heads",
            "kv",
            "vocab",
            "visual",
            "pixels",
        ]
        print(tabulate(rows, headers=cols))
    elif what == "methods":
        from horizon.methods import METHODS

        rows = [  # type: ignore[misc]
            (
                m.name,
                ", ".join(sorted(m.needs)) or "nothing",
                m.positions,
                "yes" if m.flash_compatible else "no",
                m.min_layer,
                m.reference,
            )
            for _, m in METHODS.items()
        ]
        print(tabulate(rows, headers=["method", "needs", "positions", "flash-attn", "min layer", "reference"]))
    elif what == "benchmarks":
        from horizon.benchmarks.registry import BENCHMARKS

        table = [
            (b.name, b.dataset_id, b.config or "", b.split, b.metric, b.max_new_tokens, b.notes)
            for _, b in BENCHMARKS.items()
        ]
        print(tabulate(table, headers=["benchmark", "dataset", "config", "split", "metric", "max new tokens", "notes"]))
    else:
        from horizon.paper_presets import PAPER_PRESETS

        print(tabulate([(n, str(s)) for n, s in PAPER_PRESETS.items()], headers=["preset", "schedule"]))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from horizon.engine.plan import check_methods
    from horizon.engine.run import prepare, run
    from horizon.images import demo_image, load_image
    from horizon.models.loading import load_model
    from horizon.paper_presets import resolve_schedule

    schedule = resolve_schedule(args.schedule)
    check_methods(schedule)  # fail before loading a model
    image = load_image(args.image) if args.image else demo_image()
    loaded = load_model(args.model, path=args.path, dtype=args.dtype, attn_implementation=args.attn, device=args.device)
    prompt = prepare(loaded, [image], [args.question])
    guide = None
    if any("guide_importance" in m.needs for m in check_methods(schedule)):
        guide_name = args.guide or (loaded.preset.guide if loaded.preset is not None else None)
        if not guide_name:
            raise ValueError(f"schedule {schedule} has an SGL stage: give its guide model with --guide MODEL")
        from horizon.engine.guide import guide_importance

        guide_model = load_model(
            guide_name, path=args.guide_path, dtype=args.dtype, attn_implementation=args.attn, device=args.device
        )
        guide = guide_importance(guide_model, [image], [args.question], new_tokens=args.max_new_tokens)
    out = run(loaded, prompt, schedule, max_new_tokens=args.max_new_tokens, seed=args.seed, guide_importance=guide)
    from horizon.report.run import render_run, run_record

    print(render_run(out, loaded, top_k=args.top_k))
    if args.json:
        args.json.write_text(json.dumps(run_record(out, loaded, top_k=args.top_k), indent=2) + "\n")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.samples import load_samples, subset
    from horizon.engine.plan import check_methods
    from horizon.evaluation.loop import evaluate
    from horizon.models.loading import load_model
    from horizon.paper_presets import resolve_schedule

    bench = BENCHMARKS.get(args.bench)
    schedule = resolve_schedule(args.schedule)
    check_methods(schedule)
    if args.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {args.batch}")
    samples, bad = load_samples(bench, path=args.data)  # before loading a model: fail fast on missing data
    chosen = subset(samples, args.limit, seed=args.seed)
    loaded = load_model(args.model, path=args.path, dtype=args.dtype, attn_implementation=args.attn, device=args.device)
    result = evaluate(
        loaded, bench, chosen, schedule, seed=args.seed, max_new_tokens=args.max_new_tokens, batch=args.batch
    )
    print(
        f"{bench.name} · {loaded.name} · {schedule} · {result.n} samples "
        f"({len(result.failures)} failed, {len(bad)} unreadable rows) · {result.average_visual_tokens:.1f} visual tokens/layer"
    )
    print(tabulate(sorted(result.metrics.items()), headers=["metric", "value"], floatfmt=".2f"))
    for failure in [*bad, *result.failures][:10]:
        print(f"  skipped: {failure}")
    if args.json:
        record = {
            "benchmark": bench.name,
            "model": loaded.name,
            "schedule": str(schedule),
            "n": result.n,
            "metrics": result.metrics,
            "failures": list(result.failures),
            "unreadable": bad,
            "average_visual_tokens": result.average_visual_tokens,
            "predictions": result.predictions,
        }
        args.json.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from horizon.report.write import write_report

    if not args.results.is_dir() or not any(args.results.rglob("*.json")):
        raise ValueError(f"no records under {str(args.results)!r}")
    baselines = args.baselines if args.baselines.is_dir() else None
    out, n = write_report(args.results, args.out, args.paper, baselines)
    print(f"{n} records -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
