"""The suite's progress lines: a long sweep group or information study (one case runs the whole group, so pytest
shows no dot for minutes) says when it starts, how far it has got and when it ends, one line at a time.

pytest-native: each line is written with pytest's output capture suspended (the capture manager's
``global_and_fixture_disabled``), so it reaches the terminal under ``-q`` and from xdist workers, whose stderr is the
controller's. ``--progress auto`` (the default) writes only when that stderr is a terminal; ``always`` writes anyway
(a log), ``never`` never. Nothing of it goes into records or reports."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

CHOICES = ("auto", "always", "never")
EVERY_S = 20.0  # a line at most this often while a group runs (and at its end)


class GroupProgress:
    """:data:`horizon.harness.runner.Announce` for a pytest session."""

    def __init__(self, config: pytest.Config, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.setting = str(config.getoption("--progress"))
        self.clock = clock
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "")

    def _write(self, line: str) -> None:
        capture = self.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture is not None else _nothing():
            if self.setting == "always" or (self.setting == "auto" and sys.stderr.isatty()):
                sys.stderr.write(f"\n[{self.worker}] {line}" if self.worker else f"\n{line}")
                sys.stderr.flush()

    @contextmanager
    def __call__(self, what: str, total: int) -> Iterator[Callable[[int], None]]:
        if self.setting == "never":
            yield lambda _k: None
            return
        start = last = self.clock()
        done = 0
        self._write(f"{what} ...")

        def step(k: int) -> None:
            nonlocal done, last
            done += k
            now = self.clock()
            if now - last >= EVERY_S and done < total:
                last = now
                rate = done / (now - start)
                self._write(f"{what}: {done}/{total} done, {now - start:.0f} s, {rate:.2f}/s, about "
                            f"{(total - done) / rate:.0f} s left")  # fmt: skip

        yield step
        self._write(f"{what}: {done}/{total} done in {self.clock() - start:.0f} s\n")


@contextmanager
def _nothing() -> Iterator[None]:
    yield
