"""``horizon bench engine``: pruned-vs-stock prefill time on the tiny models, beside analytic FLOPs.

Every time is the median of ``repeats`` interleaved measurements taken in this one run, so the ratios
compare like with like on the same machine; absolute times mean nothing across machines.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from horizon.efficiency.flops import prefill_flops
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.models.loading import LoadedModel
from horizon.schedule import Schedule, parse_schedule

DEFAULT_SCHEDULES = ("random@0:1", "random@2:0.5", "random@2:0.25+vtw@{mid}", "random@0:0.11", "vtw@1")


@dataclass(frozen=True)
class BenchRow:
    model: str
    schedule: str
    prefill_ms: float
    time_ratio: float  # pruned prefill / stock prefill
    flops_ratio: float  # analytic decoder prefill FLOPs, pruned / stock


def _median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1e3


def bench_engine(
    loaded: LoadedModel, schedules: Sequence[str] = DEFAULT_SCHEDULES, *, repeats: int = 15, warmup: int = 3
) -> list[BenchRow]:
    """Stock prefill, engine with no stage, and each schedule, measured interleaved."""
    if loaded.preset is None:
        raise ValueError("bench engine needs a preset model (its architecture numbers)")
    L = loaded.n_layers
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    parsed: dict[str, Schedule] = {"engine, no stage": Schedule()}
    parsed.update({s.format(mid=L // 2): parse_schedule(s.format(mid=L // 2)) for s in schedules})

    def stock() -> float:
        if hasattr(loaded.model.model, "rope_deltas"):
            loaded.model.model.rope_deltas = None
        with torch.inference_mode():
            t0 = time.perf_counter()
            loaded.model(**prompt.inputs, use_cache=True, logits_to_keep=1)
            return time.perf_counter() - t0

    def pruned(schedule: Schedule) -> Callable[[], float]:
        return lambda: run(loaded, prompt, schedule, max_new_tokens=1).prefill_s

    timers: dict[str, Callable[[], float]] = {"stock": stock}
    timers.update({name: pruned(s) for name, s in parsed.items()})
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for i in range(warmup + repeats):
        for name, timer in timers.items():
            t = timer()
            if i >= warmup:
                samples[name].append(t)
    base = _median_ms(samples["stock"])
    arch = loaded.preset.arch
    full_tokens = [prompt.inputs["input_ids"].shape[1]] * L
    full_flops = prefill_flops(arch, full_tokens)
    rows = [BenchRow(loaded.name, "stock (no engine)", base, 1.0, 1.0)]
    for name, schedule in parsed.items():
        visual = schedule.tokens_per_layer(L, prompt.n_visual)
        tokens = [full_tokens[0] - prompt.n_visual + v for v in visual]
        rows.append(
            BenchRow(
                loaded.name,
                name,
                _median_ms(samples[name]),
                _median_ms(samples[name]) / base,
                prefill_flops(arch, tokens) / full_flops,
            )
        )
    return rows
