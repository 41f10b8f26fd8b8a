"""``horizon compare A B``: two runs paired on the samples both hold: suite records, ``horizon eval --json`` files,
or folders of either (review a change before updating baselines, or ask "my schedule against random on the same
samples"; docs/statistics.md)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from horizon.cli.options import check_output_file

if TYPE_CHECKING:
    from horizon.report.compare import Comparison
    from horizon.report.runs import Run

RULE = ("verdict (the suite's rule, docs/statistics.md): p < {alpha:g}: B ahead of / behind A; else \"no significant "
        "difference\" where it could detect {margin:g} points (MDE <= {margin:g}), else inconclusive; identical: every "
        "shared unit's value and answer the same")  # fmt: skip
HEADERS = ["case", "metric", "A", "B", "B-A", "n", "paired B-A", "95% CI", "p", "test", "MDE", "flips -/+", "verdict"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compare", help="two runs paired on the same samples: suite records, `horizon eval --json` "
                                       "files, or folders of either")  # fmt: skip
    p.add_argument("a", type=Path, help="the first run: a suite record, a `horizon eval --json` file, or a folder of "
                                        "either (searched recursively)")  # fmt: skip
    p.add_argument("b", type=Path, help="the second run, tested against A. Two files are compared directly (any "
                                        "models or schedules, the same benchmark and protocol); folders are matched "
                                        "by case id")  # fmt: skip
    p.add_argument("--alpha", type=float, default=0.05, help="significance level, two-sided (default 0.05)")
    p.add_argument("--all", action="store_true", help="list every case (default: a summary and the cases that are not "
                                                      "identical or the same; two single runs are always listed)")  # fmt: skip
    p.add_argument("--fail-on-drop", action="store_true", help="exit 1 when B is significantly behind A on any case, "
                                                                "or when either side is partial (a cut run gates nothing)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="also write every comparison to this JSON file")


def _f(v: float | None, fmt: str = ".1f") -> str:
    return "" if v is None else format(v, fmt)


def _describe(side: str, r: Run) -> str:
    seeds = f", {len(r.seeds)} seeds" if len(r.seeds) > 1 else ""
    whole = f" · {side} is {r.partial_note}" + (f" ({r.interrupted})" if r.interrupted else "") if r.partial else ""
    return (f"{side} = {r.source}: {r.written_by} · {r.model}{' (stand-in)' if r.stand_in else ''} on {r.benchmark} · "
            f"{r.schedule} · protocol {r.protocol} · {r.n} samples{seeds}{whole}")  # fmt: skip


def rows_of(c: Comparison) -> list[list[object]]:
    """The table rows of one comparison: one per metric; the paired numbers on the metric the units measure."""
    note = "; ".join(c.partial)
    case = c.case + (f" [{note}]" if note else "")
    p, out = c.paired, []
    for i, m in enumerate(c.metrics or ()):
        name = c.measured if m.paired and c.measured != m.metric else m.metric  # MME: "total per group (...)"
        row: list[object] = [case if i == 0 or note else "", name, _f(m.a), _f(m.b), _f(m.difference, "+.1f")]
        if m.paired and p is not None:
            flips = "" if p.flips is None else f"{p.flips[0]}/{p.flips[1]}"
            row += [p.n, f"{p.difference:+.1f}", f"[{p.low:+.1f}, {p.high:+.1f}]", f"{p.p_value:.2g}", p.test,
                    f"{p.mde:.1f}", flips, c.verdict]  # fmt: skip
        else:
            why = f"the per-sample rows measure {c.measured}" if p is not None else "no per-sample values"
            row += [""] * 7 + [c.verdict if m.paired else f"not paired ({why})"]
        out.append(row)
    if not any(m.paired for m in c.metrics):  # no metric the units measure: the verdict on its own row
        out.append([case if not out or note else "", c.measured, "", "", "", *([""] * 7), c.verdict])
    return out


def _run_json(r: Run) -> dict[str, Any]:
    return {"name": r.name, "source": r.source, "written_by": r.written_by, "benchmark": r.benchmark,
            "model": r.model, "schedule": r.schedule, "protocol": r.protocol, "stand_in": r.stand_in,
            "partial": r.partial, "n": r.n, "total": r.total, **({"interrupted": r.interrupted} if r.interrupted
                                                                 else {})}  # fmt: skip


def comparison_json(c: Comparison) -> dict[str, Any]:
    p, (ha, hb) = c.paired, c.headline
    return {"case": c.case, "kind": c.kind, "verdict": c.verdict, "measures": c.measured, "a": ha, "b": hb,
            "why": c.why, "identical": c.identical, "partial": c.partial, "a_run": _run_json(c.a),
            "b_run": _run_json(c.b), "units_only_a": c.units_only_a, "units_only_b": c.units_only_b,
            "metrics": [{"metric": m.metric, "a": m.a, "b": m.b, "difference": m.difference, "paired": m.paired}
                        for m in c.metrics],
            **({} if p is None else {"n": p.n, "unit_mean_a": p.a, "unit_mean_b": p.b, "difference": p.difference,
                                     "ci": [p.low, p.high], "p_value": p.p_value, "test": p.test, "mde": p.mde,
                                     "flips": p.flips, "alpha": p.alpha, "margin": p.margin})}  # fmt: skip


def _counts(rows: Sequence[Comparison]) -> dict[str, int]:
    from horizon.report.compare import KINDS

    return {k: sum(c.kind == k for c in rows) for k in KINDS}


def _summary(rows: Sequence[Comparison], only_a: Sequence[str], only_b: Sequence[str]) -> str:
    """The counts of each verdict, the cases one side holds alone, and the comparisons with a partial run."""
    partial = sum(bool(c.partial) for c in rows)
    return "; ".join([", ".join(f"{v} {k}" for k, v in _counts(rows).items()),
                      *([f"only in A: {len(only_a)}"] if only_a else []), *([f"only in B: {len(only_b)}"] if only_b
                                                                             else []),
                      *([f"{partial} with a partial run (listed whatever the verdict)"] if partial else [])])  # fmt: skip


def _header(args: argparse.Namespace, a: Sequence[Run], b: Sequence[Run], rows: int, direct: bool) -> list[str]:
    if not direct:
        return [f"horizon compare · B = {args.b} against A = {args.a} · {rows} shared cases · alpha {args.alpha:g} "
                "(paired: exact McNemar or randomization test; 95% CI by paired bootstrap)"]  # fmt: skip
    flags = "".join(f" ({side} is {r.partial_note})" for side, r in (("B", b[0]), ("A", a[0])) if r.partial)
    return [f"horizon compare · B = {args.b} against A = {args.a}{flags} · 1 pair · alpha {args.alpha:g} "
            "(paired: exact McNemar or randomization test; 95% CI by paired bootstrap)",
            _describe("A", a[0]), _describe("B", b[0])]  # fmt: skip


def cmd_compare(args: argparse.Namespace) -> int:
    from horizon.report.compare import QUIET, compare_runs
    from horizon.report.runs import read_runs
    from horizon.stats import MARGIN

    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha {args.alpha}: give a significance level in (0, 1), e.g. 0.05")
    check_output_file(args.json)
    runs_a, runs_b = read_runs(args.a, "A"), read_runs(args.b, "B")
    direct = args.a.is_file() and args.b.is_file()  # two single runs: compared whatever their names
    rows, only_a, only_b = compare_runs(runs_a, runs_b, args.alpha, direct=direct)
    shown = [c for c in rows if args.all or direct or c.kind not in QUIET or c.partial]
    print("\n".join(_header(args, runs_a, runs_b, len(rows), direct)))
    if shown:
        print(tabulate([r for c in shown for r in rows_of(c)], headers=HEADERS, disable_numparse=True))
        for c in shown:
            if c.units_only_a or c.units_only_b:
                print(f"{c.case}: not paired: {c.units_only_a} units only in A, {c.units_only_b} only in B")
        print(RULE.format(alpha=args.alpha, margin=MARGIN))
        print(_summary(rows, only_a, only_b))
    else:
        print(f"nothing differs: {_summary(rows, only_a, only_b)} (--all lists every case)" if rows else
              _summary(rows, only_a, only_b))  # fmt: skip
    for c in rows:
        for line in c.partial:
            print(f"{c.case}: {line}: its metrics cover those samples only; the pairs are the samples both hold")
    counts = _counts(rows)
    if args.json:
        from horizon.files import write_atomic

        data = {"a": str(args.a), "b": str(args.b), "alpha": args.alpha, "counts": counts,
                "comparisons": [comparison_json(c) for c in rows], "only_a": only_a, "only_b": only_b}  # fmt: skip
        write_atomic(args.json, json.dumps(data, indent=1) + "\n")
    if args.fail_on_drop and any(c.partial for c in rows):  # a gate never passes on a run cut short
        print(f"--fail-on-drop: {sum(1 for c in rows if c.partial)} comparison(s) hold a partial run: not a gate "
              "result; rerun to completion")  # fmt: skip
        return 1
    return 1 if args.fail_on_drop and counts["behind"] else 0
