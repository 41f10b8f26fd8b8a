"""Qwen2.5-VL adapter (``Qwen2_5_VLForConditionalGeneration``, Qwen Instruct checkpoints).

Seam: the text decoder ``model.model.language_model`` (``Qwen2_5_VLTextModel``); the stock outer model
does the vision tower with its patch merger, the feature scatter and the 3-D M-RoPE positions
(``get_rope_index``, which needs ``mm_token_type_ids``). Visual-token counts depend on the image and on
the min/max pixels, which a preset fixes.

Without torchvision the stock ``Qwen2_5_VLProcessor`` cannot be built (it requires a video processor);
:class:`ImageOnlyQwenProcessor` drops the video processor (docs/engine.md).
With a working torchvision the stock processor is used.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor
from transformers.processing_utils import ProcessorMixin

from horizon.methods.view import Tower
from horizon.models.adapter import Prompt, chat_prompt, left_padded, visual_rows
from horizon.models.tower import qwen_tower


class ImageOnlyQwenProcessor(Qwen2_5_VLProcessor):
    """``Qwen2_5_VLProcessor`` without a video processor (its ``__init__`` signature sets the parts)."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


def torchvision_works() -> bool:
    if importlib.util.find_spec("torchvision") is None:
        return False
    try:
        import torchvision  # noqa: F401
    except Exception:  # a torchvision built for another torch fails at import (operator ... does not exist)
        return False
    return True


class QwenAdapter:
    family = "qwen2_5_vl"
    model_type = "qwen2_5_vl"
    mrope = True
    processor_class: Any = Qwen2_5_VLProcessor  # the stock processor (needs a working torchvision)
    image_only_class: Any = ImageOnlyQwenProcessor  # without torchvision

    def model_class(self) -> Any:
        return Qwen2_5_VLForConditionalGeneration

    def reset(self, model: Any) -> None:
        """Qwen2.5-VL keeps the last prompt's M-RoPE deltas on ``model.model`` and would reuse them for the next
        prompt's decoding positions: clear them before every prompt."""
        model.model.rope_deltas = None

    def rope_positions(self, position_ids: torch.Tensor) -> torch.Tensor:
        """Qwen2.5-VL's outer model passes [text; t; h; w] (4, B, S) to its decoder: the last three are the
        M-RoPE positions."""
        if position_ids.ndim == 3 and position_ids.shape[0] == 4:
            return position_ids[1:]
        return position_ids

    def sequence_positions(self, positions: torch.Tensor) -> torch.Tensor:
        return positions[None].expand(3, *positions.shape)  # (3, B, S): text positions on every M-RoPE axis

    def image_features(self, model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        out = model.model.get_image_features(inputs["pixel_values"], inputs["image_grid_thw"])
        return torch.stack(list(out.pooler_output))  # (B, N, H)

    def hook_image_features(self, model: Any, keep: Callable[[torch.Tensor], None]) -> Any:
        return model.model.visual.register_forward_hook(lambda m, i, o: keep(o.pooler_output))

    def load_processor(self, path: Path) -> Any:
        processor: Any = None
        if torchvision_works():
            try:
                processor = self.processor_class.from_pretrained(path, local_files_only=True)
            except (OSError, ValueError, TypeError):
                processor = None
        if processor is None:
            processor = self.image_only_class.from_pretrained(path, local_files_only=True)
        if not hasattr(processor, "image_processor"):
            raise ValueError(f"{path} holds no image processor (preprocessor_config.json)")
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
        extra: dict[str, Any] = {}
        if pixels is not None:
            extra["size"] = {"shortest_edge": pixels[0], "longest_edge": pixels[1]}
        inputs = dict(processor(images=list(images), text=list(texts), return_tensors="pt", padding=True, **extra))
        mask = visual_rows(inputs["input_ids"], model.config.image_token_id)
        if "mm_token_type_ids" not in inputs:  # get_rope_index needs it (transformers >= 5.8)
            inputs["mm_token_type_ids"] = mask.to(torch.int32)
        merge = model.config.vision_config.spatial_merge_size
        grid = inputs["image_grid_thw"][:, 1:] // merge  # (B, 2): one frame per image, merged 2x2
        return Prompt(inputs=inputs, visual_mask=mask, texts=texts, grid=grid)

    def tower(self, model: Any, inputs: dict[str, torch.Tensor]) -> Tower:
        return qwen_tower(model, inputs)
