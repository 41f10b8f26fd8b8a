"""Embedded tiny models: real LLaVA / Qwen2.5-VL classes with random weights, built offline.

Each is built deterministically (fixed corpus for a locally trained byte-level BPE tokenizer, weights
initialised under a fixed seed inside ``torch.random.fork_rng`` so the caller's RNG is untouched),
saved with ``save_pretrained`` to a cache folder, and then loaded through the same code as a real
checkpoint. Geometry follows the real models where it matters to pruning: tiny-llava has 576 image
tokens (CLIP 336/14) and 32 decoder layers; tiny-qwen2.5-vl has dynamic resolution, the 2x2 patch
merger, 3-D M-RoPE and 28 decoder layers. The recipe: docs/engine.md.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

# The PIL image processors by name: tiny builds are processed as the reference checkpoints' slow (PIL) processors
# process, with or without torchvision installed (its absence then warns of nothing: the choice is horizon's)
from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    LlamaConfig,
    LlamaModel,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLTextConfig,
    Qwen2_5_VLTextModel,
    Qwen2VLImageProcessorPil,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLMoeConfig,
    Qwen3VLMoeForConditionalGeneration,
    Qwen3VLMoeTextConfig,
    Qwen3VLMoeTextModel,
    Qwen3VLTextConfig,
    Qwen3VLTextModel,
)

from horizon.models.presets import ModelPreset, VisionTower, vision_of
from horizon.models.qwen2_5_vl import ImageOnlyQwenProcessor

TINY_VERSION = 1  # bump when a builder changes, so cached builds are rebuilt
SEED = 0

LLAVA_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: "
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<image>\n{% endif %}{% endfor %}"
    "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}"
    " {% else %}ASSISTANT: {% for item in message['content'] %}{% if item['type'] == 'text' %}"
    "{{ item['text'] }}{% endif %}{% endfor %}</s>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
QWEN_TEMPLATE = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif item['type'] == 'text' %}{{ item['text'] }}"
    "{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "USER: ASSISTANT: What is written on the sign? Describe the image. How many shapes are there?",
    "What color is the circle in the top left cell? Is there a red square? Answer with one word.",
    "Answer the question using a single word or phrase. Yes No The answer is",
    "red green blue yellow white black orange purple circle square triangle star sign text",
    "zero one two three four five six seven eight nine ten 0 1 2 3 4 5 6 7 8 9",
    "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z a b c d e f g h i j k l m n o p q r s t u v w x y z",
    "system user assistant You are a helpful assistant. Please look at the picture and answer.",
    "left right top bottom middle center row column cell grid letter digit word number",
]


def _tokenizer(specials: list[str], vocab_size: int) -> Tokenizer:
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(_CORPUS * 4, trainer)
    return tk


LLAVA_SPECIALS = ("<unk>", "<s>", "</s>", "<pad>", "<image>")
QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                 "<|video_pad|>")  # fmt: skip


def llava_tokenizer(tk: Tokenizer) -> PreTrainedTokenizerFast:
    """A LLaVA-style tokenizer around ``tk`` (whose vocabulary starts with ``LLAVA_SPECIALS``): BOS first."""
    tk.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tk.token_to_id("<s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", extra_special_tokens={"image_token": "<image>"})  # fmt: skip


def llava_processor(tok: PreTrainedTokenizerFast, image_size: int, patch_size: int) -> LlavaProcessor:
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": image_size},
                                            crop_size={"height": image_size, "width": image_size}, do_center_crop=True)  # fmt: skip
    return LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=patch_size,
                          vision_feature_select_strategy="default", num_additional_image_tokens=1,
                          chat_template=LLAVA_TEMPLATE)  # fmt: skip


def qwen_tokenizer(tk: Tokenizer) -> PreTrainedTokenizerFast:
    """A Qwen2.5-VL-style tokenizer around ``tk`` (whose vocabulary starts with ``QWEN_SPECIALS``)."""
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                              "vision_start_token": "<|vision_start|>", "vision_end_token": "<|vision_end|>"},
    )  # fmt: skip


def qwen_token_ids(tok: PreTrainedTokenizerFast) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config's vision token ids and its bos/eos/pad ids."""
    ids = {name: tok.convert_tokens_to_ids(t) for name, t in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}  # fmt: skip
    return ids, {"bos_token_id": None, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}


def mrope_section(head_dim: int) -> list[int]:
    """Qwen2.5-VL's (t, h, w) split of half the head dim, in the real model's 16:24:24 proportions."""
    half = head_dim // 2
    return [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]


def qwen_processor(tok: PreTrainedTokenizerFast, min_pixels: int, max_pixels: int) -> ImageOnlyQwenProcessor:
    image_processor = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels, patch_size=14, merge_size=2,
                                               temporal_patch_size=2)  # fmt: skip
    return ImageOnlyQwenProcessor(image_processor=image_processor, tokenizer=tok, chat_template=QWEN_TEMPLATE)


