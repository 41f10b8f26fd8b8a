"""Measured latency and memory of one prompt under a schedule: warm-up, repeats, medians.

Times: prefill time is the engine's own, taken with CUDA events on CUDA (the paper's "CUDA time";
:class:`horizon.engine.timing.Span`) and ``time.perf_counter`` on CPU; end-to-end latency is the wall clock
around prefill + greedy decoding, after ``torch.cuda.synchronize`` on CUDA.

Memory: on CUDA the number is ``torch.cuda.max_memory_allocated`` over the timed runs (what this case's tensors
needed), and with nvidia-ml-py installed NVML's device-wide used memory is reported beside it (it includes the
caching allocator's reserve and other processes). On CPU the number is this case's peak resident set: the
process's high-water mark is reset before the timed runs (Linux ``/proc/self/clear_refs``) and read after them
(``VmHWM``), so it is the case's, not the process's lifetime peak; where that reset is not possible the
lifetime peak is reported and ``memory_source`` says so.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from horizon.engine.run import run
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.schedule import Schedule

PROC = Path("/proc/self")


@dataclass(frozen=True)
class Measurement:
    prefill_ms: float  # median; CUDA events on GPU
    e2e_ms: float  # median wall time of prefill + decoding
    decode_ms_per_token: float
    peak_memory_mb: float  # torch.cuda.max_memory_allocated on CUDA; this case's peak RSS on CPU
    memory_source: str  # "torch.cuda", "rss (case)" or "rss (process lifetime)"
    repeats: int
    device_memory_mb: float | None = None  # NVML's device-wide used memory on CUDA (with nvidia-ml-py), else None
    prefill_each: tuple[float, ...] = ()  # every timed repeat's prefill ms, in order (a ratio's spread reads them)


def _nvml_used_mb(device: torch.device) -> float | None:
    try:
        import pynvml  # nvidia-ml-py, the optional `gpu` extra
    except ImportError:
        return None
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(device.index or 0)
        return float(pynvml.nvmlDeviceGetMemoryInfo(handle).used) / 2**20
    finally:
        pynvml.nvmlShutdown()


def reset_peak_rss() -> bool:
    """Reset this process's resident-set high-water mark (Linux); False where it cannot be reset."""
    try:
        (PROC / "clear_refs").write_text("5\n")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """The resident-set high-water mark since the last reset (``VmHWM``), or the lifetime peak (getrusage)."""
    try:
        for line in (PROC / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(
    loaded: LoadedModel, prompt: Prompt, schedule: Schedule, *, max_new_tokens: int = 16, warmup: int = 2,
    repeats: int = 5,
) -> Measurement:  # fmt: skip
    """Median prefill / end-to-end time and peak memory over ``repeats`` runs after ``warmup`` runs."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0 (got {repeats}, {warmup})")
    cuda = loaded.device.startswith("cuda")
    device = torch.device(loaded.device)
    for _ in range(warmup):
        run(loaded, prompt, schedule, max_new_tokens=max_new_tokens)
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        source = "torch.cuda"
    else:
        source = "rss (case)" if reset_peak_rss() else "rss (process lifetime)"
    prefill, e2e, per_token = [], [], []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        out = run(loaded, prompt, schedule, max_new_tokens=max_new_tokens)
        if cuda:
            torch.cuda.synchronize(device)
        e2e.append((time.perf_counter() - t0) * 1e3)
        prefill.append(out.prefill_s * 1e3)  # CUDA events on CUDA
        per_token.append(out.decode_s * 1e3 / max(len(out.step_logits) - 1, 1))
    if cuda:
        peak, nvml = torch.cuda.max_memory_allocated(device) / 2**20, _nvml_used_mb(device)
    else:
        peak, nvml = peak_rss_mb(), None
    return Measurement(statistics.median(prefill), statistics.median(e2e), statistics.median(per_token),
                       float(peak), source, repeats, nvml, tuple(prefill))  # fmt: skip
