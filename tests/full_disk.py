"""A pytest plugin for the write-failure tests (``-p tests.full_disk``): the disk is full at one point of a suite
session, named by ``$HORIZON_FULL_DISK``: ``record`` (writing a case's record) or ``report`` (writing the report)."""

from __future__ import annotations

import errno
import os
from typing import Any

import pytest


def _full(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, "No space left on device (planted)")


def pytest_configure(config: pytest.Config) -> None:
    where = os.environ.get("HORIZON_FULL_DISK", "")
    if where == "record":
        import horizon.harness.records as records

        records.write_record = _full  # type: ignore[assignment]
    elif where == "report":
        import horizon.report.write as write

        write.write_report = _full  # type: ignore[assignment]
    else:
        raise pytest.UsageError(f"$HORIZON_FULL_DISK {where!r}: record or report")
