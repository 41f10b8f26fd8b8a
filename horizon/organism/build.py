"""The model organisms' architectures (issue 7): small LLaVA- and Qwen2.5-VL-class models, real transformers
classes with a word-level tokenizer over the ``synth`` vocabulary, saved as checkpoints the ordinary adapters
load. Untrained here; horizon/organism/train.py trains them.

* ``organism-llava``: CLIP-style tower (96 px, 8-px patches -> 144 visual tokens), Llama decoder with 8 layers.
* ``organism-qwen2.5-vl``: Qwen2.5-VL tower of 2 blocks (images resized to 336 px: 24x24 patches of 14 px, merged
  2x2 -> 144 visual tokens; 2 blocks because 576 patches per image made 4 the training bottleneck), Qwen2.5-VL
  decoder with 8 layers, GQA and 3-D M-RoPE.

Both fit the issue's 20 MB budget for the two together when stored in 16-bit (``parameter_bytes``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
)

from horizon.benchmarks.synth import COLOURS, DIGITS, SHAPES
from horizon.models.presets import MODELS
from horizon.models.tiny import (
    LLAVA_SPECIALS,
    QWEN_SPECIALS,
    llava_processor,
    llava_tokenizer,
    mrope_section,
    qwen3_mrope_section,
    qwen3_processor,
    qwen_processor,
    qwen_token_ids,
    qwen_tokenizer,
)
from horizon.organism.config import ORGANISMS

WORDS = sorted(
    {*COLOURS, *SHAPES, *DIGITS, "yes", "no", "what", "is", "the", "background", "colour", "how", "many", "shapes",
     "are", "there", "a", "shape", "in", "row", "column", "digit", "answer", "with", "one", "word", "of", "USER",
     "ASSISTANT", "system", "user", "assistant", "You", "helpful", "What", "How", "Is", "Answer", "?", ":", "."}
)  # fmt: skip
QWEN_PIXELS = 336 * 336  # min = max: every image becomes 24x24 patches -> 144 merged tokens
QWEN3_PIXELS = 384 * 384  # Qwen3-VL's 16-px patches: 24x24 patches -> 144 merged tokens, as organism-qwen2.5-vl's
QWEN3_TOWER_DEPTH = 3
QWEN3_DEEPSTACK = (0, 1, 2)  # three levels, as every released Qwen3-VL: added after decoder layers 0, 1 and 2


def word_tokenizer(specials: list[str]) -> Tokenizer:
    """Whole words and punctuation as tokens (specials first), unknown words to ``specials[0]``."""
    vocab = {tok: i for i, tok in enumerate([*specials, *WORDS])}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token=specials[0]))
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tk.add_special_tokens(specials)  # matched whole, before splitting
    return tk


def build_llava(seed: int = 0) -> tuple[Any, Any]:
    tok = llava_tokenizer(word_tokenizer(list(LLAVA_SPECIALS)))
    text = LlamaConfig(vocab_size=len(tok), hidden_size=192, intermediate_size=512, num_hidden_layers=8,
                       num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)  # fmt: skip
    vision = CLIPVisionConfig(hidden_size=128, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                              image_size=96, patch_size=8, projection_dim=128)  # fmt: skip
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_id=tok.convert_tokens_to_ids("<image>"),  # type: ignore[call-arg]
                         vision_feature_layer=-1, vision_feature_select_strategy="default")  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlavaForConditionalGeneration(config)
    return model, llava_processor(tok, image_size=96, patch_size=8)


def build_qwen(seed: int = 0) -> tuple[Any, Any]:
    tok = qwen_tokenizer(word_tokenizer(list(QWEN_SPECIALS)))
    ids, specials_ids = qwen_token_ids(tok)
    text: dict[str, Any] = dict(vocab_size=len(tok), hidden_size=192, intermediate_size=512, num_hidden_layers=8,
                                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                                rope_parameters={"rope_type": "default", "rope_theta": 1e4,
                                                 "mrope_section": mrope_section(192 // 4)},
                                **specials_ids)  # fmt: skip
    vision: dict[str, Any] = dict(depth=2, hidden_size=128, intermediate_size=512, num_heads=4, out_hidden_size=192,
                                  patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                                  fullatt_block_indexes=[1], tokens_per_second=2)  # fmt: skip
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **ids, **specials_ids)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config)
    return model, qwen_processor(tok, QWEN_PIXELS, QWEN_PIXELS)


def build_qwen3(seed: int = 0) -> tuple[Any, Any]:
    """organism-qwen2.5-vl's decoder (8 layers, 192 wide, GQA 4/2, rope theta 1e4) and tower width, as Qwen3-VL:
    DeepStack, QK-norm, interleaved M-RoPE, and Qwen3-VL's tower (16-px patches, learned position embeddings, no
    window attention), one block deeper so that its three DeepStack levels come from three depths."""
    tok = qwen_tokenizer(word_tokenizer(list(QWEN_SPECIALS)))
    ids, specials_ids = qwen_token_ids(tok)
    rope = {"rope_type": "default", "rope_theta": 1e4, "mrope_section": qwen3_mrope_section(192 // 4),
            "mrope_interleaved": True}  # fmt: skip
    text: dict[str, Any] = dict(vocab_size=len(tok), hidden_size=192, intermediate_size=512, num_hidden_layers=8,
                                num_attention_heads=4, num_key_value_heads=2, head_dim=192 // 4,
                                max_position_embeddings=1024, rope_parameters=rope, **specials_ids)  # fmt: skip
    side = int(QWEN3_PIXELS**0.5) // 16
    vision: dict[str, Any] = dict(depth=QWEN3_TOWER_DEPTH, hidden_size=128, intermediate_size=512, num_heads=4,
                                  out_hidden_size=192, patch_size=16, spatial_merge_size=2, temporal_patch_size=2,
                                  deepstack_visual_indexes=list(QWEN3_DEEPSTACK), num_position_embeddings=side * side)  # fmt: skip
    config = Qwen3VLConfig(text_config=text, vision_config=vision, **ids)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3VLForConditionalGeneration(config)
    return model, qwen3_processor(tok, QWEN3_PIXELS, QWEN3_PIXELS)


# each organism is built by its family's builder (its family is its preset's, horizon/models/presets.py)
BUILDERS = {name: {"llava": build_llava, "qwen2_5_vl": build_qwen, "qwen3_vl": build_qwen3}[MODELS.get(name).family] for name in ORGANISMS}


def parameter_bytes(model: Any, bytes_per_value: int = 2) -> int:
    """Bytes of the weights stored at ``bytes_per_value`` (tied weights counted once)."""
    seen = {p.data_ptr(): p.numel() for p in model.parameters()}
    return sum(seen.values()) * bytes_per_value


def save(name: str, out: Path, seed: int = 0) -> Path:
    """Build ``name`` untrained and save model + processor to ``out``."""
    if name not in BUILDERS:
        raise ValueError(f"unknown organism {name!r} (organisms: {', '.join(BUILDERS)})")
    model, processor = BUILDERS[name](seed)
    model.eval().save_pretrained(out)
    processor.save_pretrained(out)
    return out
