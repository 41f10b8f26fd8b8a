"""One pruned run: prefill plus greedy decoding under a schedule, with a record of what happened.

Load a model once (:func:`horizon.models.loading.load_model`), prepare prompts, and call :func:`run`
for as many schedules as you like; the pruned loop is installed on the model instance for the
duration of the call only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from horizon.engine.loop import PrunedDecoder
from horizon.engine.plan import RunPlan, Trace
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.schedule import Schedule


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


def prepare(loaded: LoadedModel, images: Sequence[Image.Image], questions: Sequence[str]) -> Prompt:
    """Processor inputs for (image, question) pairs, moved to the model's device and dtype."""
    if len(images) != len(questions):
        raise ValueError(f"{len(images)} images but {len(questions)} questions")
    preset = loaded.preset
    pixels = None
    if preset is not None and preset.min_pixels is not None and preset.max_pixels is not None:
        pixels = (preset.min_pixels, preset.max_pixels)
    prompt = loaded.adapter.prepare(loaded.model, loaded.processor, images, questions, pixels=pixels)
    dtype = next(loaded.model.parameters()).dtype
    inputs = {
        k: v.to(loaded.device, dtype) if v.is_floating_point() else v.to(loaded.device)
        for k, v in prompt.inputs.items()
    }
    return Prompt(inputs=inputs, visual_mask=prompt.visual_mask, texts=prompt.texts)


def visual_indices(visual_mask: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """Prompt row indices (B, keep) as visual-token indices 0..Nv-1 (-1, a merged token, stays -1), on the CPU."""
    kept = kept.cpu()
    offsets = visual_mask.cpu().long().cumsum(1) - 1  # prompt index -> visual index
    return torch.where(kept >= 0, offsets.gather(1, kept.clamp(min=0)), kept)


def _stage_records(plan: RunPlan, trace: Trace) -> tuple[StageRecord, ...]:
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
                kept_index=tuple(tuple(int(i) for i in row) for row in visual_index),
            )
        )
    return tuple(records)


@torch.inference_mode()
def run(
    loaded: LoadedModel,
    prompt: Prompt,
    schedule: Schedule,
    *,
    max_new_tokens: int = 16,
    seed: int | Sequence[int] = 0,
    stop_at_eos: bool = True,
    guide_importance: torch.Tensor | None = None,
    information: Mapping[int, torch.Tensor] | None = None,
) -> Output:
    """Prefill ``prompt`` under ``schedule`` and decode greedily up to ``max_new_tokens`` tokens.

    ``seed`` seeds the generator that random selections draw from; ``stop_at_eos=False`` always decodes
    ``max_new_tokens`` tokens (for equivalence tests); ``guide_importance`` (B, Nv) feeds SGL stages
    (see :func:`horizon.engine.guide.guide_importance`); ``information`` {layer: (B, Nv)} feeds oracle
    stages (see :func:`horizon.information.oracle_information`).
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if not isinstance(schedule, Schedule):
        raise TypeError(
            f"schedule must be a Schedule (parse text with horizon.paper_presets.resolve_schedule), got {schedule!r}"
        )
    if "attention_mask" not in prompt.inputs:
        raise ValueError("the prompt's inputs have no attention_mask; build prompts with horizon.engine.run.prepare")
    model, adapter = loaded.model, loaded.adapter
    plan = RunPlan.build(
        schedule,
        prompt.visual_mask,
        n_layers=loaded.n_layers,
        mrope=adapter.mrope,
        seed=seed if isinstance(seed, int) else tuple(seed),
        guide_importance=guide_importance,
        information=information,
    )
    adapter.reset(model)
    eos = stop_ids(loaded, stop_at_eos)
    with PrunedDecoder(loaded.decoder, mrope=adapter.mrope) as pruner:
        pruner.begin(plan)
        sync_device(loaded.device)
        t0 = time.perf_counter()
        out = model(**prompt.inputs, use_cache=True, logits_to_keep=1)
        logits = out.logits[:, -1].float()  # (B, V)
        sync_device(loaded.device)
        prefill_s = time.perf_counter() - t0
        return greedy(loaded, pruner, plan, prompt, logits, out.past_key_values, max_new_tokens, eos, prefill_s)


def greedy(
    loaded: LoadedModel,
    pruner: PrunedDecoder,
    plan: RunPlan,
    prompt: Prompt,
    logits: torch.Tensor,
    cache: Any,
    max_new_tokens: int,
    eos: torch.Tensor,
    prefill_s: float,
) -> Output:
    """Greedy decoding after a (pruned) prefill whose last logits are ``logits`` (B, V); ends the run."""
    pad_id = loaded.processor.tokenizer.pad_token_id
    step_logits, tokens = [logits], [logits.argmax(-1)]
    done = torch.isin(tokens[0], eos)
    mask = prompt.inputs["attention_mask"]
    t0 = time.perf_counter()
    while len(tokens) < max_new_tokens and not bool(done.all()):
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], 1)
        out = loaded.model(
            input_ids=tokens[-1][:, None],
            attention_mask=mask,
            position_ids=pruner.next_position_ids(),
            past_key_values=cache,
            use_cache=True,
        )
        logits = out.logits[:, -1].float()
        nxt = torch.where(done, torch.full_like(tokens[-1], pad_id if pad_id is not None else 0), logits.argmax(-1))
        step_logits.append(logits)
        tokens.append(nxt)
        done = done | torch.isin(nxt, eos)
    sync_device(loaded.device)
    decode_s = time.perf_counter() - t0
    trace = pruner.finish()
    ids = torch.stack(tokens, 1).cpu()  # (B, T)
    token_ids = tuple(_until_eos(row.tolist(), eos.tolist()) for row in ids)
    answers = tuple(loaded.processor.tokenizer.decode(t, skip_special_tokens=True).strip() for t in token_ids)
    return Output(
        model=loaded.name,
        schedule=str(plan.schedule),
        dtype=loaded.dtype,
        attn_implementation=loaded.attn_implementation,
        seed=plan.seeds[0] if len(set(plan.seeds)) == 1 else plan.seeds,
        answers=answers,
        token_ids=token_ids,
        first_token_probs=step_logits[0].softmax(-1).cpu(),
        step_logits=tuple(s.cpu() for s in step_logits),
        n_visual=plan.n_visual,
        prompt_len=trace.prompt_len,
        visual_per_layer=tuple(trace.visual_per_layer),
        tokens_per_layer=tuple(trace.tokens_per_layer),
        stages=_stage_records(plan, trace),
        prefill_s=prefill_s,
        decode_s=decode_s,
    )


def sync_device(device: str) -> None:
    """Wait for queued GPU work, so a timer reads finished work (a no-op on CPU)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def stop_ids(loaded: LoadedModel, stop_at_eos: bool = True) -> torch.Tensor:
    """The token ids that end an answer (none when ``stop_at_eos`` is off)."""
    if not stop_at_eos:
        return torch.empty(0, dtype=torch.long, device=loaded.device)
    return _eos_ids(loaded)


def _eos_ids(loaded: LoadedModel) -> torch.Tensor:
    eos = loaded.model.generation_config.eos_token_id
    if eos is None:
        eos = loaded.processor.tokenizer.eos_token_id
    ids = [eos] if isinstance(eos, int) else list(eos or [])
    return torch.tensor(ids, dtype=torch.long, device=loaded.device)


def _until_eos(row: list[int], eos: list[int]) -> tuple[int, ...]:
    for i, t in enumerate(row):
        if t in eos:
            return tuple(row[:i])
    return tuple(row)