def qwen3_processor(tok: PreTrainedTokenizerFast, min_pixels: int, max_pixels: int, patch: int = 16) -> Any:
    """Qwen3-VL's image-only processor: ``patch``-px patches merged 2x2, the released models' mean and std (0.5)."""
    from horizon.models.qwen3_vl import ImageOnlyQwen3Processor

    image = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels, patch_size=patch, merge_size=2,
                                     temporal_patch_size=2, image_mean=[0.5] * 3, image_std=[0.5] * 3)  # fmt: skip
    return ImageOnlyQwen3Processor(image_processor=image, tokenizer=tok, chat_template=QWEN_TEMPLATE)

def _llava(preset: ModelPreset, vision: VisionTower) -> tuple[type[Any], Any, Any]:
    tok = llava_tokenizer(_tokenizer(list(LLAVA_SPECIALS), vocab_size=preset.arch.vocab))
    a = preset.arch
    text = LlamaConfig(
        vocab_size=a.vocab,
        hidden_size=a.hidden,
        intermediate_size=a.intermediate,
        num_hidden_layers=a.layers,
        num_attention_heads=a.heads,
        num_key_value_heads=a.kv_heads,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    tower = CLIPVisionConfig(
        hidden_size=vision.hidden,
        intermediate_size=vision.intermediate,
        num_hidden_layers=vision.layers,
        num_attention_heads=vision.heads,
        image_size=336,
        patch_size=14,
        projection_dim=vision.projection,
    )
    config = LlavaConfig(
        vision_config=tower,
        text_config=text,
        image_token_id=tok.convert_tokens_to_ids("<image>"),  # type: ignore[call-arg]
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
    )
    return LlavaForConditionalGeneration, config, llava_processor(tok, image_size=336, patch_size=14)


def _qwen(preset: ModelPreset, vision: VisionTower) -> tuple[type[Any], Any, Any]:
    tok = qwen_tokenizer(_tokenizer(list(QWEN_SPECIALS), vocab_size=preset.arch.vocab))
    ids, specials_ids = qwen_token_ids(tok)
    a = preset.arch
    text: dict[str, Any] = dict(
        vocab_size=a.vocab,
        hidden_size=a.hidden,
        intermediate_size=a.intermediate,
        num_hidden_layers=a.layers,
        num_attention_heads=a.heads,
        num_key_value_heads=a.kv_heads,
        max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": mrope_section(a.head_dim)},
        **specials_ids,
    )
    tower: dict[str, Any] = dict(
        depth=vision.layers,
        hidden_size=vision.hidden,
        intermediate_size=vision.intermediate,
        num_heads=vision.heads,
        out_hidden_size=a.hidden,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
        window_size=vision.window,
        fullatt_block_indexes=list(vision.full_attention),
        tokens_per_second=2,
    )
    config = Qwen2_5_VLConfig(text_config=text, vision_config=tower, **ids, **specials_ids)
    if preset.min_pixels is None or preset.max_pixels is None:
        raise ValueError(f"{preset.name} needs min_pixels and max_pixels")
    return Qwen2_5_VLForConditionalGeneration, config, qwen_processor(tok, preset.min_pixels, preset.max_pixels)


QWEN3_MROPE = [24, 20, 20]  # Qwen3-VL's (t, h, w) split of half the head dim at 128 (its config.json), interleaved


def qwen3_mrope_section(head_dim: int) -> list[int]:
    """Qwen3-VL's (t, h, w) split of half the head dim, in the real models' 24:20:20 proportions."""
    half = head_dim // 2
    h = half * QWEN3_MROPE[1] // sum(QWEN3_MROPE)
    return [half - 2 * h, h, h]


def _qwen3(preset: ModelPreset, vision: VisionTower) -> tuple[type[Any], Any, Any]:
    tok = qwen_tokenizer(_tokenizer(list(QWEN_SPECIALS), vocab_size=preset.arch.vocab))
    ids, specials_ids = qwen_token_ids(tok)
    a = preset.arch
    rope = {"rope_type": "default", "rope_theta": 5e6, "mrope_section": qwen3_mrope_section(a.head_dim),
            "mrope_interleaved": True}  # fmt: skip
    text: dict[str, Any] = dict(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
                                num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
                                head_dim=a.head_dim, max_position_embeddings=4096, rope_parameters=rope,
                                **specials_ids)  # fmt: skip
    tower: dict[str, Any] = dict(depth=vision.layers, hidden_size=vision.hidden, intermediate_size=vision.intermediate,
                                 num_heads=vision.heads, out_hidden_size=a.hidden, patch_size=vision.patch,
                                 spatial_merge_size=2, temporal_patch_size=2, deepstack_visual_indexes=list(vision.deepstack),
                                 num_position_embeddings=2304 if preset.real else 64)  # fmt: skip
    if preset.min_pixels is None or preset.max_pixels is None:
        raise ValueError(f"{preset.name} needs min_pixels and max_pixels")
    processor = qwen3_processor(tok, preset.min_pixels, preset.max_pixels, vision.patch)
    if a.experts:  # Qwen3-VL's MoE sizes: model_type qwen3_vl_moe, the same tower
        config: Any = Qwen3VLMoeConfig(text_config=dict(text, **moe_settings(preset)), vision_config=tower, **ids)
        return Qwen3VLMoeForConditionalGeneration, config, processor
    return Qwen3VLForConditionalGeneration, Qwen3VLConfig(text_config=text, vision_config=tower, **ids), processor


def moe_settings(preset: ModelPreset) -> dict[str, Any]:
    """The text config's mixture-of-experts keys of a MoE preset (Qwen3VLMoeTextConfig's names)."""
    a = preset.arch
    return {"num_experts": a.experts, "num_experts_per_tok": a.experts_per_token,
            "moe_intermediate_size": a.moe_intermediate, "decoder_sparse_step": a.sparse_step,
            "mlp_only_layers": list(a.dense_layers)}  # fmt: skip


BUILD = {"llava": _llava, "qwen2_5_vl": _qwen, "qwen3_vl": _qwen3}  # family -> its builder


def model_parts(preset: ModelPreset, vision: VisionTower | None = None) -> tuple[type[Any], Any, Any]:
    """(model class, config, processor) of ``preset``'s architecture with ``vision``'s encoder (default: the tiny
    tower of its family), built offline: the tokenizer is trained locally on a fixed corpus; no weights exist yet
    (the caller constructs them)."""
    return BUILD[preset.family](preset, vision or vision_of(preset))


def text_decoder(preset: ModelPreset, layers: int, *, seed: int = SEED) -> Any:
    """The stock text decoder of ``preset``'s family at its width, ``layers`` deep, random weights under ``seed``
    (the caller's random state is left as it was), in eval mode: a real-width layer without the model around it
    (``horizon bench methods``). Its rotary embedding takes :meth:`~horizon.models.adapter.Adapter.sequence_positions`."""
    a = preset.arch
    common: dict[str, Any] = dict(vocab_size=64, hidden_size=a.hidden, intermediate_size=a.intermediate,
                                  num_hidden_layers=layers, num_attention_heads=a.heads,
                                  num_key_value_heads=a.kv_heads)  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if preset.family == "llava":
            return LlamaModel(LlamaConfig(**common)).eval()
        if preset.family == "qwen3_vl":
            rope = {"rope_type": "default", "rope_theta": 5e6, "mrope_section": qwen3_mrope_section(a.head_dim),
                    "mrope_interleaved": True}  # fmt: skip
            if a.experts:
                moe = Qwen3VLMoeTextConfig(**common, **moe_settings(preset), head_dim=a.head_dim, rope_parameters=rope)
                return Qwen3VLMoeTextModel(moe).eval()
            return Qwen3VLTextModel(Qwen3VLTextConfig(**common, head_dim=a.head_dim, rope_parameters=rope)).eval()
        rope = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": mrope_section(a.head_dim)}
        return Qwen2_5_VLTextModel(Qwen2_5_VLTextConfig(**common, rope_parameters=rope)).eval()


def build_tiny(preset: ModelPreset, out: Path) -> None:
    """Build ``preset`` (a tiny one) and save model + processor to ``out`` (must not exist)."""
    if not preset.tiny:
        raise ValueError(f"{preset.name} is a real checkpoint, not a tiny model")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        cls, config, processor = model_parts(preset)
        model = cls(config)
    model.eval().save_pretrained(out)
    processor.save_pretrained(out)
    (out / "horizon_tiny.json").write_text(json.dumps({"preset": preset.name, "version": TINY_VERSION}) + "\n")


def cache_root(env: dict[str, str] | None = None) -> Path:
    """``$HORIZON_CACHE``, else ``~/.cache/horizon``."""
    env = dict(os.environ) if env is None else env
    return Path(env.get("HORIZON_CACHE") or Path.home() / ".cache" / "horizon")


def ensure_tiny(preset: ModelPreset, root: Path) -> Path:
    """The folder of the built tiny model under ``root``, building it first if needed (atomically)."""
    target = root / "tiny" / f"{preset.name}-v{TINY_VERSION}"
    if (target / "horizon_tiny.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{preset.name}-", dir=target.parent))
    try:
        build_tiny(preset, tmp / "model")
        try:
            os.rename(tmp / "model", target)
        except OSError:  # another process finished first
            if not (target / "horizon_tiny.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
