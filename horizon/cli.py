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
    p.add_argument("--json", type=Path, help="also write metrics and predictions to this JSON file")
    from horizon.cli_info import add_parser as add_info_parser

    add_info_parser(sub, _add_model_options)
    from horizon.cli_organism import add_parser as add_organism_parser

    add_organism_parser(sub)
    p = sub.add_parser("flops", help="analytic prefill FLOPs and KV-cache storage of a schedule (no weights)")
    p.add_argument("--model", help="a preset (its architecture numbers are used)")
    p.add_argument("--schedule", default="full")
    p.add_argument("--text-tokens", type=int, help="non-visual prompt tokens (e.g. 116 for TextVQA)")
    p.add_argument("--table3", action="store_true", help="every row of the paper's Table 3 beside its published values")
    p.add_argument("--paper", type=Path, default=Path("baselines/paper"), help="the paper's tables (for --table3)")
    p.add_argument("--visual-tokens", type=int, help="visual tokens (default: the preset's fixed count)")
    p.add_argument("--kv-bytes", type=int, default=2, help="bytes per cached value (2 = fp16/bf16)")
    p = sub.add_parser("report", help="render one Markdown report from case records (from many machines)")
    p.add_argument("results", type=Path, help="folder of records (searched recursively)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports)")
    p.add_argument("--paper", type=Path, default=Path("baselines/paper"), help="the paper's tables")
    p.add_argument("--baselines", type=Path, default=Path("baselines"), help="baselines for the regressions section")
    p = sub.add_parser("list", help="list models, methods, presets or benchmarks")
    p.add_argument("what", choices=["models", "methods", "presets", "benchmarks"])
    p = sub.add_parser("bench", help="speed benchmarks of horizon itself")
    p.add_argument("what", choices=["engine", "methods", "suite", "info"])
    p.add_argument("--models", default="tiny-llava,tiny-qwen2.5-vl")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 15 engine, 3 methods)")
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
            return cmd_flops(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "organism":
            from horizon.cli_organism import cmd_organism

            return cmd_organism(args)
        if args.command == "info":
            from horizon.cli_info import cmd_info

            return cmd_info(args)
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
                p.repo_id or "(embedded, built locally)",
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
    from horizon.report_run import render_run, run_record

    print(render_run(out, loaded, top_k=args.top_k))
    if args.json:
        args.json.write_text(json.dumps(run_record(out, loaded, top_k=args.top_k), indent=2) + "\n")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.run import evaluate, load_samples, subset
    from horizon.engine.plan import check_methods
    from horizon.models.loading import load_model
    from horizon.paper_presets import resolve_schedule

    bench = BENCHMARKS.get(args.bench)
    schedule = resolve_schedule(args.schedule)
    check_methods(schedule)
    samples, bad = load_samples(bench, path=args.data)  # before loading a model: fail fast on missing data
    chosen = subset(samples, args.limit, seed=args.seed)
    loaded = load_model(args.model, path=args.path, dtype=args.dtype, attn_implementation=args.attn, device=args.device)
    result = evaluate(loaded, bench, chosen, schedule, seed=args.seed, max_new_tokens=args.max_new_tokens)
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
    from horizon.suite_runner import write_report

    if not args.results.is_dir() or not any(args.results.rglob("*.json")):
        raise ValueError(f"no records under {str(args.results)!r}")
    baselines = args.baselines if args.baselines.is_dir() else None
    out, n = write_report(args.results, args.out, args.paper, baselines)
    print(f"{n} records -> {out}")
    return 0


def cmd_flops(args: argparse.Namespace) -> int:
    from horizon.efficiency.flops import FORMULA_NAME, kv_cache_bytes, prefill_flops
    from horizon.models.presets import MODELS
    from horizon.paper_presets import resolve_schedule
    from horizon.report_run import layer_ranges

    if args.table3:
        return _print_table3(args)
    if args.model is None or args.text_tokens is None:
        raise ValueError("horizon flops needs --model and --text-tokens (or --table3)")
    preset = MODELS.get(args.model)
    n_visual = args.visual_tokens if args.visual_tokens is not None else preset.visual_tokens
    if n_visual is None:
        raise ValueError(f"{preset.name} has no fixed visual-token count: give --visual-tokens")
    if args.text_tokens < 1 or n_visual < 0:
        raise ValueError(f"--text-tokens must be >= 1 and --visual-tokens >= 0 (got {args.text_tokens}, {n_visual})")
    schedule = resolve_schedule(args.schedule)
    visual = schedule.tokens_per_layer(preset.arch.layers, n_visual)
    tokens = [args.text_tokens + v for v in visual]
    full = [args.text_tokens + n_visual] * preset.arch.layers
    flops, full_flops = prefill_flops(preset.arch, tokens), prefill_flops(preset.arch, full)
    kv, full_kv = (kv_cache_bytes(preset.arch, t, args.kv_bytes) / 2**20 for t in (tokens, full))
    print(f"{preset.name} · {schedule} · {args.text_tokens} text + {n_visual} visual tokens")
    print(f"visual tokens per layer: {layer_ranges(visual)} (average {sum(visual) / len(visual):.1f})")
    rows = [("prefill FLOPs (T)", f"{flops / 1e12:.2f}", f"{full_flops / 1e12:.2f}", f"{flops / full_flops:.3f}"),
            ("KV cache (MB)", f"{kv:.1f}", f"{full_kv:.1f}", f"{kv / full_kv:.3f}")]  # fmt: skip
    print(tabulate(rows, headers=["", "schedule", "unpruned", "ratio"], disable_numparse=True))
    print(f"\nFLOPs: {FORMULA_NAME}; KV: 2·n·kv_heads·head_dim·{args.kv_bytes} bytes per layer, MB = 2^20 bytes.")
    return 0


def _print_table3(args: argparse.Namespace) -> int:
    from horizon.efficiency.flops import FORMULA_NAME
    from horizon.efficiency.table3 import TABLE3_MODEL, TABLE3_TEXT_TOKENS, reproduce_table3
    from horizon.models.presets import MODELS
    from horizon.report.tables import load_paper

    if args.model not in (None, TABLE3_MODEL):
        raise ValueError(f"--table3 is LLaVA-1.5-7B's table; got --model {args.model!r}")
    text = TABLE3_TEXT_TOKENS if args.text_tokens is None else args.text_tokens
    arch, paper = MODELS.get(TABLE3_MODEL).arch, load_paper(args.paper, "table3")
    if not paper:
        raise ValueError(f"--table3 needs the published table {args.paper / 'table3.json'}: run from the repository "
                         "root or pass --paper <folder>")  # fmt: skip
    rows, published_rows = [], reproduce_table3(arch, paper, text, published_accounting=True)
    for table5, published in zip(reproduce_table3(arch, paper, text), published_rows, strict=True):
        row = [table5.label, table5.schedule, f"{table5.average_visual:.1f}"]
        row += [f"{table5.flops_t:.2f} ({table5.flops_delta:+.1%})", f"{table5.kv_mb:.1f} ({table5.kv_delta:+.1%})"]
        if published.schedule != table5.schedule:
            row += [published.schedule, f"{published.flops_t:.2f} ({published.flops_delta:+.1%})",
                    f"{published.kv_mb:.1f} ({published.kv_delta:+.1%})"]  # fmt: skip
        else:
            row += ["", "", ""]
        row += [f"{table5.paper_flops_t}", f"{table5.paper_kv_mb}"]
        rows.append(row)
    headers = ["row", "Table 5 schedule", "avg visual", "FLOPs T (vs paper)", "KV MB (vs paper)",
               "published accounting", "FLOPs T", "KV MB", "paper FLOPs", "paper KV"]  # fmt: skip
    print(f"Table 3 · {TABLE3_MODEL} · {text} text + 576 visual tokens\n")
    print(tabulate(rows, headers=headers, disable_numparse=True))
    print(
        f"\nFLOPs: {FORMULA_NAME}; KV: fp16, MB = 2^20 bytes. The FastV and DART rows come from those methods' own "
        "accounting (FastV full through layer 3; DART 4 + 8*ceil((r*576-4)/8) tokens), see horizon/efficiency/table3.py."
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.what == "methods":
        return cmd_bench_methods(args)
    if args.what == "info":
        return cmd_bench_info(args)
    if args.what == "suite":
        from horizon.bench.suite import bench_suite
        from horizon.models.tiny import cache_root

        r = bench_suite(cache_root(), limit_cases=args.repeats)
        print(f"{r.cases} default cases: {r.case_s:.2f} s in all, {r.model_s:.2f} s in the model (processor and engine); "
              f"harness overhead {100 * r.overhead:.1f}% (target: under 5%)")  # fmt: skip
        from horizon.bench.suite import bench_sweep_reuse
        from horizon.models.loading import load_model

        for name in [m for m in args.models.split(",") if m]:
            w = bench_sweep_reuse(load_model(name))
            print(f"{name}: layer sweep of {w.configurations} schedules (prefill + first token): "
                  f"{w.separate_s:.2f} s separately, {w.reused_s:.2f} s with prefix reuse: {w.speedup:.2f}x "
                  "(target: at least 2x)")  # fmt: skip
        return 0
    from horizon.bench.engine import bench_engine
    from horizon.models.loading import load_model

    rows = []
    for name in [m for m in args.models.split(",") if m]:
        rows += bench_engine(load_model(name), repeats=args.repeats or 15)
    table = [(r.model, r.schedule, f"{r.prefill_ms:.2f}", f"{r.time_ratio:.3f}", f"{r.flops_ratio:.3f}") for r in rows]
    print(tabulate(table, headers=["model", "schedule", "prefill ms (median)", "time / stock", "FLOPs / stock"]))
    print("\nFLOPs: analytic decoder prefill, formula dense-prefill (horizon/efficiency/flops.py).")
    return 0


def cmd_bench_info(args: argparse.Namespace) -> int:
    from horizon.bench.info import ASSUMED_UTILISATION, H100_BF16_DENSE_TFLOPS, bench_info, project_full_map
    from horizon.models.loading import load_model
    from horizon.models.presets import MODELS

    rows = []
    for name in [m for m in args.models.split(",") if m]:
        r = bench_info(load_model(name))
        rows.append((r.model, ",".join(map(str, r.layers)), r.n_visual, f"{r.naive_s:.2f}", f"{r.batched_s:.3f}",
                     f"{r.speedup:.1f}x", f"{r.max_abs_diff:.1e}"))  # fmt: skip
    headers = ["model", "layers", "visual tokens", "naive s", "batched s", "naive / batched", "max |diff|"]
    print(tabulate(rows, headers=headers, disable_numparse=True))
    print("(target: at least 50x; both compute every visual token at the same layers)\n")
    arch = MODELS.get("llava-1.5-7b").arch
    for text in (60, 116):
        p = project_full_map(arch, 576, text)
        print(f"llava-1.5-7b full map (32 layers x 577 suffix runs, {text} text tokens): {p.batched_tflops:.0f} TFLOPs "
              f"batched vs {p.naive_tflops:.0f} naive ({p.naive_tflops / p.batched_tflops:.1f}x); one H100 "
              f"({H100_BF16_DENSE_TFLOPS:.0f} dense BF16 TFLOPs): {p.seconds_at_peak:.1f} s at peak, "
              f"{p.seconds_assumed:.1f} s at an assumed {ASSUMED_UTILISATION:.0%} utilisation")  # fmt: skip
    return 0


def cmd_bench_methods(args: argparse.Namespace) -> int:
    from horizon.bench.methods import GEOMETRY, bench_methods

    rows = []
    for model in GEOMETRY:
        for t in bench_methods(model, repeats=args.repeats or 3):
            rows.append(
                (
                    t.model,
                    t.method,
                    t.tokens,
                    f"{t.selection_ms:.2f}",
                    f"{t.layer_ms:.1f}",
                    f"{t.share:.3f}",
                    f"{t.layer_tflops:.3f}",
                )
            )
    headers = ["geometry", "method", "tokens", "selection ms", "one layer ms", "selection / layer", "layer TFLOPs"]
    print(tabulate(rows, headers=headers))
    print("\nKeep 25% of the visual tokens; times are medians on this machine, random weights of the real width.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
