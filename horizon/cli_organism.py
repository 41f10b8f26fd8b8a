"""``horizon organism``: the embedded model organisms' data (``data``); training comes with issue 7."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("organism", help="the embedded model organisms: synthetic data (training: issue 7)")
    osub = p.add_subparsers(dest="organism_command", required=True)
    d = osub.add_parser("data", help="write the synth benchmark (parquet) generated from a seed")
    d.add_argument(
        "--out", type=Path, required=True, help="folder to write (use $HORIZON_DATA/synth to evaluate on it)"
    )
    d.add_argument("--n", type=int, default=600, help="rows (the six tasks in turn)")
    d.add_argument("--seed", type=int, default=0)


def cmd_organism(args: argparse.Namespace) -> int:
    from horizon.benchmarks.fixtures import write_parquet
    from horizon.benchmarks.synth import rows

    path = write_parquet("synth", args.out, rows(args.n, seed=args.seed))
    print(f"{args.n} synth rows (seed {args.seed}) -> {path}")
    return 0
