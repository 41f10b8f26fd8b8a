"""``horizon baselines``: check every baseline file under a folder, list stale shards and temporary files left by
interrupted sessions, and with ``--clean`` remove them (the only command that does)."""

from __future__ import annotations

import argparse
from pathlib import Path

from horizon.baselines import SHARD, BaselineError, clean, live, load, stale_files


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("baselines", help="check baseline files; list or --clean interrupted sessions' leftovers")
    p.add_argument("--baselines", type=Path, default=Path("baselines"), help="baseline folder (default: baselines)")
    p.add_argument("--clean", action="store_true", help="remove stale shards and temporary files")
    p.add_argument("--force", action="store_true", help="with --clean: also the shards of a session still running")


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
            load(path)
        except BaselineError as err:
            damaged.append(str(err))
    print(f"{len(files) - len(damaged)} baseline files read, {len(damaged)} damaged under {root}")
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
