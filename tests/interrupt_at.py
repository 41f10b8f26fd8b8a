"""A pytest plugin for the interruption tests (``-p tests.interrupt_at``): it presses Ctrl-C (SIGINT to its own
process) at one known point of a suite session, named by ``$HORIZON_INTERRUPT_AT``, instead of on a timer:

- ``case``: as the second matrix case starts (the first one's shard is on disk);
- ``shard``: right after the session's first baseline shard is written;
- ``merge``: as the end-of-session merge writes its files;
- ``report``: as the session's report starts being written.

``$HORIZON_INTERRUPT_SIGNAL`` SIGKILL sends kill -9 there instead. Run the session without xdist (one process), with
SIGINT at its default (the tests start it so).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Generator
from typing import Any

import pytest

STAGES = ("case", "shard", "merge", "report")


def _press() -> None:
    """The signal ``$HORIZON_INTERRUPT_SIGNAL`` names (default SIGINT, Ctrl-C; SIGKILL: kill -9), to this process."""
    os.kill(os.getpid(), getattr(signal, os.environ.get("HORIZON_INTERRUPT_SIGNAL", "SIGINT")))


def _after_first(fn: Callable[..., Any]) -> Callable[..., Any]:
    pressed: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if not pressed:
            pressed.append(True)
            _press()
        return out

    return wrapped


def _before(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _press()
        return fn(*args, **kwargs)

    return wrapped


def pytest_configure(config: pytest.Config) -> None:
    stage = os.environ.get("HORIZON_INTERRUPT_AT", "")
    if stage not in STAGES:
        raise pytest.UsageError(f"$HORIZON_INTERRUPT_AT {stage!r}: one of {', '.join(STAGES)}")
    if stage == "shard":
        import horizon.harness.check as check

        check._write_shard = _after_first(check._write_shard)  # type: ignore[assignment]
    elif stage == "merge":
        import horizon.harness.merge as merge

        merge.write_all_atomic = _before(merge.write_all_atomic)  # type: ignore[assignment]
    elif stage == "report":
        import horizon.report.write as write

        write.write_report = _before(write.write_report)  # type: ignore[assignment]
    config.stash[_STAGE] = stage
    config.stash[_CASES] = 0


_STAGE = pytest.StashKey[str]()
_CASES = pytest.StashKey[int]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    config = item.config
    if config.stash[_STAGE] == "case" and "case" in getattr(getattr(item, "callspec", None), "params", {}):
        config.stash[_CASES] += 1
        if config.stash[_CASES] == 2:
            _press()
    yield
