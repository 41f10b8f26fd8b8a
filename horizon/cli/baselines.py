"""``horizon baselines``: check every baseline file under a folder, list stale shards and temporary files left by
interrupted sessions, and with ``--clean`` remove them (the only command that does)."""

from __future__ import annotations

import argparse
from pathlib import Path

from horizon.harness.baselines import SHARD, BaselineError, load
from horizon.harness.merge import clean, live, stale_files


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("baselines", help="check baseline files; list or --clean interrupted sessions' leftovers")
    p.add_argument("--baselines", type=Path, default=Path("baselines"), help="baseline folder (default: baselines)")
    p.add_argument("--clean", action="store_true", help="remove stale shards and temporary files")
    p.add_argument("--force", action="store_true", help="with --clean: also the shards of a session still running")
    p.add_argument("--power", type=Path, default=None, metavar="RESULTS",
                   help="plant drops into these records and say how small a drop the band and the paired gate each "
                        "catch, and how many records as they are fail (false alarms)")  # fmt: skip


def cmd_baselines(args: argparse.Namespace) -> int:
    root: Path = args.baselines
    if not root.is_dir():
        raise ValueError(f"--baselines {str(root)!r} is not a folder")
    damaged = []
    files = [
        p
        for p in sorted(root.rglob("*.json"))
        if SHARD not in p.name and not p.name.endswith(".obtained.json") and p.relative_to(root).parts[0] != "paper"
    ]  # fmt: skip (paper/ holds the published tables)
    for path in files:
        try:
            load(path, root)
        except BaselineError as err:
            damaged.append(str(err))
    print(f"{len(files) - len(damaged)} baseline files read, {len(damaged)} damaged under {root}")
    if args.power is not None:
        _power(args.power, root)
    for line in damaged:
        print(f"  damaged: {line}")
    if args.clean:
        removed, kept = clean(root, force=args.force)
        for path in removed:
            print(f"  removed: {path}")
        for path in kept:
            print(f"  kept (its session is still running; --force removes it): {path}")
    else:
        stale = stale_files(root)
        for path in stale:
            print(f"  {'in use' if live(path) else 'stale'}: {path}")
        if stale:
            print(f"{len(stale)} leftover files; `horizon baselines --baselines {root} --clean` removes them")
    return 1 if damaged else 0


def _power(results: Path, root: Path) -> None:
    import statistics

    from tabulate import tabulate

    from horizon.harness.gate_power import GatePower, gate_power
    from horizon.harness.records import read_records

    if not results.is_dir():
        raise ValueError(f"--power {str(results)!r} is not a folder of records")
    rows = gate_power(read_records(results), root)
    if not rows:
        print(f"--power: no record under {results} has single-answer units and a baseline entry")
        return
    groups: dict[str, list[GatePower]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)

    def median(values: list[float | None]) -> str:
        known = [v for v in values if v is not None]
        return f"{statistics.median(known):.1f}" if known else "-"

    table = [[name, len(rs), rs[0].n, median([r.band_drop for r in rs]), median([r.gate_drop for r in rs]),
              sum(r.false_alarm for r in rs)] for name, rs in sorted(groups.items())]  # fmt: skip
    print(tabulate(table, headers=["model, benchmark", "cases", "n", "band catches (median drop, points)",
                                   "band or paired gate (median)", "false alarms"], disable_numparse=True))  # fmt: skip
    both = [(r.band_drop, r.gate_drop) for r in rows if r.band_drop is not None and r.gate_drop is not None]
    if both:
        print(f"{len(both)} cases with a catchable drop (of {len(rows)}): band or paired gate catches a smaller planted drop than the band alone in "
              f"{sum(g < b for b, g in both)}, the same in {sum(g == b for b, g in both)}, a larger one in "
              f"{sum(g > b for b, g in both)} (medians {statistics.median(b for b, _ in both):.1f} vs "
              f"{statistics.median(g for _, g in both):.1f} points); "
              f"{sum(r.false_alarm for r in rows)} of them fail their baseline as they are")  # fmt: skip
