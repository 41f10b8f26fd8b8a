"""The one-run API: prepare prompts, then :func:`run` one prompt (batch) under a schedule.

Load a model once (:func:`horizon.models.loading.load_model`), prepare prompts, and call :func:`run`
for as many schedules as you like; the pruned loop is installed on the model instance for the
duration of the call only (one :class:`horizon.engine.generation.Pass`). Several schedules on one prompt
with the shared prefix computed once: :func:`horizon.engine.sweep.run_many`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from PIL import Image

from horizon.engine.generation import Pass, stop_ids
from horizon.engine.output import Output
from horizon.engine.planning import plan_for
from horizon.models.adapter import Prompt
from horizon.models.conversation import conversation_fn
from horizon.models.loading import LoadedModel
from horizon.schedule import Schedule


def prepare(
    loaded: LoadedModel,
    images: Sequence[Image.Image],
    questions: Sequence[str],
    *,
    conversation: str = "chat-template",
) -> Prompt:
    """Processor inputs for (image, question) pairs, moved to the model's device and dtype; ``conversation`` names
    the wrapper around each question (horizon/models/conversation.py: the checkpoint's chat template, or
    LLaVA's ``vicuna_v1``)."""
    if len(images) != len(questions):
        raise ValueError(f"{len(images)} images but {len(questions)} questions")
    preset = loaded.preset
    pixels = None
    if preset is not None and preset.min_pixels is not None and preset.max_pixels is not None:
        pixels = (preset.min_pixels, preset.max_pixels)
    wrap = conversation_fn(conversation)
    prompt = loaded.adapter.prepare(loaded.model, loaded.processor, images, questions, pixels=pixels, conversation=wrap)
    dtype = next(loaded.model.parameters()).dtype
    inputs = {
        k: v.to(loaded.device, dtype) if v.is_floating_point() else v.to(loaded.device)
        for k, v in prompt.inputs.items()
    }
    return Prompt(inputs=inputs, visual_mask=prompt.visual_mask, texts=prompt.texts, grid=prompt.grid)


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
    plan = plan_for(loaded, prompt, schedule, seed=seed if isinstance(seed, int) else tuple(seed),
                    guide_importance=guide_importance, information=information)  # fmt: skip
    with Pass(loaded, prompt, plan, eos=stop_ids(loaded, stop_at_eos)) as one:
        return one.prefill().decode(max_new_tokens)
