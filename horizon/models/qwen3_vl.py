"""Qwen3-VL adapter (``Qwen3VLForConditionalGeneration``): Qwen2.5-VL's seams, with two differences that matter to
pruning (transformers 5.23, ``models/qwen3_vl/modeling_qwen3_vl.py``).

* **DeepStack.** The vision tower hands the text model extra feature levels (the merged outputs of the blocks in
  ``vision_config.deepstack_visual_indexes``); ``Qwen3VLTextModel.forward`` adds level k to the visual rows after
  decoder layer k (``_deepstack_process``: ``hidden[visual_pos_masks] += embeds``, prefill only). The pruned loop
  owns these additions (horizon/engine/loop.py ``_deepstack``, ``Sequence.add_to_prompt_visual``): after layer k
  each level joins the prompt's visual rows that are still there, gathered with the same kept indices as the
  hidden states, so a stage at layer K <= k also removes the dropped tokens' later injections. A merged or
  replaced token (VisionZip, pool, SparseVLM's recycling) receives its levels merged the same way as its hidden
  state, with the weights its method gives (``Selection.mix``; docs/engine.md, "DeepStack").
* **Interleaved M-RoPE.** The text rotary embedding interleaves the (t, h, w) frequencies
  (``Qwen3VLTextRotaryEmbedding.recomposition_frequencies``); it still takes (3, B, S) positions, so the engine's
  rope call is Qwen2.5-VL's.

Everything else (the outer model's tower, feature scatter and ``get_rope_index``; the four position rows; the
cached rope deltas) is as Qwen2.5-VL's, and shared with :class:`~horizon.models.qwen2_5_vl.QwenAdapter`.
"""

from __future__ import annotations

from typing import Any

from transformers import Qwen3VLForConditionalGeneration, Qwen3VLMoeForConditionalGeneration, Qwen3VLProcessor
from transformers.processing_utils import ProcessorMixin

from horizon.methods.view import Tower
from horizon.models.qwen2_5_vl import QwenAdapter
from horizon.models.tower import qwen3_tower


class ImageOnlyQwen3Processor(Qwen3VLProcessor):
    """``Qwen3VLProcessor`` without a video processor (which needs torchvision; docs/engine.md)."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        self.vision_start_token = getattr(tokenizer, "vision_start_token", None) or "<|vision_start|>"
        self.vision_end_token = getattr(tokenizer, "vision_end_token", None) or "<|vision_end|>"
        self.vision_start_token_id = tokenizer.convert_tokens_to_ids(self.vision_start_token)
        self.vision_end_token_id = tokenizer.convert_tokens_to_ids(self.vision_end_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


class Qwen3VLAdapter(QwenAdapter):
    family = "qwen3_vl"
    model_type = "qwen3_vl"  # its checkpoints' config.json model_type (the key it is registered under)
    mrope = True
    processor_class: Any = Qwen3VLProcessor
    image_only_class: Any = ImageOnlyQwen3Processor

    def model_class(self) -> Any:
        return Qwen3VLForConditionalGeneration

    def tower(self, model: Any, inputs: dict[str, Any]) -> Tower:
        return qwen3_tower(model, inputs)


class Qwen3VLMoeAdapter(Qwen3VLAdapter):
    """Qwen3-VL's mixture-of-experts sizes (``Qwen3VLMoeForConditionalGeneration``, model_type ``qwen3_vl_moe``):
    the same family, prompts, tower, DeepStack and rope as the dense models, only the decoder layers' MLP is a
    sparse MoE block (``Qwen3VLMoeTextSparseMoeBlock``: a top-k router over the experts). Its decoder layer has the
    dense layer's call and returns the hidden states alone (router logits are recorded by hooks only when asked
    for), and each token is routed on its own hidden state, so the engine's pruned loop runs the stock layers
    unchanged: a dropped token changes no kept token's routing."""

    model_type = "qwen3_vl_moe"

    def model_class(self) -> Any:
        return Qwen3VLMoeForConditionalGeneration


def deepstack_levels(model: Any) -> int:
    """How many DeepStack levels a loaded model adds to its visual rows (0 for a family without DeepStack)."""
    vision = getattr(model.config, "vision_config", None)
    return len(getattr(vision, "deepstack_visual_indexes", None) or ())
