"""The organisms' architectures: loaded by the ordinary adapters, 144 visual tokens, 8 layers, within the size
budget, and a vocabulary that covers every synth prompt and answer."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from horizon.benchmarks.synth import rows
from horizon.engine.run import prepare
from horizon.information import answer_token
from horizon.models.loading import load_model
from horizon.organism.build import BUILDERS, parameter_bytes, save


@pytest.fixture(scope="module")
def organisms(tmp_path_factory):
    root = tmp_path_factory.mktemp("organisms")
    return {name: load_model(str(save(name, root / name))) for name in BUILDERS}


def test_geometry_and_size_budget(organisms):
    data = rows(6, seed=1)
    for name, loaded in organisms.items():
        assert loaded.n_layers >= 8, name
        image = Image.open(io.BytesIO(data[0]["image"]["bytes"])).convert("RGB")
        prompt = prepare(loaded, [image], [str(data[0]["question"])])
        assert prompt.n_visual >= 144, name
    assert sum(parameter_bytes(m.model) for m in organisms.values()) <= 40 * 10**6  # 16-bit, all shipped (issue 36)


def test_vocabulary_covers_synth(organisms):
    data = rows(60, seed=2)
    for name, loaded in organisms.items():
        tok = loaded.processor.tokenizer
        unk = tok.convert_tokens_to_ids(tok.backend_tokenizer.model.unk_token)  # the word-level model's unknown
        assert unk is not None
        for r in data:
            text = loaded.processor.apply_chat_template(
                [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": r["question"]}]}],
                add_generation_prompt=True,
            )
            ids = tok(text, add_special_tokens=False).input_ids
            assert unk not in ids or "<|endoftext|>" in text, (name, text, tok.convert_ids_to_tokens(ids))
            y = answer_token(loaded.processor, str(r["question"]), str(r["answer"]))
            assert tok.convert_ids_to_tokens([y]) == [str(r["answer"])], name


def test_the_deepstack_pair_differs_in_deepstack_and_what_it_requires():
    """Issue 36: organism-qwen3-vl is organism-qwen2.5-vl's decoder, tower width, vocabulary, visual tokens and
    recipe as Qwen3-VL; what else differs is Qwen3-VL's own (QK-norm, interleaved M-RoPE, its tower's patches and
    position embeddings, one more block for three DeepStack levels), named in horizon/organism/build.py."""
    from horizon.models.presets import MODELS
    from horizon.organism.build import QWEN3_DEEPSTACK, build_qwen, build_qwen3
    from horizon.organism.config import DEEPSTACK

    (without, with_), = DEEPSTACK.items()
    assert MODELS.get(without).arch == MODELS.get(with_).arch and MODELS.get(with_).family == "qwen3_vl"
    (a, pa), (b, pb) = build_qwen(0), build_qwen3(0)
    ta, tb = a.config.text_config, b.config.text_config
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                "vocab_size", "max_position_embeddings"):
        assert getattr(ta, key) == getattr(tb, key), key
    assert ta.rope_parameters["rope_theta"] == tb.rope_parameters["rope_theta"]
    assert pa.tokenizer.get_vocab() == pb.tokenizer.get_vocab()
    va, vb = a.config.vision_config, b.config.vision_config
    assert (va.hidden_size, va.intermediate_size, va.num_heads) == (vb.hidden_size, vb.intermediate_size, vb.num_heads)
    assert not hasattr(va, "deepstack_visual_indexes") and list(vb.deepstack_visual_indexes) == list(QWEN3_DEEPSTACK)
    assert vb.depth == va.depth + 1 and tb.rope_parameters["mrope_interleaved"]
