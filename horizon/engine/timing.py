"""Timing a span of GPU or CPU work without a host synchronisation inside it.

On CUDA a span is a pair of CUDA events recorded on the current stream (the paper's "CUDA time"); its length is
read only after the work is done (:meth:`Span.seconds` synchronises once, on the end event). On CPU a span is
two ``time.perf_counter`` readings. The engine times prefill and decoding with these, so nothing in its loop
waits for the device per layer or per decoded token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Span:
    """A timed span: ``start()`` then ``stop()``, then ``seconds()`` (after the work it timed)."""

    device: str
    _events: tuple[Any, Any] | None = field(default=None, repr=False)
    _t0: float = 0.0
    _t1: float = 0.0

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def start(self) -> Span:
        if self.cuda:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            self._events = (begin, end)
        else:
            self._t0 = time.perf_counter()
        return self

    def stop(self) -> Span:
        if self._events is not None:
            self._events[1].record()
        else:
            self._t1 = time.perf_counter()
        return self

    def seconds(self) -> float:
        """The span's length; on CUDA this waits for its end event (one synchronisation, after the work)."""
        if self._events is not None:
            begin, end = self._events
            end.synchronize()
            return float(begin.elapsed_time(end)) / 1e3
        return self._t1 - self._t0
