"""Progress bars for the long commands: a tqdm bar (rate and ETA) on stderr while stderr is a terminal, nothing
otherwise (a log file, a pipe, a test's captured output); never in records or ``--json`` files.

``$HORIZON_PROGRESS`` overrides the terminal test: ``always`` draws the bar anywhere, ``never`` never does."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from tqdm import tqdm

INTERRUPTED_EXIT = 130  # what a shell reports for a process stopped by Ctrl-C (128 + SIGINT)
SETTING = "HORIZON_PROGRESS"
CHOICES = ("auto", "always", "never")


def shown() -> bool | None:
    """Whether bars are drawn: True (always), False (never) or None (when stderr is a terminal, tqdm's test)."""
    value = os.environ.get(SETTING, "auto")
    if value not in CHOICES:
        raise ValueError(f"${SETTING}={value!r}: give one of {', '.join(CHOICES)}")
    return {"auto": None, "always": True, "never": False}[value]


def bar(total: int, desc: str, unit: str = "sample") -> tqdm:
    """A bar of ``total`` ``unit``s on stderr, labelled ``desc``; use it as a context manager."""
    from tqdm import tqdm

    show = shown()
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, smoothing=0.1,
                disable=None if show is None else not show)  # fmt: skip


def writer(shown: tqdm) -> Callable[[str], None]:
    """Print a line to stdout above the bar ``shown`` (which stays at the bottom), flushed at once so that a log or a
    ``| tee`` shows it live."""

    def say(line: str) -> None:
        shown.write(line, file=sys.stdout)
        sys.stdout.flush()

    return say


def start_at(shown: tqdm, done: int) -> None:
    """Start the bar ``shown`` at ``done`` (a resumed run): its rate and ETA then count this run's work only."""
    if shown.disable:
        return
    shown.initial = shown.n = done
    shown.start_t = shown.last_print_t = shown._time()
    shown.refresh()


def interrupted(done: int, total: int, what: str = "samples", kept: str = "") -> str:
    """The one line Ctrl-C prints: how far the work got and where what finished is (``kept``), or that nothing
    was kept."""
    where = f"; partial results in {kept}" if kept else "; nothing was written"
    return f"horizon: interrupted after {done} of {total} {what}{where}"
