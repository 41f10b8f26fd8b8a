"""LLaVA-1.5 adapter (``LlavaForConditionalGeneration``, llava-hf checkpoints).

Seam: the text decoder ``model.model.language_model`` (a ``LlamaModel``), whose instance ``forward`` the
engine replaces; the stock outer model does the CLIP tower, projector and feature scatter. Prompts use the
checkpoint's chat template ("USER: <image>\\n{question} ASSISTANT:").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from transformers import AutoProcessor, LlavaForConditionalGeneration

from horizon.methods.view import Tower
from horizon.models.adapter import Prompt, chat_prompt, left_padded, visual_rows
from horizon.models.tower import llava_tower


class LlavaAdapter:
    family = "llava"
    model_type = "llava"
    mrope = False

    def model_class(self) -> Any:
        return LlavaForConditionalGeneration

    def reset(self, model: Any) -> None:
        """LLaVA keeps nothing between prompts."""

    def rope_positions(self, position_ids: torch.Tensor) -> torch.Tensor:
        return position_ids

    def sequence_positions(self, positions: torch.Tensor) -> torch.Tensor:
        return positions

    def image_features(self, model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        out = model.model.get_image_features(pixel_values=inputs["pixel_values"])
        return torch.stack(list(out.pooler_output))  # (B, N, H)

    def hook_image_features(self, model: Any, keep: Callable[[torch.Tensor], None]) -> Any:
        return model.model.multi_modal_projector.register_forward_hook(lambda m, i, o: keep(o))

    def load_processor(self, path: Path) -> Any:
        processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        if not hasattr(processor, "image_processor"):
            raise ValueError(f"{path} holds no image processor (processor_config.json / preprocessor_config.json)")
        return left_padded(processor)

    def decoder(self, model: Any) -> Any:
        return model.model.language_model

    def prepare(
        self,
        model: Any,
        processor: Any,
        images: Sequence[Image.Image],
        questions: Sequence[str],
        *,
        pixels: tuple[int, int] | None = None,
        conversation: Callable[[str], str] | None = None,
    ) -> Prompt:
        texts = tuple(chat_prompt(processor, q, conversation) for q in questions)
        inputs = dict(processor(images=list(images), text=list(texts), return_tensors="pt", padding=True))
        mask = visual_rows(inputs["input_ids"], model.config.image_token_id)
        # positions skip left padding, as generate() computes them
        pad = inputs["attention_mask"].long()
        inputs["position_ids"] = (pad.cumsum(-1) - 1).masked_fill(pad == 0, 0)
        side = math.isqrt(int(mask[0].sum()))  # CLIP's square patch grid (24 x 24 for LLaVA-1.5)
        grid = torch.tensor([[side, side]] * mask.shape[0]) if side * side == int(mask[0].sum()) else None
        return Prompt(inputs=inputs, visual_mask=mask, texts=texts, grid=grid)

    def tower(self, model: Any, inputs: dict[str, torch.Tensor]) -> Tower:
        return llava_tower(model, inputs)
