"""``horizon report``: one Markdown report from case records (from many machines)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="render one Markdown report from case records (from many machines)")
    p.add_argument("results", type=Path, help="folder of records (searched recursively)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports)")
    p.add_argument("--paper", type=Path, default=Path("baselines/paper"), help="the paper's tables")
    p.add_argument("--baselines", type=Path, default=Path("baselines"), help="baselines for the regressions section")


def cmd_report(args: argparse.Namespace) -> int:
    from horizon.report.write import write_report

    if not args.results.is_dir() or not any(args.results.rglob("*.json")):
        raise ValueError(f"no records under {str(args.results)!r}")
    baselines = args.baselines if args.baselines.is_dir() else None
    out, n = write_report(args.results, args.out, args.paper, baselines)
    print(f"{n} records -> {out}")
    return 0
