"""Text tokens per benchmark prompt, counted by the real tokenizers (issue 33): the counting, the committed table
FLOPs and GPU-hours read (horizon/efficiency/text_tokens.py), recomputed when the vocabularies are cached, and
``horizon plan`` reading it."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from horizon.benchmarks.base import LETTER
from horizon.benchmarks.fixtures import rows
from horizon.benchmarks.registry import BENCHMARKS
from horizon.cli.plan import _assumptions
from horizon.efficiency.text_tokens import ASSUMED, QUESTION_FILE_TOKENS, TEXT_TOKENS, text_tokens_for
from horizon.evaluation.text_tokens import (
    PLACEHOLDERS,
    TEMPLATES,
    count_text_tokens,
    llava_questions,
    measure,
    measure_all,
    prompt_text,
)
from horizon.models.presets import FAMILY_NAMES
from horizon.protocol import PROTOCOLS
from tests.test_vocab import vocab_env  # noqa: F401 - the session fixture that fetches the vocabularies


def _fixture_samples() -> dict[str, list[Any]]:
    return {name: bench.samples_of(rows(name)) for name, bench in BENCHMARKS.items()}


def test_the_prompt_is_the_protocols_conversation():
    assert prompt_text("llava", "paper", "Q?").endswith("USER: <image>\nQ? ASSISTANT:")
    assert prompt_text("llava", "paper", "Q?").startswith("A chat between a curious user")
    assert prompt_text("llava", "lmms-eval", "Q?") == "USER: <image>\nQ? ASSISTANT:"
    assert prompt_text("qwen2_5_vl", "lmms-eval", "Q?") == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "<|vision_start|><|image_pad|><|vision_end|>Q?<|im_end|>\n<|im_start|>assistant\n"
    )
    with pytest.raises(ValueError, match="no chat template rendering for family 'internvl'"):
        prompt_text("internvl", "lmms-eval", "Q?")


def test_the_placeholder_is_not_counted():
    class Tok:  # ids: one per character, the placeholder one id
        def __call__(self, text: str) -> dict[str, list[int]]:
            return {"input_ids": [0] + [7 if c == "@" else 1 for c in text]}

        def convert_tokens_to_ids(self, token: str) -> int:
            return 7

    assert count_text_tokens(Tok(), "llava", "ab@c") == 4  # BOS + a, b, c
    with pytest.raises(ValueError, match="no samples of mme"):
        measure(BENCHMARKS.get("mme"), "llava", "paper", Tok(), [])


def test_the_table_covers_every_family_protocol_and_benchmark():
    assert set(TEMPLATES) == set(PLACEHOLDERS) <= set(FAMILY_NAMES)
    assert set(TEXT_TOKENS) == set(TEMPLATES)
    for family, by_protocol in TEXT_TOKENS.items():
        defined = {n for n, p in PROTOCOLS.items() if not p.families or family in p.families}
        assert set(by_protocol) == defined, family
        for means in by_protocol.values():
            assert set(means) == set(BENCHMARKS.names())
            assert all(v >= 1 for v in means.values())
    assert text_tokens_for("llava", "paper", "textvqa-ocr")[1].startswith("measured on")
    assert text_tokens_for("qwen3_vl", "lmms-eval", "mme")[0] == 43.29  # measured on LLaVA's MME question file
    assert text_tokens_for("qwen3_vl", "lmms-eval", "no-such-benchmark") == (float(ASSUMED), "assumed")


def test_plan_reads_the_measured_means_unless_told():
    told = argparse.Namespace(text_tokens=100, answer_tokens=8)
    assert _assumptions(told)[0] == "100 text tokens per prompt (--text-tokens)"
    measured = argparse.Namespace(text_tokens=None, answer_tokens=8)
    assert "measured with the real tokenizers" in _assumptions(measured)[0]


@pytest.mark.xdist_group("vocab")
def test_the_committed_means_are_what_the_real_tokenizers_count(vocab_env):  # noqa: F811
    """``horizon vocab text-tokens --fixtures`` recomputed: every committed mean, to 2 decimals."""
    from horizon.vocab.cache import family_tokenizer

    tokenizers = {f: family_tokenizer(f, vocab_env) for f in TEMPLATES}
    assert all(t is not None for t in tokenizers.values())
    measured: dict[str, dict[str, dict[str, float]]] = {}
    for t in measure_all(tokenizers, _fixture_samples()):
        measured.setdefault(t.family, {}).setdefault(t.protocol, {})[t.benchmark] = round(t.mean, 2)
    assert measured == {f: {p: dict(m) for p, m in ps.items()} for f, ps in TEXT_TOKENS.items()}
    # the system prompt and roles are real tokens: LLaVA's vicuna_v1 adds 30 to the chat template's count
    assert TEXT_TOKENS["llava"]["paper"]["mme"] - TEXT_TOKENS["llava"]["lmms-eval"]["mme"] == 30


@pytest.mark.xdist_group("vocab")
def test_a_stand_ins_costs_count_the_real_tokenizers_text_tokens(vocab_env):  # noqa: F811
    """A stand-in case's FLOPs and KV (the real architecture) read the real tokenizer's text tokens of its prompts
    when the vocabulary is cached, and say so; without it, the stand-in's own prompt length."""
    from types import SimpleNamespace

    from horizon.harness.matrix import all_cases
    from horizon.harness.runner import CaseRunner
    from horizon.models.presets import MODELS, stand_in_name

    case = next(c for c in all_cases() if c.model == "llava-1.5-7b" and c.benchmark == "mme")
    preset = MODELS.get(stand_in_name("llava-1.5-7b"))
    loaded = SimpleNamespace(preset=preset, name=preset.name, adapter=SimpleNamespace(family="llava"))
    bench = BENCHMARKS.get("mme").under(case.protocol)
    samples = _fixture_samples()["mme"]
    with_vocab = CaseRunner({}, dict(vocab_env), stand_ins=True)._costs(loaded, case, 5.0, 576.0, bench, samples)
    without = CaseRunner({}, {"HORIZON_CACHE": "/nonexistent"}, stand_ins=True)._costs(loaded, case, 5.0, 576.0,
                                                                                      bench, samples)  # fmt: skip
    assert with_vocab["flops_formula"].endswith("(text tokens: the real tokenizer's)")
    assert not without["flops_formula"].endswith("(text tokens: the real tokenizer's)")
    real = TEXT_TOKENS["llava"][case.protocol]["mme"]
    assert with_vocab["kv_mb"] / without["kv_mb"] == pytest.approx((round(real) + 576) / (5 + 576), rel=0.05)


