"""Atomic file writes, for everything horizon must never leave half-written (baselines, records, studies)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the new one, never half of either."""
    write_all_atomic({path: text})


def write_all_atomic(files: Mapping[Path, str | bytes]) -> None:
    """Write several files (text or bytes) as one step: every one goes to a temporary file beside its target first (a full or
    read-only disk fails here, and no target changes), then each replaces its target (a rename, which does not
    fail for want of space; a target that became a folder would). A reader sees each file old or new, never
    half; a failure while staging writes none of them and leaves no temporary file."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary write would create it (mkstemp makes it private)
            with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for k, (tmp, path) in enumerate(staged):
        try:
            os.replace(tmp, path)
        except BaseException:
            for left, _ in staged[k:]:
                Path(left).unlink(missing_ok=True)
            raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
