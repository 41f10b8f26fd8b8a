"""What a selection of suite cases costs before it runs (``horizon plan``): samples, seeds, analytic prefill FLOPs,
and GPU-hours scaled from a doctor run's measured times (pure; no weights, no data).

Per case: ``samples`` is its limit or its benchmark's split size (``Benchmark.rows``; a benchmark that expands rows
into several questions has more samples, so its count is a lower bound); ``runs`` = samples x seeds. Prompt
lengths are assumptions stated in the output: LLaVA's fixed visual count, Qwen2.5-VL's largest (its preset's
``max_pixels``: an upper bound, real images give fewer), and ``text_tokens`` of text. A run's prefill FLOPs are the
schedule's analytic ones (horizon/efficiency/flops.py); an information case costs its samples' batched information
maps (horizon/efficiency/flops.py ``map_flops``), the study's other runs being small beside it.

GPU seconds come from a doctor JSON (``horizon doctor --device cuda --json``) of the same model: the unpruned
prefill time scaled by the FLOPs ratio of this prefill to the doctor's, plus ``answer_tokens - 1`` decoded tokens
at the doctor's unpruned decode ms/token (pruning also shortens decoding, so this errs high); an information
case's map time scaled the same way from the doctor's measured map.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from horizon.efficiency.flops import map_flops
from horizon.efficiency.table3 import costs
from horizon.models.presets import ModelPreset, vision_of

MERGE = 2  # Qwen's towers merge 2x2 patches into one visual token


@dataclass(frozen=True, slots=True)
class Throughput:
    """One model's measured speed in a doctor run, at the doctor's prompt."""

    model: str
    device: str  # the GPU the doctor ran on
    prefill_ms: float  # the unpruned prefill
    decode_ms_per_token: float
    n_visual: int
    text_tokens: int
    map_seconds: float | None = None  # one sample's information map at ``map_layers``
    map_layers: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.prefill_ms <= 0 or self.decode_ms_per_token < 0 or self.n_visual < 0 or self.text_tokens < 1:
            raise ValueError(f"{self.model}: a doctor's numbers must be positive, got prefill {self.prefill_ms} ms, "
                             f"decode {self.decode_ms_per_token} ms/token, prompt {self.n_visual}+{self.text_tokens}")  # fmt: skip


def throughputs(doctor: Mapping[str, Any], source: str) -> dict[str, Throughput]:
    """Each model's :class:`Throughput` from a doctor JSON (``source`` names it in errors)."""
    try:
        device = str(doctor["versions"]["gpu"])
        models = doctor["models"]
    except (KeyError, TypeError):
        raise ValueError(f"{source}: not a doctor JSON (no 'versions.gpu' and 'models'; write one with "
                         "`horizon doctor --device cuda --json FILE`)") from None  # fmt: skip
    out = {}
    for name, entry in models.items():
        numbers = entry.get("numbers") or {}
        if "error" in numbers or not numbers:
            continue  # the checks only (--no-numbers), or the numbers crashed: no throughput for this model
        if "prompt" not in numbers:
            raise ValueError(f"{source}: {name}'s numbers do not say their prompt (a doctor older than horizon "
                             "plan): run `horizon doctor --json` again")  # fmt: skip
        full = [r for r in numbers.get("table3", []) if r.get("schedule") == "full"]
        if not full:
            raise ValueError(f"{source}: {name} has no unpruned Table 3 row to scale from")
        info = numbers.get("information_map") or {}
        out[name] = Throughput(name, device, float(full[0]["prefill_ms"]), float(full[0]["decode_ms_per_token"]),
                               int(numbers["prompt"]["n_visual"]), int(numbers["prompt"]["text_tokens"]),
                               info.get("seconds"), tuple(info.get("layers", ())))  # fmt: skip
    return out


def visual_tokens(preset: ModelPreset) -> int:
    """The visual tokens a plan assumes for ``preset``: its fixed count, else its largest (Qwen's max_pixels over the
    pixels of one merged token: 28x28 for Qwen2.5-VL's 14-px patches, 32x32 for Qwen3-VL's 16-px ones)."""
    if preset.visual_tokens is not None:
        return preset.visual_tokens
    if preset.max_pixels is None:
        raise ValueError(f"{preset.name} has neither a fixed visual-token count nor a pixel range")
    return preset.max_pixels // (vision_of(preset).patch * MERGE) ** 2


@dataclass(frozen=True, slots=True)
class CaseCost:
    case: str
    model: str
    benchmark: str
    kind: str  # "eval" or "information"
    samples: int
    seeds: int
    lower_bound: bool  # the benchmark expands rows into more samples than ``samples``
    tflops: float  # analytic FLOPs of every run's prefill (or information maps), in T
    gpu_seconds: float | None  # None: no doctor measurement of this model

    @property
    def runs(self) -> int:
        return self.samples * self.seeds


def eval_cost(
    case: str, preset: ModelPreset, benchmark: str, schedule: str, samples: int, seeds: int, *, text_tokens: int,
    answer_tokens: int, lower_bound: bool = False, speed: Throughput | None = None,
) -> CaseCost:  # fmt: skip
    """The cost of an evaluation case: ``samples x seeds`` prefills of ``schedule`` and their answers."""
    nv = visual_tokens(preset)
    tflops = costs(preset.arch, schedule, text_tokens, nv)[1]
    seconds = None
    if speed is not None:
        reference = costs(preset.arch, "full", speed.text_tokens, speed.n_visual)[1]
        per_run = speed.prefill_ms * tflops / reference + speed.decode_ms_per_token * max(answer_tokens - 1, 0)
        seconds = per_run / 1e3 * samples * seeds
    return CaseCost(case, preset.name, benchmark, "eval", samples, seeds, lower_bound, tflops * samples * seeds,
                    seconds)  # fmt: skip


def information_cost(
    case: str, preset: ModelPreset, benchmark: str, layers: tuple[int, ...], samples: int, *, text_tokens: int,
    speed: Throughput | None = None,
) -> CaseCost:  # fmt: skip
    """The cost of an information case: one batched information map per sample at ``layers``."""
    nv = visual_tokens(preset)
    tflops = map_flops(preset.arch, nv, text_tokens, layers) / 1e12
    seconds = None
    if speed is not None and speed.map_seconds is not None and speed.map_layers:
        reference = map_flops(preset.arch, speed.n_visual, speed.text_tokens, speed.map_layers) / 1e12
        seconds = speed.map_seconds * tflops / reference * samples
    return CaseCost(case, preset.name, benchmark, "information", samples, 1, False, tflops * samples, seconds)
