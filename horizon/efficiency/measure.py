"""Measured latency and memory of one prompt under a schedule: warm-up, repeats, medians.

On CUDA, prefill time comes from CUDA events (the paper's "CUDA time") and end-to-end latency from the wall
clock around prefill + greedy decoding, after ``torch.cuda.synchronize``; peak memory from
``torch.cuda.max_memory_allocated`` and, with nvidia-ml-py installed, the device's used memory from NVML.
On CPU, times come from ``time.perf_counter`` and memory from the process's peak resident set.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass

import torch

from horizon.engine.run import run
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.schedule import Schedule


@dataclass(frozen=True)
class Measurement:
    prefill_ms: float  # median; CUDA events on GPU
    e2e_ms: float  # median wall time of prefill + decoding
    decode_ms_per_token: float
    peak_memory_mb: float
    memory_source: str  # "torch.cuda", "nvml" or "rss"
    repeats: int


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
        torch.cuda.reset_peak_memory_stats(device)
    prefill, e2e, per_token = [], [], []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        out = run(loaded, prompt, schedule, max_new_tokens=max_new_tokens)
        if cuda:
            torch.cuda.synchronize(device)
        e2e.append((time.perf_counter() - t0) * 1e3)
        prefill.append(out.prefill_s * 1e3)  # run() synchronises around its own timers on CUDA
        per_token.append(out.decode_s * 1e3 / max(len(out.step_logits) - 1, 1))
    if cuda:
        nvml = _nvml_used_mb(device)
        peak, source = (
            (nvml, "nvml") if nvml is not None else (torch.cuda.max_memory_allocated(device) / 2**20, "torch.cuda")
        )
    else:
        peak, source = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss"  # KiB on Linux
    return Measurement(
        statistics.median(prefill), statistics.median(e2e), statistics.median(per_token), float(peak), source, repeats
    )
