"""``horizon bench info``: the batched information map against the naive one-token-at-a-time computation, measured
in one run on the tiny models, and the projected time of a full map for LLaVA-1.5-7B from analytic FLOPs.

Naive: a full pruned prefill through the engine per candidate token and layer (``information_naive``). Batched:
one prefix per sample, the ``N_v + 1`` suffix runs per layer in batches (``information_map``). Both measure the
same layers (spread over the depth) and every visual token, so the ratio is of equal work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from horizon.efficiency.flops import layer_flops, map_flops
from horizon.engine.run import prepare
from horizon.images import demo_image
from horizon.information import answer_token, information_map, information_naive
from horizon.models.loading import LoadedModel
from horizon.models.presets import Architecture

QUESTION = "What is written on the sign?"
H100_BF16_DENSE_TFLOPS = 989.0  # NVIDIA H100 SXM datasheet, dense BF16 tensor-core peak
ASSUMED_UTILISATION = 0.4  # a stated assumption for batched short sequences, not a measurement


@dataclass(frozen=True)
class InfoSpeed:
    model: str
    layers: tuple[int, ...]
    n_visual: int
    batched_s: float
    naive_s: float
    max_abs_diff: float  # between the two maps: they must agree

    @property
    def speedup(self) -> float:
        return self.naive_s / self.batched_s


def spread_layers(n_layers: int, count: int = 5) -> tuple[int, ...]:
    """``count`` layers from 0 to L-1, evenly spread (one: layer 0)."""
    if count < 1:
        raise ValueError(f"layers to spread must be >= 1, got {count}")
    if count == 1:
        return (0,)
    return tuple(sorted({round(k * (n_layers - 1) / (count - 1)) for k in range(count)}))


def bench_info(loaded: LoadedModel, count: int = 5, chunk: int | None = None) -> InfoSpeed:
    prompt = prepare(loaded, [demo_image()], [QUESTION])
    y = answer_token(loaded.processor, QUESTION, "STOP")
    layers = spread_layers(loaded.n_layers, count)
    information_map(loaded, prompt, y, layers[-1:], chunk=chunk)  # warm-up
    t0 = time.perf_counter()
    batched = information_map(loaded, prompt, y, layers, chunk=chunk)
    batched_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = information_naive(loaded, prompt, y, layers)
    naive_s = time.perf_counter() - t0
    diff = float((batched.information - naive.information).abs().max())
    return InfoSpeed(loaded.name, layers, prompt.n_visual, batched_s, naive_s, diff)


@dataclass(frozen=True)
class MapProjection:
    batched_tflops: float
    naive_tflops: float
    seconds_at_peak: float
    seconds_assumed: float


def project_full_map(arch: Architecture, n_visual: int, text_tokens: int) -> MapProjection:
    """Analytic FLOPs of a full map (every layer, every token) for one sample, batched and naive, and the
    batched map's time on one H100 at its dense BF16 peak and at ``ASSUMED_UTILISATION`` of it."""
    L = arch.layers
    suffix = [layer_flops(arch, text_tokens + 1, j) for j in range(L)]  # one suffix row through layer j
    full = [layer_flops(arch, text_tokens + n_visual, j) for j in range(L)]  # the whole prompt through layer j
    batched = map_flops(arch, n_visual, text_tokens, range(L))
    # naive: every candidate and layer is a whole prefill: layers 0..i-1 in full, then the rest for text + 1 token
    naive = sum((n_visual + 1) * (sum(full[:i]) + sum(suffix[i:])) for i in range(L))
    peak = H100_BF16_DENSE_TFLOPS * 1e12
    return MapProjection(batched / 1e12, naive / 1e12, batched / peak, batched / (peak * ASSUMED_UTILISATION))
