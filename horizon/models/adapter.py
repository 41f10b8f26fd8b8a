"""What every model-family adapter provides, and the prepared prompt the engine consumes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from PIL import Image

from horizon.methods.view import Tower


@dataclass(frozen=True)
class Prompt:
    """Processor output for a batch of (image, question) pairs, ready for the model."""

    inputs: dict[str, torch.Tensor]  # model kwargs: input_ids, attention_mask, pixel_values, ...
    visual_mask: torch.Tensor  # (B, S) bool: the image-token rows
    texts: tuple[str, ...]  # the prompt strings after the chat template
    grid: torch.Tensor | None = None  # (B, 2) rows and columns of each sample's visual-token grid (LLM raster order)

    @property
    def batch(self) -> int:
        return int(self.visual_mask.shape[0])

    @property
    def n_visual(self) -> int:
        return int(self.visual_mask[0].sum())


def left_padded(processor: Any) -> Any:
    """``processor`` with its tokenizer padding on the left: batched greedy decoding continues every row from the
    right end (every processor the harness uses goes through here, loaded or built)."""
    processor.tokenizer.padding_side = "left"
    return processor


class Adapter(Protocol):
    """One model family: how to load its processor, prompt it, and find its text decoder."""

    family: str
    model_type: str  # its checkpoints' config.json model_type (the family's name, but qwen3_vl_moe)
    mrope: bool  # 3-D M-RoPE positions (Qwen2.5-VL) vs 1-D RoPE (LLaVA)

    def model_class(self) -> Any: ...

    def load_processor(self, path: Path) -> Any: ...

    def decoder(self, model: Any) -> Any: ...

    def reset(self, model: Any) -> None:
        """Forget what the model keeps between prompts (Qwen2.5-VL caches its rope deltas on the module)."""
        ...

    def tower(self, model: Any, inputs: dict[str, torch.Tensor]) -> Tower:
        """The vision tower's probe of the prompt's visual tokens (horizon/models/tower.py; VisionZip's inputs)."""
        ...

    def rope_positions(self, position_ids: torch.Tensor) -> torch.Tensor:
        """The rope positions in the position ids the outer model hands its text decoder: (B, S) for 1-D RoPE,
        (3, B, S) for M-RoPE (Qwen2.5-VL hands four rows, text positions first)."""
        ...

    def sequence_positions(self, positions: torch.Tensor) -> torch.Tensor:
        """The text decoder's rope positions for a plain token sequence at ``positions`` (B, S), no image grid:
        (B, S) for 1-D RoPE, the same positions on all three M-RoPE axes (3, B, S) for Qwen2.5-VL."""
        ...

    def image_features(self, model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, N, H) the projected visual tokens of a batch of one-image prompts, in the LLM's raster order (what
        the decoder receives at the image rows)."""
        ...

    def hook_image_features(self, model: Any, keep: Callable[[torch.Tensor], None]) -> Any:
        """Hand ``keep`` the projected visual tokens of every forward (a forward hook; returns its handle, whose
        ``remove()`` ends it)."""
        ...

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
        """``conversation`` wraps each question into the prompt text (None: the checkpoint's chat template)."""
        ...


def chat_prompt(processor: Any, question: str, conversation: Callable[[str], str] | None = None) -> str:
    """The family's chat template around one image and one question, with the generation prompt; or
    ``conversation(question)`` when given (a wrapper that places the image itself, horizon/models/conversation.py)."""
    if conversation is not None:
        return conversation(question)
    turns = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    return str(processor.apply_chat_template(turns, add_generation_prompt=True))


def visual_rows(input_ids: torch.Tensor, image_token_id: int) -> torch.Tensor:
    """(B, S) bool mask of the image-token rows; checks every sample has some."""
    mask = input_ids == image_token_id
    if not bool(mask.any(1).all()):
        raise ValueError(f"a prompt has no image token (id {image_token_id}); the chat template must place one")
    return mask
