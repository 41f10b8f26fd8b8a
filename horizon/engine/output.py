"""What one pruned run produced: the answers, first-token probabilities, visual tokens per layer, and what each
stage kept (its records are built from the engine's trace)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from horizon.engine.plan import RunPlan, Trace


@dataclass(frozen=True)
class StageRecord:
    """Per stage: what ran and what it kept."""

    stage: str
    method: str
    layer: int
    kept: int
    merged: int  # new tokens merged from dropped ones and inserted (SparseVLM recycling), else 0
    positions: str
    flash_compatible: bool
    inputs_used: tuple[str, ...]
    kept_index: tuple[tuple[int, ...], ...]  # per sample, original visual-token indices (0..Nv-1; -1 merged)


@dataclass(frozen=True)
class Output:
    """Everything one run produced."""

    model: str
    schedule: str
    dtype: str
    attn_implementation: str
    seed: int | tuple[int, ...]  # one for the batch, or one per sample
    answers: tuple[str, ...]
    token_ids: tuple[tuple[int, ...], ...]
    first_token_probs: torch.Tensor  # (B, V) float32 softmax of the first generated token
    step_logits: tuple[torch.Tensor, ...]  # per generated token, (B, V) float32
    n_visual: int
    prompt_len: int
    visual_per_layer: tuple[int, ...]  # visual tokens entering each decoder layer
    tokens_per_layer: tuple[int, ...]  # prompt tokens in each layer's KV cache
    stages: tuple[StageRecord, ...]
    prefill_s: float
    decode_s: float

    @property
    def average_visual_tokens(self) -> float:
        return sum(self.visual_per_layer) / len(self.visual_per_layer)

    def top_first_tokens(self, tokenizer: Any, k: int = 5, sample: int = 0) -> list[tuple[str, float]]:
        probs, ids = self.first_token_probs[sample].topk(k)
        return [(tokenizer.decode([int(i)]), float(p)) for p, i in zip(probs, ids, strict=True)]


def visual_indices(visual_mask: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Prompt row indices (B, keep) as visual-token indices 0..Nv-1 (-1, a merged token, stays -1), on the CPU."""
    kept = kept.cpu()
    offsets = visual_mask.cpu().long().cumsum(1) - 1  # prompt index -> visual index
    return torch.where(kept >= 0, offsets.gather(1, kept.clamp(min=0)), kept)


def stage_records(plan: RunPlan, trace: Trace) -> tuple[StageRecord, ...]:
    records = []
    for k, stage in enumerate(plan.schedule.stages):
        method = plan.methods[k]
        visual_index = visual_indices(plan.visual_mask, trace.kept[k])
        records.append(
            StageRecord(
                stage=str(stage),
                method=method.name,
                layer=stage.layer,
                kept=plan.counts[k],
                merged=trace.merged[k],
                positions=plan.positions[k],
                flash_compatible=method.flash_compatible,
                inputs_used=trace.inputs_used[k],
                kept_index=tuple(tuple(row) for row in visual_index.tolist()),  # one read, not one per index
            )
        )
    return tuple(records)
