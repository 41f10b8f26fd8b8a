"""``horizon verdict``: the paper's test applied to any method (docs/plugins.md): better than random, where, where
it stops, what information it keeps, and whether random pruning in the deep layers helps it."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from horizon.cli.options import names


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from horizon.harness.matrix import FINDINGS_ORGANISMS, ORGANISM_KEEP, SUITE_ROWS, SYNTH_FAMILIES

    p = sub.add_parser("verdict", help="is a method better than random, at which layers? (the paper's test)")
    p.add_argument("method", help="a registered method (built-in, --plugin or an installed horizon.methods plugin)")
    p.add_argument("--models", default=",".join(FINDINGS_ORGANISMS),
                   help="comma-separated models (default: the two organisms; any preset or checkpoint with local data)")
    p.add_argument("--benchmarks", default=",".join(SYNTH_FAMILIES),
                   help="comma-separated benchmarks (default: the organisms' synth task families)")  # fmt: skip
    p.add_argument("--rows", type=int, default=SUITE_ROWS,
                   help=f"held-out synth rows, split between the families (default {SUITE_ROWS}, the suite's); a real "
                        "benchmark: its first N samples; more rows detect smaller differences")  # fmt: skip
    p.add_argument("--keep", type=float, default=ORGANISM_KEEP, help=f"fraction of visual tokens kept (default {ORGANISM_KEEP:g})")
    p.add_argument("--seeds", type=int, default=3, help="random's runs, averaged per sample (default 3)")
    p.add_argument("--info-rows", type=int, default=16, help="samples of the information-retained study (0: skip)")
    p.add_argument("--out", type=Path, default=Path("reports/verdict"), help="where the page and figure go")


def cmd_verdict(args: argparse.Namespace) -> int:
    from horizon.verdict.judge import finding, judge
    from horizon.verdict.page import write_page
    from horizon.verdict.run import VerdictConfig, run_verdict

    config = VerdictConfig(method=args.method, models=tuple(names(args.models)),
                           benchmarks=tuple(names(args.benchmarks)), rows=args.rows, keep=args.keep, seeds=args.seeds,
                           info_rows=args.info_rows)  # fmt: skip
    start = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - start:5.0f} s] {message}", file=sys.stderr, flush=True)

    judged = [judge(s) for s in run_verdict(config, progress)]
    command = "horizon verdict " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if sys.argv[1:2] == ["verdict"] \
        else f"horizon verdict {args.method}"
    for j in judged:
        print(f"{j.sweep.model} · {j.sweep.benchmark} (n = {j.sweep.n}): {finding(j, args.method)}")
    page, figure = write_page(judged, args.method, args.out, command)
    print(f"wrote {page} and {figure} ({time.monotonic() - start:.0f} s)")
    return 0
