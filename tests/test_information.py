"""Visual-token information (Eq. 2-6): the batched computation equals the naive one-token-at-a-time one and
an independent masked reference; the zeroing option equals a stock forward with zeroed states; the answer
token rule; the oracle method."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from horizon.benchmarks.base import Sample
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.information import answer_text, answer_token, information_map, information_naive, oracle_information
from horizon.schedule import parse_schedule
from tests.reference import reference_logits

QUESTION = "What is written on the sign?"


def _setup(tiny_model, name: str):
    loaded = tiny_model(name)
    prompt = prepare(loaded, [demo_image()], [QUESTION])
    return loaded, prompt, answer_token(loaded.processor, QUESTION, "STOP")


@pytest.mark.parametrize(
    ("name", "layers", "tokens"),
    [("tiny-qwen2.5-vl", [0, 5], None), ("tiny-llava", [0, 3, 31], list(range(0, 576, 23)) + [575])],
)
def test_batched_equals_naive_one_token_at_a_time(tiny_model, name, layers, tokens):
    loaded, prompt, y = _setup(tiny_model, name)
    batched = information_map(loaded, prompt, y, layers, chunk=50)
    naive = information_naive(loaded, prompt, y, layers, tokens=tokens)
    picked = slice(None) if tokens is None else tokens
    torch.testing.assert_close(batched.p_keep[:, picked], naive.p_keep[:, picked], atol=1e-5, rtol=0)
    torch.testing.assert_close(batched.p_text, naive.p_text, atol=1e-5, rtol=0)
    assert batched.p_full == pytest.approx(naive.p_full, abs=1e-6)
    # the check discriminates: a different token's probability differs from this one's
    assert (batched.p_keep[0] - batched.p_keep[0, 0]).abs().max() > 1e-5
    info = batched.information
    assert info.shape == (len(layers), prompt.n_visual)
    torch.testing.assert_close(info, batched.p_keep - batched.p_text[:, None])


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_batched_equals_an_independent_masked_reference(tiny_model, name):
    loaded, prompt, y = _setup(tiny_model, name)
    layer = 4
    batched = information_map(loaded, prompt, y, [layer])
    for k in (0, 7, prompt.n_visual - 1):
        kept = SimpleNamespace(layer=layer, kept_index=((k,),), positions="original")
        fake = SimpleNamespace(stages=[kept], token_ids=((0,),))
        (logits,) = reference_logits(loaded, prompt, fake, steps=1, mrope=loaded.adapter.mrope)
        assert float(batched.p_keep[0, k]) == pytest.approx(float(logits.softmax(-1)[0, y]), abs=1e-5)
    none = SimpleNamespace(stages=[SimpleNamespace(layer=layer, kept_index=((),), positions="original")],
                           token_ids=((0,),))  # fmt: skip
    (logits,) = reference_logits(loaded, prompt, none, steps=1, mrope=loaded.adapter.mrope)
    assert float(batched.p_text[0]) == pytest.approx(float(logits.softmax(-1)[0, y]), abs=1e-5)


def test_chunking_does_not_change_values(tiny_model):
    loaded, prompt, y = _setup(tiny_model, "tiny-qwen2.5-vl")
    a = information_map(loaded, prompt, y, [2, 9], chunk=7)
    b = information_map(loaded, prompt, y, [2, 9], chunk=500)
    torch.testing.assert_close(a.p_keep, b.p_keep, atol=1e-6, rtol=0)
    torch.testing.assert_close(a.p_text, b.p_text, atol=1e-6, rtol=0)


def _zeroed_stock(loaded, prompt, layer: int, keep: int | None, y: int) -> float:
    """The stock model with the visual hidden states entering ``layer`` zeroed except token ``keep``."""
    rows = prompt.visual_mask[0].nonzero().squeeze(-1)
    zero = rows if keep is None else torch.cat([rows[:keep], rows[keep + 1 :]])

    def hook(module, args, kwargs):  # noqa: ANN001
        h = (args[0] if args else kwargs["hidden_states"]).clone()
        h[:, zero] = 0
        return ((h, *args[1:]), kwargs) if args else (args, {**kwargs, "hidden_states": h})

    handle = loaded.decoder.layers[layer].register_forward_pre_hook(hook, with_kwargs=True)
    try:
        loaded.adapter.reset(loaded.model)
        with torch.inference_mode():
            out = loaded.model(**prompt.inputs, use_cache=False, logits_to_keep=1)
    finally:
        handle.remove()
    return float(out.logits[0, -1].float().softmax(-1)[y])


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_zero_mode_equals_stock_forward_with_zeroed_states(tiny_model, name):
    loaded, prompt, y = _setup(tiny_model, name)
    layer = 20
    info = information_map(loaded, prompt, y, [layer], mode="zero", chunk=64)
    for k in (0, 11):
        assert float(info.p_keep[0, k]) == pytest.approx(_zeroed_stock(loaded, prompt, layer, k, y), abs=1e-5)
    assert float(info.p_text[0]) == pytest.approx(_zeroed_stock(loaded, prompt, layer, None, y), abs=1e-5)
    removed = information_map(loaded, prompt, y, [layer])
    assert info.mode == "zero" and removed.mode == "remove"
    assert (info.p_text - removed.p_text).abs().max() > 1e-7  # zeroed tokens still take attention mass


def test_bad_input_is_named(tiny_model):
    loaded, prompt, y = _setup(tiny_model, "tiny-qwen2.5-vl")
    with pytest.raises(ValueError, match=r"layers \[28\] must be integers in 0..27"):
        information_map(loaded, prompt, y, [3, 28])
    with pytest.raises(ValueError, match="mode 'mask' is not one of remove, zero"):
        information_map(loaded, prompt, y, [3], mode="mask")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        information_map(loaded, prompt, 10**7, [3])
    two = prepare(loaded, [demo_image()] * 2, [QUESTION] * 2)
    with pytest.raises(ValueError, match="one sample at a time; the prompt holds 2"):
        information_map(loaded, two, y, [3])


def _sample(target: object) -> Sample:
    return Sample("s1", b"", "q", target, "s1")


def test_answer_text_rule():
    assert answer_text(_sample("Yes")) == "Yes"
    assert answer_text(_sample(["stop", "Sign", "sign", "stop ", "SIGN"])) == "Sign"  # 3 x sign beats 2 x stop
    assert answer_text(_sample(["b", "a", "a", "b"])) == "b"  # a tie goes to the first listed
    assert answer_text(_sample(2)) == "C"
    with pytest.raises(ValueError, match="no non-empty reference answer"):
        answer_text(_sample(["", " "]))
    with pytest.raises(ValueError, match="is not a string"):
        answer_text(_sample({"a": 1}))


def test_answer_token_follows_the_chat_template(tiny_model):
    llava, qwen = tiny_model("tiny-llava"), tiny_model("tiny-qwen2.5-vl")
    tok = llava.processor.tokenizer
    assert tok.convert_ids_to_tokens(answer_token(llava.processor, QUESTION, "Yes")) == "ĠYes"  # after "ASSISTANT:"
    y = answer_token(qwen.processor, QUESTION, "Yes")
    assert qwen.processor.tokenizer.decode([y]) in ("Y", "Yes")  # right after "assistant\n": no space


def test_oracle_keeps_the_most_informative_tokens(tiny_model):
    loaded, prompt, y = _setup(tiny_model, "tiny-llava")
    info = oracle_information(loaded, prompt, y, [6])
    out = run(loaded, prompt, parse_schedule("oracle@6:#10"), max_new_tokens=1, information=info)
    want = torch.sort(info[6][0], descending=True, stable=True).indices[:10].sort().values
    assert out.stages[0].kept_index[0] == tuple(want.tolist())
    with pytest.raises(ValueError, match="ranks tokens by their information at layer 6"):
        run(loaded, prompt, parse_schedule("oracle@6:#10"), max_new_tokens=1)
    with pytest.raises(ValueError, match="information at layer 6 has shape"):
        run(loaded, prompt, parse_schedule("oracle@6:#10"), max_new_tokens=1, information={6: info[6][:, :5]})
