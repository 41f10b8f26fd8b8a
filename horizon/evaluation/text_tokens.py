"""How many text tokens a benchmark's prompt holds, counted by a real tokenizer (issue 33).

A prompt is what a case feeds the model: the protocol's conversation around the benchmark's question (the
checkpoint's chat template under ``lmms-eval``, LLaVA's ``vicuna_v1`` under ``paper``), tokenized as the family's
processor tokenizes it. Its text tokens are all of its ids but the image placeholder (which the processor expands
into the visual tokens): BOS, the system prompt, the roles, the question, options, OCR tokens and instructions, and
Qwen's ``<|vision_start|>``/``<|vision_end|>``. The chat templates are horizon's renderings of each family's
(:data:`TEMPLATES`; tests/test_real_tokenizers.py holds them against the published ones).

``horizon vocab text-tokens`` prints the means on the rows it
finds (local data under ``$HORIZON_DATA`` when present, else the fixture rows), or on a LLaVA question file
(``--questions``: the prompts the authors' release reads, :func:`llava_questions`); the means FLOPs and GPU-hours
read are in :mod:`horizon.efficiency.text_tokens`, and a test recomputes the fixture rows' when the vocabularies
are cached.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from horizon.benchmarks.base import LETTER, Benchmark, Sample
from horizon.models.conversation import conversation_fn
from horizon.models.tiny import LLAVA_TEMPLATE, QWEN_TEMPLATE
from horizon.protocol import PROTOCOLS

# the chat template's rendering, per family (Qwen3-VL as lmms-eval prompts it: its wrapper sends Qwen2.5-VL's system
# line, "You are a helpful assistant.", which Qwen3-VL's template renders as Qwen2.5-VL's renders it by default)
TEMPLATES = {"llava": LLAVA_TEMPLATE, "qwen2_5_vl": QWEN_TEMPLATE, "qwen3_vl": QWEN_TEMPLATE}
PLACEHOLDERS = {"llava": "<image>", "qwen2_5_vl": "<|image_pad|>", "qwen3_vl": "<|image_pad|>"}  # expanded to tokens


@dataclass(frozen=True)
class TextTokens:
    """The text tokens of a benchmark's prompts for one family under one protocol."""

    family: str
    protocol: str
    benchmark: str
    counts: tuple[int, ...]  # one per prompt

    @property
    def mean(self) -> float:
        return statistics.fmean(self.counts)


def prompt_text(family: str, protocol: str, question: str) -> str:
    """The whole prompt text around ``question`` (one image) as ``family`` runs it under ``protocol``."""
    if family not in TEMPLATES:
        raise ValueError(f"no chat template rendering for family {family!r}: known {', '.join(TEMPLATES)}")
    wrap = conversation_fn(PROTOCOLS.get(protocol).conversation)
    if wrap is not None:
        return wrap(question)
    turns = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    return _template(family).render(messages=turns, add_generation_prompt=True)


@cache
def _template(family: str) -> Any:
    """``family``'s chat template compiled once (as transformers renders one: sandboxed, trim and lstrip blocks)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(TEMPLATES[family])


def count_text_tokens(tokenizer: Any, family: str, text: str) -> int:
    """The ids of ``text`` (with the tokenizer's special tokens, as the processor adds them) but the image
    placeholder."""
    ids = tokenizer(text)["input_ids"]
    placeholder = tokenizer.convert_tokens_to_ids(PLACEHOLDERS[family])
    return sum(1 for i in ids if i != placeholder)


def measure(bench: Benchmark, family: str, protocol: str, tokenizer: Any, samples: Sequence[Sample]) -> TextTokens:
    """The text tokens of each sample's prompt (``bench`` as ``protocol`` runs it)."""
    if not samples:
        raise ValueError(f"no samples of {bench.name} to measure")
    run = bench.under(protocol)
    counts = tuple(count_text_tokens(tokenizer, family, prompt_text(family, protocol, run.prompt(s, family)))
                   for s in samples)  # fmt: skip
    return TextTokens(family, protocol, bench.name, counts)


def measure_all(tokenizers: Mapping[str, Any], samples: Mapping[str, Sequence[Sample]]) -> list[TextTokens]:
    """Every (family with a tokenizer) x (protocol defined for it) x (benchmark with samples)."""
    from horizon.benchmarks.registry import BENCHMARKS

    out = []
    for family, tokenizer in sorted(tokenizers.items()):
        for protocol_name, protocol in PROTOCOLS.items():
            if protocol.families and family not in protocol.families:
                continue
            for name, rows in sorted(samples.items()):
                out.append(measure(BENCHMARKS.get(name), family, protocol_name, tokenizer, rows))
    return out


def measure_questions(questions: Sequence[str], family: str, protocol: str, tokenizer: Any, benchmark: str) -> TextTokens:
    """The text tokens of prompts whose question part (instructions included) is given whole."""
    if not questions:
        raise ValueError(f"no questions of {benchmark} to measure")
    counts = tuple(count_text_tokens(tokenizer, family, prompt_text(family, protocol, q)) for q in questions)
    return TextTokens(family, protocol, benchmark, counts)


OCR_LINE = "\nReference OCR token:"


def llava_questions(text: str, source: str, *, drop_ocr: bool = False) -> list[str]:
    """The questions (the text after ``<image>\n``, instructions included) of a LLaVA evaluation question file:
    JSON lines with ``text`` (``model_vqa_loader.py``: MME, POPE, TextVQA, GQA), or ScienceQA's
    ``llava_test_CQM-A.json`` (``model_vqa_science.py`` with ``--single-pred-prompt``: the rows with an image, the
    first turn without ``<image>``, stripped, then the letter instruction). ``drop_ocr``: TextVQA's question without
    its "Reference OCR token" line (horizon's ``textvqa`` under ``paper``)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        rows = json.loads(text)
        out = [str(r["conversations"][0]["value"]).replace("<image>", "").strip() + LETTER for r in rows if "image" in r]
    else:
        try:
            out = [str(json.loads(line)["text"]) for line in text.splitlines() if line.strip()]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{source}: not a LLaVA question file (JSON lines with 'text', or a ScienceQA "
                             f"conversations list): {err}") from None  # fmt: skip
    if drop_ocr:
        out = [q.split(OCR_LINE)[0] + q[q.index("\n", q.index(OCR_LINE) + 1):] if OCR_LINE in q else q for q in out]
    if not out:
        raise ValueError(f"{source}: no question with an image")
    return out
