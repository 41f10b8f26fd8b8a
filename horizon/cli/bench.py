"""``horizon bench``: speed benchmarks of horizon itself (engine, methods, suite, information maps)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence

from tabulate import tabulate

from horizon.cli.options import check_at_least, check_model_name, names
from horizon.cli.progress import bar


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="speed benchmarks of horizon itself")
    p.add_argument("what", choices=list(BENCHES))
    p.add_argument("--models", default="tiny-llava,tiny-qwen2.5-vl")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 15 engine, 3 methods)")
    p.add_argument("--geometry", help="methods: models whose width and token counts are timed (default "
                   "llava-1.5-7b,qwen2.5-vl-7b; tiny-llava,tiny-qwen2.5-vl: the same tokens at the tiny width)")  # fmt: skip
    p.add_argument("--layers", type=int, default=5, help="info: layers spread over the depth (default 5)")
    p.add_argument("--organisms", default="organism-llava,organism-qwen2.5-vl",
                   help="suite: the organisms of the batched-evaluation lines ('' for none)")  # fmt: skip
    p.add_argument(
        "--rows", type=int, default=32, help="suite: held-out rows of the batched-evaluation lines (default 32)"
    )


def cmd_bench(args: argparse.Namespace) -> int:
    # every option is checked here, before any model loads
    check_at_least(args.repeats, "--repeats", 1, "timed repeats" if args.what != "suite" else "default cases timed")
    check_at_least(args.layers, "--layers", 1, "layers spread over the depth")
    check_at_least(args.rows, "--rows", 1, "held-out rows of the batched-evaluation lines")
    if args.what in ("engine", "info") and not names(args.models):
        raise ValueError(f"--models {args.models!r} names no model: give presets, e.g. 'tiny-llava,tiny-qwen2.5-vl'")
    if args.what == "methods" and args.geometry is not None and not names(args.geometry):
        raise ValueError(f"--geometry {args.geometry!r} names no model: give presets, e.g. 'llava-1.5-7b'")
    for name in names(args.models) + names(args.organisms):
        check_model_name(name, "--models" if name in names(args.models) else "--organisms")
    if args.geometry is not None:
        from horizon.models.presets import MODELS

        for name in names(args.geometry):
            MODELS.get(name)  # the geometry is a preset's architecture: an unknown name lists the presets
    return BENCHES[args.what](args)


def _engine(args: argparse.Namespace) -> int:
    from horizon.models.loading import load_model
    from horizon.speed.engine import bench_engine

    rows = []
    for name in _steps(names(args.models), "bench engine", "model"):
        rows += bench_engine(load_model(name), repeats=args.repeats or 15)
    table = [(r.model, r.schedule, f"{r.prefill_ms:.2f}", f"{r.time_ratio:.3f}", f"{r.flops_ratio:.3f}") for r in rows]
    print(tabulate(table, headers=["model", "schedule", "prefill ms (median)", "time / stock", "FLOPs / stock"]))
    print("\nFLOPs: analytic decoder prefill, formula dense-prefill (horizon/efficiency/flops.py).")
    return 0


def _methods(args: argparse.Namespace) -> int:
    from horizon.speed.methods import DEFAULT_GEOMETRY, bench_methods

    rows = []
    geometries = names(args.geometry) if args.geometry is not None else list(DEFAULT_GEOMETRY)
    for model in _steps(geometries, "bench methods", "geometry"):
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


def _suite(args: argparse.Namespace) -> int:
    from horizon.models.loading import load_model
    from horizon.models.tiny import cache_root
    from horizon.speed.suite import bench_batched, bench_suite, bench_sweep_reuse

    steps = ["default cases", *names(args.models), *names(args.organisms)]
    progress = iter(_steps(steps, "bench suite", "step"))
    next(progress)
    r = bench_suite(cache_root(), limit_cases=args.repeats)
    lines = [f"{r.cases} default cases: {r.case_s:.2f} s in all, {r.model_s:.2f} s in the model (processor and "
             f"engine); harness overhead {100 * r.overhead:.1f}% (target: under 5%)"]  # fmt: skip
    for name in names(args.models):
        next(progress)
        w = bench_sweep_reuse(load_model(name))
        lines.append(f"{name}: layer sweep of {w.configurations} schedules (prefill + first token): "
                     f"{w.separate_s:.2f} s separately, {w.reused_s:.2f} s with prefix reuse: {w.speedup:.2f}x "
                     "(target: at least 2x)")  # fmt: skip
    for name in names(args.organisms):
        next(progress)
        b = bench_batched(load_model(name), samples=args.rows)
        lines.append(f"{name}: sweep group of {b.schedules} schedules on {b.samples} synth-fine rows: "
                     f"{b.one_by_one_s:.2f} s one sample per forward, {b.batched_s:.2f} s {b.batch} per forward: "
                     f"{b.speedup:.2f}x; same answers: {b.same_answers}")  # fmt: skip
    next(progress, None)  # the bar's last step
    print("\n".join(lines))  # after the bar, which shared the terminal while they were measured
    return 0


def _info(args: argparse.Namespace) -> int:
    from horizon.models.loading import load_model
    from horizon.models.presets import MODELS
    from horizon.speed.info import ASSUMED_UTILISATION, H100_BF16_DENSE_TFLOPS, bench_info, project_full_map

    rows = []
    for name in _steps(names(args.models), "bench info", "model"):
        r = bench_info(load_model(name), count=args.layers)
        rows.append((r.model, ",".join(map(str, r.layers)), r.n_visual, f"{r.naive_s:.2f}", f"{r.batched_s:.3f}",
                     f"{r.speedup:.1f}x", f"{r.max_abs_diff:.1e}"))  # fmt: skip
    headers = ["model", "layers", "visual tokens", "naive s", "batched s", "naive / batched", "max |diff|"]
    print(tabulate(rows, headers=headers, disable_numparse=True))
    print("(target: at least 50x; both compute every visual token at the same layers)\n")
    llava = MODELS.get("llava-1.5-7b")
    n_visual = llava.visual_tokens or 0
    for text in (60, 116):
        p = project_full_map(llava.arch, n_visual, text)
        print(f"{llava.name} full map ({llava.arch.layers} layers x {n_visual + 1} suffix runs, {text} text tokens): "
              f"{p.batched_tflops:.0f} TFLOPs "
              f"batched vs {p.naive_tflops:.0f} naive ({p.naive_tflops / p.batched_tflops:.1f}x); one H100 "
              f"({H100_BF16_DENSE_TFLOPS:.0f} dense BF16 TFLOPs): {p.seconds_at_peak:.1f} s at peak, "
              f"{p.seconds_assumed:.1f} s at an assumed {ASSUMED_UTILISATION:.0%} utilisation")  # fmt: skip
    return 0


def _steps(items: Sequence[str], desc: str, unit: str) -> Iterator[str]:
    """``items`` one by one under a progress bar that names the one running (a step finishes as the next is asked
    for); the bar closes when the last is done."""
    with bar(len(items), desc, unit) as shown:
        for item in items:
            shown.set_postfix_str(item)
            yield item
            shown.update()


BENCHES: dict[str, Callable[[argparse.Namespace], int]] = {
    "engine": _engine,
    "methods": _methods,
    "suite": _suite,
    "info": _info,
}
