"""The doctor's numbers on one built model, each a ratio taken in this one run (absolute times mean nothing across
machines): Table 3's schedules against the unpruned model beside their analytic FLOPs and KV ratios, the engine's
overhead at keep-all, and the time of one sample's full information map.

Prefill times are CUDA events on CUDA (:class:`horizon.engine.timing.Span`), ``perf_counter`` on CPU; memory is
``torch.cuda.max_memory_allocated`` (NVML's device-wide figure beside it) or the case's peak RSS on CPU
(horizon/efficiency/measure.py).
"""

from __future__ import annotations

import statistics
import time
import warnings
from dataclasses import dataclass

import torch

from horizon.efficiency.flops import map_flops
from horizon.efficiency.measure import Measurement, measure
from horizon.efficiency.table3 import TABLE3_SCHEDULES, costs
from horizon.engine.run import run
from horizon.engine.timing import Span
from horizon.information import answer_token
from horizon.information.metric import information_map
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.paper_presets import resolve_schedule
from horizon.schedule import Schedule


@dataclass(frozen=True, slots=True)
class Table3Timing:
    label: str  # the Table 3 row
    schedule: str
    measured: Measurement
    prefill_ratio: float  # measured prefill over the unpruned row's, this run
    e2e_ratio: float
    decode_ratio: float
    memory_ratio: float
    flops_ratio: float  # analytic decoder prefill FLOPs over the unpruned row's
    kv_ratio: float  # analytic KV-cache size over the unpruned row's
    prefill_spread: tuple[float, float] = (0.0, 0.0)  # (lowest, highest) of the repeats' prefill ratios

    @property
    def speedup_share(self) -> float:
        """The measured prefill speedup as a share of the analytic one (1: all of the FLOPs saving shows up)."""
        return (1 / self.prefill_ratio) / (1 / self.flops_ratio)


def table3_timings(
    loaded: LoadedModel, prompt: Prompt, *, new_tokens: int = 16, repeats: int = 5
) -> list[Table3Timing]:
    """Every Table 3 schedule on ``prompt``: medians of ``repeats`` runs of ``new_tokens`` tokens after warm-up."""
    if loaded.preset is None:
        raise ValueError(f"{loaded.name} has no preset: its architecture (for the analytic ratios) is unknown")
    arch, n_visual = loaded.preset.arch, prompt.n_visual
    text = int(prompt.inputs["input_ids"].shape[1]) - n_visual
    rows = {}
    for label, schedule in TABLE3_SCHEDULES.items():
        rows[label] = (schedule, measure(loaded, prompt, resolve_schedule(schedule), max_new_tokens=new_tokens,
                                         warmup=1, repeats=repeats), costs(arch, schedule, text, n_visual))  # fmt: skip
    _, base, (_, base_flops, base_kv) = rows["full"]
    return [
        Table3Timing(
            label,
            schedule,
            m,
            m.prefill_ms / base.prefill_ms,
            m.e2e_ms / base.e2e_ms,
            m.decode_ms_per_token / base.decode_ms_per_token,
            m.peak_memory_mb / base.peak_memory_mb,
            flops / base_flops,
            kv / base_kv,
            ratio_spread(m.prefill_each, base.prefill_each),
        )  # fmt: skip
        for label, (schedule, m, (_, flops, kv)) in rows.items()
    ]


def _stock_prefill_s(loaded: LoadedModel, prompt: Prompt) -> float:
    loaded.adapter.reset(loaded.model)
    with torch.inference_mode():
        span = Span(loaded.device).start()
        loaded.model(**prompt.inputs, use_cache=True, logits_to_keep=1)
        return span.stop().seconds()


MIN_REPEATS = 3  # a ratio is printed with its spread, and two repeats give no middle: at least this many
NOISY = 0.10  # a spread wider than this share of its ratio is called noisy (a loaded machine)


def ratio_spread(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float]:
    """(lowest, highest) of ``a[i] / b[i]`` over the repeats both hold (repeat i of one schedule against repeat i of
    the other, timed in the same order); (0, 0) when none."""
    ratios = [x / y for x, y in zip(a, b, strict=False) if y > 0]
    return (min(ratios), max(ratios)) if ratios else (0.0, 0.0)


