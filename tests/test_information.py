"""Visual-token information (Eq. 2-6): the batched computation equals the naive one-token-at-a-time one and
an independent masked reference; the zeroing option equals a stock forward with zeroed states; windows of
tokens (the release's SIZE=2) equal a keep-only run of each window; the answer token rules; the oracle method."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from horizon.benchmarks.base import Sample
from horizon.doctor.reference import reference_logits
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.information import (
    InformationMap,
    answer_text,
    answer_token,
    best_vqa_answer,
    information_map,
    information_naive,
    oracle_information,
    oracle_scores,
    windows,
)
from horizon.information.answer import vqa_answer_scores
from horizon.methods.scoring import top_k_sorted
from horizon.schedule import parse_schedule

QUESTION = "What is written on the sign?"


def _setup(tiny_model, name: str):
    loaded = tiny_model(name)
    prompt = prepare(loaded, [demo_image()], [QUESTION])
    return loaded, prompt, answer_token(loaded.processor, QUESTION, "STOP")


@pytest.mark.parametrize(
    ("name", "layers", "tokens"),
    [("tiny-qwen2.5-vl", [0, 5], None), ("tiny-llava", [0, 3, 31], list(range(0, 576, 23)) + [575]),
     ("tiny-qwen3-vl", [0, 1, 3], list(range(0, 140, 17)) + [139])],  # before, inside, after DeepStack's 0-2
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


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl", "tiny-qwen3-vl"])
def test_batched_equals_an_independent_masked_reference(tiny_model, name):
    loaded, prompt, y = _setup(tiny_model, name)
    layer = {"tiny-qwen3-vl": 1}.get(name, 4)  # Qwen3-VL: a token removed at layer 1 misses DeepStack levels 1 and 2
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


def _zeroed_stock(loaded, prompt, layer: int, keep: int | list[int] | None, y: int) -> float:
    """The stock model with the visual hidden states entering ``layer`` zeroed except token(s) ``keep``."""
    rows = prompt.visual_mask[0].nonzero().squeeze(-1)
    kept = torch.zeros(rows.numel(), dtype=torch.bool)
    kept[[] if keep is None else keep] = True
    zero = rows[~kept]

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


def test_windows_tile_the_grid_row_major():
    assert windows((4, 6), 24, 2).tolist() == [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11],
                                               [12, 13, 18, 19], [14, 15, 20, 21], [16, 17, 22, 23]]  # fmt: skip
    assert windows((2, 3), 6, 1).tolist() == [[k] for k in range(6)] == windows(None, 6, 1).tolist()
    # the release (SIZE=2 on 24x24): window x (column), y (row), 1-based, token (x-1)*s + (y-1)*s*24 + i*24 + j
    release = {frozenset((x - 1) * 2 + (y - 1) * 2 * 24 + i * 24 + j for i in range(2) for j in range(2))
               for x in range(1, 13) for y in range(1, 13)}  # fmt: skip
    assert {frozenset(w.tolist()) for w in windows((24, 24), 576, 2)} == release
    with pytest.raises(
        ValueError, match=r"window 5 does not tile the 24x24 visual grid: .*\(1, 2, 3, 4, 6, 8, 12, 24\)"
    ):
        windows((24, 24), 576, 5)
    with pytest.raises(ValueError, match="window 2 needs the visual tokens' grid, and these 10 visual tokens"):
        windows(None, 10, 2)
    with pytest.raises(ValueError, match="window 0 must be a whole number >= 1"):
        windows((24, 24), 576, 0)


def test_window_map_equals_a_keep_only_run_of_each_window(tiny_model):
    loaded, prompt, y = _setup(tiny_model, "tiny-llava")
    layers, tokens = [0, 5], [0, 27, 300, 575]  # four windows of the 24x24 grid (12x12 windows of 2x2)
    batched = information_map(loaded, prompt, y, layers, window=2, chunk=40)
    naive = information_naive(loaded, prompt, y, layers, tokens=tokens, window=2)  # oracle@i:#4, one-hot window
    assert batched.window == naive.window == 2 and batched.grid == (24, 24)
    groups = windows((24, 24), 576, 2)
    measured = sorted({t for w in groups for t in w.tolist() if set(w.tolist()) & set(tokens)})
    assert len(measured) == 16 and not naive.p_keep[:, measured].isnan().any()
    # float32 rounding (~2e-10 here), far below the spread of the windows' values (~2e-5)
    torch.testing.assert_close(batched.p_keep[:, measured], naive.p_keep[:, measured], atol=1e-8, rtol=0)
    torch.testing.assert_close(batched.p_text, naive.p_text, atol=1e-8, rtol=0)
    per_window = batched.p_keep[:, groups]  # (layers, 144, 4): each token holds its window's value
    assert torch.equal(per_window, per_window[:, :, :1].expand_as(per_window))
    assert per_window[0, :, 0].unique().numel() > 100  # the windows differ from each other
    single = information_naive(loaded, prompt, y, layers, tokens=[0])  # token 0 alone
    assert (single.p_keep[:, 0] - batched.p_keep[:, 0]).abs().max() > 1e-6  # its window is not token 0 alone
    # an independent masked reference: the stock model with only window 45's tokens visible from layer 5
    window = groups[45].tolist()
    kept = SimpleNamespace(layer=5, kept_index=(tuple(window),), positions="original")
    (logits,) = reference_logits(loaded, prompt, SimpleNamespace(stages=[kept], token_ids=((0,),)), steps=1,
                                 mrope=loaded.adapter.mrope)  # fmt: skip
    assert float(batched.p_keep[1, window[0]]) == pytest.approx(float(logits.softmax(-1)[0, y]), abs=1e-8)


def test_window_map_on_qwen_and_in_zero_mode(tiny_model):
    loaded, prompt, y = _setup(tiny_model, "tiny-qwen2.5-vl")
    rows, cols = information_map(loaded, prompt, y, [3]).grid
    groups = windows((rows, cols), prompt.n_visual, 2)
    removed = information_map(loaded, prompt, y, [3], window=2)
    kept = SimpleNamespace(layer=3, kept_index=(tuple(groups[1].tolist()),), positions="original")
    (logits,) = reference_logits(loaded, prompt, SimpleNamespace(stages=[kept], token_ids=((0,),)), steps=1,
                                 mrope=loaded.adapter.mrope)  # fmt: skip
    assert float(removed.p_keep[0, groups[1][0]]) == pytest.approx(float(logits.softmax(-1)[0, y]), abs=1e-8)
    zero = information_map(loaded, prompt, y, [20], mode="zero", window=2)
    for g in (0, groups.shape[0] - 1):
        want = _zeroed_stock(loaded, prompt, 20, groups[g].tolist(), y)
        assert float(zero.p_keep[0, groups[g][-1]]) == pytest.approx(want, abs=1e-5)
    assert float(zero.p_text[0]) == pytest.approx(_zeroed_stock(loaded, prompt, 20, None, y), abs=1e-5)


def test_window_oracle_keeps_whole_windows(tiny_model):
    loaded, prompt, y = _setup(tiny_model, "tiny-llava")
    info = oracle_information(loaded, prompt, y, [6], window=2)
    out = run(loaded, prompt, parse_schedule("oracle@6:#8"), max_new_tokens=1, information=info)
    measured = information_map(loaded, prompt, y, [6], window=2)
    groups = windows((24, 24), 576, 2)
    best = torch.sort(measured.p_keep[0, groups[:, 0]], descending=True, stable=True).indices[:2]
    assert out.stages[0].kept_index[0] == tuple(sorted(groups[best].flatten().tolist()))


def test_window_oracle_ranking_breaks_ties_by_window_then_token():
    # a 4x4 grid, 2x2 windows: 0 = {0, 1, 4, 5} and 1 = {2, 3, 6, 7} tie at 0.9, 2 = {8, 9, 12, 13}, 3 = {10, ...}
    p = torch.tensor([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.2, 0.2, 0.7, 0.7, 0.2, 0.2, 0.7, 0.7])
    info = InformationMap((3,), 1, 0.5, torch.tensor([0.1]), p[None], "remove", (4, 4), 2)
    assert top_k_sorted(info.at(3)[None], 4).tolist() == [[0, 1, 2, 3]]  # raw values split the tied windows
    scores = oracle_scores(info, 3)[None]
    assert top_k_sorted(scores, 4).tolist() == [[0, 1, 4, 5]]  # whole windows, the lower window first
    assert top_k_sorted(scores, 12).tolist() == [[0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 14, 15]]
    assert top_k_sorted(scores, 6).tolist() == [[0, 1, 2, 3, 4, 5]]  # then token order inside window 1
    one = InformationMap((3,), 1, 0.5, torch.tensor([0.1]), p[None], "remove", (4, 4))
    assert torch.equal(oracle_scores(one, 3), one.at(3))  # window 1: the information itself


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


def test_paper_answer_rule_textvqa_best_normalised_answer():
    # the most frequent raw answer ("pepsi", 3; ties to the first) is not the best normalised one ("coca cola", 4)
    answers = ["pepsi"] * 3 + ["Coca-Cola", "coca cola", "COCA-COLA", "Coca Cola."] + ["cola"] * 3
    assert answer_text(_sample(answers)) == "pepsi"  # the frequent rule
    assert answer_text(_sample(answers), "paper", "textvqa") == "coca cola"
    assert answer_text(_sample(answers), "paper", "textvqa-ocr") == "coca cola"
    scores = vqa_answer_scores(answers)  # (4 x 1 + 6 x 1) / 10 and (3 x 2/3 + 7 x 1) / 10
    assert scores == {"pepsi": pytest.approx(0.9), "coca cola": 1.0, "cola": pytest.approx(0.9)}
    assert list(scores) == ["pepsi", "coca cola", "cola"]  # first-seen order
    assert best_vqa_answer(["x", "y"]) == "x" and best_vqa_answer(["y", "x"]) == "y"  # an exact tie: the first
    # equal counts, but m4c's float sums (1/3 + 2/3 + 2/3 + 1/3 against 2/3 + 1/3 + 1/3 + 2/3) differ in the last
    # bit: "dog" 0.49999999999999994, "cat" 0.5; the release's max then picks "cat" regardless of hash order
    assert best_vqa_answer(["The Dog", "a cat", "cat", "dog"]) == "cat"
    assert best_vqa_answer(["two", "2", "Three", "three"]) == "2"  # number words become digits
    assert best_vqa_answer(["the", "the", "a"]) == "the"  # normalised to "": the most common raw answer
    with pytest.raises(ValueError, match="no non-empty reference answer"):
        answer_text(_sample(["", " ", "?"]), "paper", "textvqa")


def test_paper_answer_rule_mme_and_its_limits():
    assert answer_text(_sample("yes"), "paper", "mme") == "Yes"
    assert answer_text(_sample(" NO"), "paper", "mme") == "No"
    assert answer_text(_sample("yes")) == "yes"  # the frequent rule keeps the gold answer as written
    with pytest.raises(ValueError, match="the paper's MME rule needs a gold answer yes or no, got 'maybe'"):
        answer_text(_sample("maybe"), "paper", "mme")
    with pytest.raises(ValueError, match=r"defined for textvqa, textvqa-ocr, mme .* not 'pope'"):
        answer_text(_sample("yes"), "paper", "pope")
    with pytest.raises(ValueError, match="answer rule 'best' is not one of frequent, paper"):
        answer_text(_sample("yes"), "best")


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
