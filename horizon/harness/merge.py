"""A pytest session's baseline shards: who writes them, who merges them, and what is left behind.

Each session (an id made at configure, handed to its xdist workers) writes its baseline changes as shards
(``<benchmark>.shard-<session>-<worker>.json`` beside their file, :func:`horizon.harness.baselines.shard_path`) and
only that session merges them, at its end, all or nothing. A session killed before its end leaves them behind:
they are *stale*, never merged by a later session, reported by every later one and removed by
``horizon baselines --clean``. ``.<name>.<random>.tmp`` files are :func:`horizon.files.write_all_atomic`'s.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import replace
from pathlib import Path

from horizon.files import write_all_atomic
from horizon.harness.baselines import SHARD, SHARD_NAME, BaselineError, dumps, load, shard_target

_SESSION = re.compile(r"(?P<pid>\d+)x[0-9a-f]+")


def new_session() -> str:
    """An id for one pytest session's shards: its process id (so a live session's files are kept) and a nonce."""
    return f"{os.getpid()}x{secrets.token_hex(4)}"


def session_shards(root: Path, session: str) -> list[Path]:
    return sorted(root.rglob(f"*{SHARD}{session}-*.json")) if root.is_dir() else []


def merge_session(root: Path, session: str, *, replace_damaged: bool) -> tuple[list[Path], list[str]]:
    """Fold ``session``'s shards under ``root`` into their files and remove them; nobody else's.

    All or nothing for the session: every merged file is worked out first (a damaged shard or target is a problem,
    named, and writes nothing of the session), then written (each atomically), then the shards are removed; the
    caller defers Ctrl-C around it (:func:`horizon.harness.session.finish_baselines`). A damaged file is replaced
    only with ``replace_damaged``, i.e. ``--update-baselines``, or when it is a ``.obtained.json`` review file.
    Returns the files written and the problems."""
    by_target: dict[Path, list[Path]] = {}
    for shard in session_shards(root, session):
        by_target.setdefault(shard_target(shard), []).append(shard)
    merged_files: dict[Path, str] = {}
    problems: list[str] = []
    for target, shards in sorted(by_target.items()):
        try:
            parts = [load(s, root) for s in shards]
        except BaselineError as err:
            problems.append(f"{err}: a shard of this session is damaged; {target} is left as it was")
            continue
        base = None
        if target.exists():
            try:
                base = load(target, root)
            except BaselineError as err:
                if not (replace_damaged or target.name.endswith(".obtained.json")):
                    problems.append(f"{err}; not merged (only --update-baselines replaces a damaged file)")
                    continue
        merged = base if base is not None else replace(parts[0], cases={})
        for part in parts:
            for case, c in part.cases.items():
                merged = merged.with_case(case, c.n, c.metrics, c.failures, c.units)
        merged_files[target] = dumps(merged)
    if problems:  # all or nothing: the session's shards stay for a person to look at, no file changes
        return [], problems + [f"no baseline file was changed: this session's shards are left under {root}"]
    write_all_atomic(merged_files)  # every file staged first: a full disk changes none of them
    for shards in by_target.values():
        for shard in shards:
            try:
                shard.unlink(missing_ok=True)
            except OSError as err:  # merged already: a leftover shard is stale, listed and cleaned like any other
                problems.append(f"{shard}: merged, but could not be removed ({err}); `horizon baselines --clean`")
    return sorted(merged_files), problems


def stale_files(root: Path, session: str | None = None) -> list[Path]:
    """Shards of other sessions than ``session`` and leftover temporary files under ``root``."""
    if not root.is_dir():
        return []
    shards = [p for p in root.rglob(f"*{SHARD}*.json") if session is None or f"{SHARD}{session}-" not in p.name]
    return sorted([*shards, *root.rglob(".*.tmp")])


def live(path: Path) -> bool:
    """Whether ``path`` is a shard of a session whose process is still running on this machine."""
    m = SHARD_NAME.fullmatch(path.name)
    session = None if m is None else _SESSION.match(m["owner"])
    if session is None:
        return False
    try:
        os.kill(int(session["pid"]), 0)
    except (ProcessLookupError, ValueError, OverflowError):
        return False
    except PermissionError:
        return True
    return int(session["pid"]) != os.getpid()


def clean(root: Path, *, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Remove stale shards and temporary files under ``root``: (removed, kept because their session still runs)."""
    removed: list[Path] = []
    kept: list[Path] = []
    for path in stale_files(root):
        if not force and live(path):
            kept.append(path)
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed, kept