def spread_text(ratio: float, spread: tuple[float, float]) -> str:
    """``ratio`` with its spread, e.g. ``0.512 (0.48-0.55)``, and ``noisy`` when the spread is wider than
    :data:`NOISY` of the ratio."""
    low, high = spread
    noisy = ratio > 0 and (high - low) / ratio > NOISY
    return f"{ratio:.3f} ({low:.2f}-{high:.2f}{', noisy' if noisy else ''})"


@dataclass(frozen=True, slots=True)
class Overhead:
    stock_ms: float  # the stock model's prefill (median)
    engine_ms: float  # the engine's prefill with no stage (every token kept)
    spread: tuple[float, float] = (0.0, 0.0)  # (lowest, highest) of the interleaved repeats' ratios

    @property
    def ratio(self) -> float:
        return self.engine_ms / self.stock_ms


def engine_overhead(loaded: LoadedModel, prompt: Prompt, *, repeats: int = 9) -> Overhead:
    """Stock prefill vs the engine's at keep-all, measured interleaved (after one warm-up of each)."""
    stock, engine = [], []
    for i in range(repeats + 1):
        s = _stock_prefill_s(loaded, prompt)
        e = run(loaded, prompt, Schedule(), max_new_tokens=1).prefill_s
        if i:
            stock.append(s)
            engine.append(e)
    return Overhead(statistics.median(stock) * 1e3, statistics.median(engine) * 1e3,
                    ratio_spread(tuple(engine), tuple(stock)))  # fmt: skip


@dataclass(frozen=True, slots=True)
class MapTime:
    layers: tuple[int, ...]  # the layers measured
    seconds: float  # measured, for those layers
    projected_s: float  # the full map (every layer), projected by its analytic FLOPs


def information_map_time(loaded: LoadedModel, prompt: Prompt, layers: tuple[int, ...]) -> MapTime:
    """One sample's information map at ``layers`` (timed after a one-layer warm-up), and the full map's time
    projected from it by the analytic FLOPs of the two maps."""
    if loaded.preset is None:
        raise ValueError(f"{loaded.name} has no preset: its architecture (for the projection) is unknown")
    arch, n_visual = loaded.preset.arch, prompt.n_visual
    text = int(prompt.inputs["input_ids"].shape[1]) - n_visual
    y = answer_token(loaded.processor, "What is written on the sign?", "STOP")
    information_map(loaded, prompt, y, layers[-1:])  # warm-up
    if loaded.device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(loaded.device))
    t0 = time.perf_counter()
    information_map(loaded, prompt, y, layers)
    if loaded.device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(loaded.device))
    seconds = time.perf_counter() - t0
    full, measured = map_flops(arch, n_visual, text, range(arch.layers)), map_flops(arch, n_visual, text, layers)
    return MapTime(layers, seconds, seconds * full / measured)


@dataclass(frozen=True, slots=True)
class HostSyncs:
    schedule: str
    new_tokens: int
    n_layers: int
    count: int  # synchronising operations torch reported during one run
    first: tuple[str, ...]  # where the first few happened (the warning's source line)

    @property
    def per_token(self) -> float:
        return self.count / self.new_tokens


def host_syncs(loaded: LoadedModel, prompt: Prompt, schedule: str, *, new_tokens: int = 16) -> HostSyncs | None:
    """How many times one run of ``schedule`` makes the host wait for the GPU (``torch.cuda.set_sync_debug_mode``
    warns at each synchronising operation; an experimental torch feature that may miss some). ``None`` on CPU,
    where nothing waits. A count that grows with the layers or the tokens is a synchronisation inside the loop."""
    if not loaded.device.startswith("cuda"):
        return None
    parsed = resolve_schedule(schedule)
    run(loaded, prompt, parsed, max_new_tokens=new_tokens, stop_at_eos=False)  # warm-up (allocations, kernels)
    torch.cuda.synchronize(torch.device(loaded.device))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            run(loaded, prompt, parsed, max_new_tokens=new_tokens, stop_at_eos=False)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    first = tuple(f"{w.filename}:{w.lineno}" for w in syncs[:5])
    return HostSyncs(schedule, new_tokens, loaded.n_layers, len(syncs), first)
