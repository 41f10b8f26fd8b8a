"""``horizon doctor``: one pass/fail line per check, then the numbers (docs/doctor.md). Exit 1 when a check fails."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from horizon.cli.options import add_device_options, check_at_least, check_output_file, names
from horizon.cli.progress import INTERRUPTED_EXIT, bar, writer

if TYPE_CHECKING:
    from tqdm import tqdm

    from horizon.doctor import Plan
    from horizon.models.loading import LoadedModel


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="prove this machine runs the suite (random-weight 7B models on a GPU, tiny on "
                                      "CPU; no weights, no data)")  # fmt: skip
    add_device_options(p, dtype=None, attn=None, dtype_help="bfloat16 on CUDA, float32 on CPU",
                       attn_help="check sdpa, eager and, on CUDA with flash-attn installed, flash_attention_2")
    p.add_argument("--models", default=None, help="presets to build (default llava-1.5-7b,qwen2.5-vl-7b on CUDA, "
                                                  "tiny-llava,tiny-qwen2.5-vl on CPU)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=5, help="timed repeats of each number (default 5)")
    p.add_argument("--no-numbers", action="store_true", help="the checks only")
    p.add_argument("--json", type=Path, default=None, help="also write every check and number to this JSON file")


def cmd_doctor(args: argparse.Namespace) -> int:
    from horizon.doctor import Plan, attentions, default_models
    from horizon.models.loading import check_options
    from horizon.models.presets import MODELS

    # every option is checked here, before anything is built
    dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
    attns = tuple(names(args.attn)) if args.attn is not None else attentions(args.device, dtype)
    for attn in attns:
        check_options(dtype, attn, args.device)
    models = tuple(names(args.models)) if args.models is not None else default_models(args.device)
    for name in models:
        if MODELS.get(name).bundled:
            raise ValueError(f"--models: {name} is an organism (shipped weights); the doctor builds random-weight "
                             f"architectures: give real or tiny presets")  # fmt: skip
    from horizon.doctor.numbers import MIN_REPEATS

    if not args.no_numbers and args.repeats < MIN_REPEATS:
        raise ValueError(f"--repeats {args.repeats}: a timing ratio is printed with its spread over the repeats, which "
                         f"needs at least {MIN_REPEATS}; give --repeats {MIN_REPEATS} or more (default 5), or "
                         "--no-numbers for the checks alone")  # fmt: skip
    check_at_least(args.repeats, "--repeats", 1, "timed repeats")
    check_output_file(args.json)
    plan = Plan(models, args.device, dtype, attns)
    return _run(plan, args)


def _run(plan: Plan, args: argparse.Namespace) -> int:
    print(f"horizon doctor · {plan.device} · {plan.dtype} · attention {', '.join(plan.attns)} · "
          f"{', '.join(plan.models)}{_versions()}")  # fmt: skip
    # "partial" until every model is done: a file left by Ctrl-C (or a crash) says which models it lacks
    record: dict[str, Any] = {"device": plan.device, "dtype": plan.dtype, "attention": list(plan.attns),
                              "versions": _version_dict(), "models": {}, "partial": True,
                              "models_planned": list(plan.models)}  # fmt: skip
    with bar(len(plan.models) * (2 - args.no_numbers), "horizon doctor", unit="stage") as shown:
        try:
            failed = _models(plan, args, record, shown)
        except KeyboardInterrupt:
            shown.leave = False
            shown.close()
            done = [m for m, entry in record["models"].items() if "numbers" in entry and (args.no_numbers or
                                                                                          entry["numbers"])]  # fmt: skip
            kept = f"; {', '.join(done)} in {args.json}" if args.json and done else ""
            print(f"horizon: interrupted after {len(done)} of {len(plan.models)} models{kept}", file=sys.stderr)
            return INTERRUPTED_EXIT
    print(f"\n{failed} check(s) failed" if failed else "\nevery check passed")
    return 1 if failed else 0


def _models(plan: Plan, args: argparse.Namespace, record: dict[str, Any], shown: tqdm) -> int:
    """Every model's checks and numbers into ``record`` (and ``--json`` after each), lines above the bar ``shown``;
    returns how many failed."""
    from horizon.doctor import checks_of
    from horizon.doctor.build import build_random, with_attention
    from horizon.files import write_atomic
    from horizon.models.presets import MODELS

    say = writer(shown)
    failed = 0
    for name in plan.models:
        shown.set_postfix_str(f"{name}: checks")
        t0 = time.perf_counter()
        loaded = build_random(MODELS.get(name), device=plan.device, dtype=plan.dtype, attn="sdpa")
        params = sum(p.numel() for p in loaded.model.parameters())
        built = time.perf_counter() - t0
        say(f"\n{name}: {params / 1e9:.2f}B parameters, random weights, built on {plan.device} in {built:.1f} s")
        entry: dict[str, Any] = {"parameters": params, "build_s": built, "checks": []}
        for check in checks_of(partial(with_attention, loaded), plan.attns):
            say(check.line())
            failed += not check.passed
            entry["checks"].append({"name": check.name, "passed": check.passed, "detail": check.detail,
                                    **({"skipped": True} if check.skipped else {})})  # fmt: skip
        loaded = with_attention(loaded, "sdpa")
        record["models"][name] = entry
        shown.update()
        if not args.no_numbers:
            shown.set_postfix_str(f"{name}: numbers ({args.repeats} repeats)")
            try:
                numbers = _numbers(loaded, args.repeats, say)
            except Exception as err:  # noqa: BLE001 - a crash in the numbers is a failure, the next model still runs
                failed += 1
                numbers = {"error": f"{type(err).__name__}: {err}"}
                say(f"FAIL  numbers: raised {type(err).__name__}: {err}")
            shown.update()
        entry["numbers"] = {} if args.no_numbers else numbers
        record["partial"] = name != plan.models[-1]
        if args.json:  # after each model: a run cut short keeps what it measured, marked partial
            write_atomic(args.json, json.dumps(record, indent=1, sort_keys=True) + "\n")
        del loaded  # free the device before the next build
    return failed


def _numbers(loaded: LoadedModel, repeats: int, say: Callable[[str], None]) -> dict[str, Any]:
    from horizon.doctor.checks import prompt_of
    from horizon.doctor.host_reads import host_reads
    from horizon.doctor.numbers import (
        NOISY,
        engine_overhead,
        host_syncs,
        information_map_time,
        spread_text,
        table3_timings,
    )
    from horizon.speed.info import spread_layers

    prompt = prompt_of(loaded)  # one sample, the demo image
    # the prompt every number is measured at (horizon plan scales the doctor's times to other prompts by FLOPs)
    out: dict[str, Any] = {"prompt": {"n_visual": prompt.n_visual,
                                      "text_tokens": int(prompt.inputs["input_ids"].shape[1]) - prompt.n_visual}}
    over = engine_overhead(loaded, prompt, repeats=max(repeats, 5))
    say(f"engine overhead at keep-all: prefill {over.engine_ms:.2f} ms vs stock {over.stock_ms:.2f} ms "
          f"= {spread_text(over.ratio, over.spread)} (target within 1.03; lowest-highest of {max(repeats, 5)} "
          "interleaved repeats)")  # fmt: skip
    out["overhead"] = {"stock_ms": over.stock_ms, "engine_ms": over.engine_ms, "ratio": over.ratio,
                       "spread": list(over.spread)}  # fmt: skip
    rows = table3_timings(loaded, prompt, repeats=repeats)
    noisy = [r.label for r in rows if r.label != "full" and "noisy" in spread_text(r.prefill_ratio, r.prefill_spread)]
    table = [(r.label, f"{r.measured.prefill_ms:.2f}", spread_text(r.prefill_ratio, r.prefill_spread), f"{r.flops_ratio:.3f}",
              f"{r.speedup_share:.2f}", f"{r.e2e_ratio:.3f}", f"{r.decode_ratio:.3f}", f"{r.memory_ratio:.3f}",
              f"{r.kv_ratio:.3f}") for r in rows]  # fmt: skip
    say(f"\nTable 3 on {loaded.name} ({prompt.n_visual} visual tokens, 16 new tokens, medians of {repeats}; "
          f"memory: {rows[0].measured.memory_source}; prefill/full with the lowest-highest of its {repeats} repeats):")  # fmt: skip
    say(tabulate(table, headers=["row", "prefill ms", "prefill/full", "FLOPs/full", "speedup share",
                                   "e2e/full", "decode/full", "memory/full", "KV/full"]))  # fmt: skip
    if noisy:
        say(f"warning: the prefill ratios of {', '.join(noisy)} vary by more than {NOISY:.0%} across the repeats: "
              "this machine is busy or its clock moves; read them as rough, or rerun with more --repeats on an idle "
              "machine")  # fmt: skip
    out["table3"] = [{"row": r.label, "schedule": r.schedule, "prefill_ms": r.measured.prefill_ms,
                      "e2e_ms": r.measured.e2e_ms, "decode_ms_per_token": r.measured.decode_ms_per_token,
                      "peak_memory_mb": r.measured.peak_memory_mb, "device_memory_mb": r.measured.device_memory_mb,
                      "prefill_ratio": r.prefill_ratio, "prefill_spread": list(r.prefill_spread),
                      "flops_ratio": r.flops_ratio, "kv_ratio": r.kv_ratio,
                      "e2e_ratio": r.e2e_ratio, "decode_ratio": r.decode_ratio, "memory_ratio": r.memory_ratio,
                      "speedup_share": r.speedup_share} for r in rows]  # fmt: skip
    for schedule in ("full", "paper:llava-64:dart+random"):
        reads = host_reads(loaded, prompt, schedule)
        say(f"\nhost reads in {schedule} (values read on the host; on a GPU each waits for it): prefill "
              f"{reads.prefill_count}, per decoded token {reads.per_token_count:g}"
              + (f" at {', '.join(sorted(reads.per_token))}" if reads.per_token else ""))  # fmt: skip
        out.setdefault("host_reads", {})[schedule] = {"prefill": reads.prefill_count,
                                                      "per_token": dict(reads.per_token)}  # fmt: skip
        syncs = host_syncs(loaded, prompt, schedule)
        if syncs is None:
            say(f"host synchronisations ({schedule}): not counted on {loaded.device} (nothing waits for a GPU)")
            continue
        say(f"host synchronisations in one run of {schedule} (prefill + {syncs.new_tokens} tokens, "
              f"{syncs.n_layers} layers): {syncs.count} ({syncs.per_token:.1f} per token); first at "
              f"{', '.join(syncs.first) or '-'}")  # fmt: skip
        out.setdefault("host_syncs", {})[schedule] = {"count": syncs.count, "new_tokens": syncs.new_tokens,
                                                      "first": list(syncs.first)}  # fmt: skip
    m = information_map_time(loaded, prompt, spread_layers(loaded.n_layers, 2))
    say(f"\ninformation map of one sample: {m.seconds:.2f} s at layers {list(m.layers)}, "
          f"{m.projected_s:.1f} s projected for all {loaded.n_layers} layers (by analytic FLOPs)")  # fmt: skip
    out["information_map"] = {"layers": list(m.layers), "seconds": m.seconds, "projected_s": m.projected_s}
    return out


def _version_dict() -> dict[str, str]:
    import platform

    import torch
    import transformers

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "cuda": str(torch.version.cuda), "gpu": gpu}  # fmt: skip


def _versions() -> str:
    v = _version_dict()
    return f" · torch {v['torch']} · transformers {v['transformers']} · GPU {v['gpu']}"
