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
    assert sum(parameter_bytes(m.model) for m in organisms.values()) <= 30 * 10**6  # 16-bit, all shipped (issue 20)


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
