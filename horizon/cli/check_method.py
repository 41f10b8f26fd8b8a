"""``horizon check-method NAME``: the method contract run against one registered method (a built-in, or a plugin's
given with ``--plugin``): one pass/fail line per check, a summary; exit 1 when a check fails."""

from __future__ import annotations

import argparse
import os
import time

from horizon.cli.options import names


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check-method", help="check a method (built-in or --plugin) against the method contract: exact "
                                            "budgets, keep-all, determinism, batching, declared reads, attention, "
                                            "selection time")  # fmt: skip
    p.add_argument("name", help="a registered method (horizon list methods; a plugin's with --plugin FILE)")
    p.add_argument("--models", default=None, help="tiny presets to check on (default tiny-llava,tiny-qwen2.5-vl)")
    p.add_argument("--quick", action="store_true", help="fewer budgets and seeds, and no selection timing")


def cmd_check_method(args: argparse.Namespace) -> int:
    from horizon.contract import CONTRACT_MODELS, contract_checks
    from horizon.methods import METHODS
    from horizon.methods.plugins import method_source

    method = METHODS.get(args.name)  # an unknown name: the registry's error, naming the known ones
    models = tuple(names(args.models)) if args.models is not None else CONTRACT_MODELS
    checks = contract_checks(args.name, env=os.environ, models=models, quick=args.quick)  # checks every name first
    print(f"horizon check-method {method.name} · {method_source(method)} · needs "
          f"{', '.join(sorted(method.needs)) or 'nothing'} · layer {max(method.min_layer, 2)} · "
          f"{', '.join(models)} (sdpa, float32, cpu){' · quick' if args.quick else ''}")  # fmt: skip
    t0 = time.perf_counter()
    total = failed = 0
    for check in checks:
        print(check.line(), flush=True)
        total += 1
        failed += not check.passed
    took = f" in {time.perf_counter() - t0:.1f} s" + (" (selection time not measured: --quick)" if args.quick else "")
    print(f"\n{failed} of {total} check(s) failed{took}" if failed else f"\nall {total} checks passed{took}")
    return 1 if failed else 0
