"""``horizon compare A B``: two runs' records, case by case, paired on their shared samples (review a change
before updating baselines; docs/statistics.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from horizon.cli.options import check_output_file

if TYPE_CHECKING:
    from horizon.harness.records import Record


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compare", help="two runs' records case by case, paired on the same samples")
    p.add_argument("a", type=Path, help="the first run's records (a folder, searched recursively, or one record)")
    p.add_argument("b", type=Path, help="the second run's records: each case is tested B against A")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level, two-sided (default 0.05)")
    p.add_argument("--all", action="store_true", help="list every case (default: only those that differ or cannot "
                                                      "be compared)")  # fmt: skip
    p.add_argument("--fail-on-drop", action="store_true", help="exit 1 when B is significantly behind A on any case")
    p.add_argument("--json", type=Path, default=None, help="also write every comparison to this JSON file")


def _records(path: Path, option: str) -> list[Record]:
    from horizon.harness.records import Record, read_records

    if not path.exists():
        raise ValueError(f"{option} {str(path)!r} does not exist: give a folder of records or one record file")
    if path.is_file():
        return [Record.from_json(path.read_text(), str(path))]
    records = read_records(path)
    if not records:
        raise ValueError(f"{option} {str(path)!r} holds no records (*.json)")
    return records


def cmd_compare(args: argparse.Namespace) -> int:
    from horizon.report.compare import compare_records

    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha {args.alpha}: give a significance level in (0, 1), e.g. 0.05")
    check_output_file(args.json)
    rows, only_a, only_b = compare_records(_records(args.a, "A"), _records(args.b, "B"), args.alpha)
    table: list[list[object]] = []
    counts = {"ahead": 0, "behind": 0, "same": 0, "inconclusive": 0, "not compared": 0}
    for c in rows:
        p = c.paired
        kind = ("not compared" if p is None else ("ahead" if p.difference > 0 else "behind") if p.significant
                else "same" if p.same else "inconclusive")  # fmt: skip
        counts[kind] += 1
        if p is None:
            table.append([c.case, c.measured, "", "", "", "", "", "", "", c.why])
        elif args.all or kind != "same":
            flips = "" if p.flips is None else f"{p.flips[0]}/{p.flips[1]}"
            table.append([c.case, c.measured, p.n, f"{p.a:.1f}", f"{p.b:.1f}", f"{p.difference:+.1f}",
                          f"[{p.low:+.1f}, {p.high:+.1f}]", f"{p.p_value:.2g}", flips, p.verdict("A", "B")])  # fmt: skip
    print(f"horizon compare · B = {args.b} against A = {args.a} · {len(rows)} shared cases · alpha {args.alpha:g} "
          f"(paired: exact McNemar or randomization test; 95% CI by paired bootstrap)")  # fmt: skip
    if table:
        print(tabulate(table, headers=["case", "measures", "n", "A", "B", "B-A", "95% CI", "p", "flips -/+", "verdict"],
                       disable_numparse=True))  # fmt: skip
    print(", ".join(f"{v} {k}" for k, v in counts.items()) + (f"; only in A: {len(only_a)}" if only_a else "")
          + (f"; only in B: {len(only_b)}" if only_b else ""))  # fmt: skip
    if args.json:
        from horizon.files import write_atomic

        data = [{"case": c.case, "measures": c.measured, "a": c.a, "b": c.b, "why": c.why,
                 **({} if c.paired is None else {"n": c.paired.n, "unit_mean_a": c.paired.a, "unit_mean_b": c.paired.b,
                    "difference": c.paired.difference, "ci": [c.paired.low, c.paired.high],
                    "p_value": c.paired.p_value, "test": c.paired.test, "mde": c.paired.mde,
                    "flips": c.paired.flips, "verdict": c.paired.verdict("A", "B")})} for c in rows]  # fmt: skip
        write_atomic(args.json, json.dumps({"comparisons": data, "only_a": only_a, "only_b": only_b}, indent=1) + "\n")
    return 1 if args.fail_on_drop and counts["behind"] else 0