def test_llava_question_files_are_read_as_the_release_reads_them():
    jsonl = "\n".join(json.dumps({"question_id": i, "text": t}) for i, t in enumerate(
        ["What is it?\nReference OCR token: A, B\nAnswer the question using a single word or phrase.", "Is it red?"]))
    assert llava_questions(jsonl, "q.jsonl")[1] == "Is it red?"
    assert llava_questions(jsonl, "q.jsonl", drop_ocr=True)[0] == (
        "What is it?\nAnswer the question using a single word or phrase.")
    sqa = json.dumps([{"id": "1", "image": "1.png", "conversations": [{"from": "human", "value": "<image>\nQ?\nA. x"}]},
                      {"id": "2", "conversations": [{"from": "human", "value": "text only"}]}])  # fmt: skip
    assert llava_questions(sqa, "s.json") == ["Q?\nA. x" + LETTER]  # model_vqa_science.py: image rows, letter prompt
    with pytest.raises(ValueError, match="bad.jsonl: not a LLaVA question file"):
        llava_questions('{"question": "x"}', "bad.jsonl")


def test_the_question_file_means_differ_by_the_system_prompt_alone():
    """Under ``paper`` LLaVA's prompt is the chat template's plus vicuna_v1's system prompt, 30 tokens, on every
    question: the two columns of each benchmark were measured apart, so this ties them."""
    for bench, paper in QUESTION_FILE_TOKENS["llava"]["paper"].items():
        assert paper - QUESTION_FILE_TOKENS["llava"]["lmms-eval"][bench] == pytest.approx(30), bench
    assert QUESTION_FILE_TOKENS["llava"]["paper"]["textvqa-ocr"] == pytest.approx(116.4, abs=0.05)  # Table 3's
    for family, by_protocol in QUESTION_FILE_TOKENS.items():
        for protocol, means in by_protocol.items():
            assert set(means) <= set(TEXT_TOKENS[family][protocol])
            assert all(text_tokens_for(family, protocol, b)[0] == v for b, v in means.items())
