"""Each benchmark's split size as lmms-eval loads it, with where it was read (``Benchmark.rows``, ``rows_source``):
what ``horizon plan`` costs a full run from. The dataset cards' ``num_examples`` where they were read; "inferred"
where only a copy or a sibling dataset was seen."""

from __future__ import annotations

from typing import Any

_CARD = "its Hugging Face dataset card (num_examples of the split)"
SPLIT_ROWS: dict[str, dict[str, Any]] = {
    "mme": {"rows": 2374, "rows_source": f"lmms-lab/MME test, {_CARD}: 1187 images x 2 questions"},
    "scienceqa-img": {"rows": 2017, "rows_source": f"lmms-lab/ScienceQA ScienceQA-IMG test, {_CARD}"},
    "pope": {"rows": 9000, "rows_source": f"lmms-lab/POPE test (adversarial, popular, random x 3000), {_CARD}"},
    "textvqa": {"rows": 5000, "rows_source": f"lmms-lab/textvqa validation, {_CARD}"},
    "textvqa-ocr": {"rows": 5000, "rows_source": f"lmms-lab/textvqa validation, {_CARD}"},
    "mmbench-en": {"rows": 4329, "rows_source": "inferred: lmms-lab/MMBench en dev was not read; HuggingFaceM4/MMBench "
                   "validation has 4329 (its card) and lmms-lab/MMBench_EN dev 4377: count it before relying on it"},
    "mmbench-cn": {"rows": 4329, "rows_source": f"lmms-lab/MMBench cn dev, {_CARD}"},
    "gqa": {"rows": 12578, "rows_source": "lmms-lab/GQA testdev_balanced_instructions: inferred from copies and logs "
            "(the card's field was not seen)"},
    "docvqa": {"rows": 5349, "rows_source": f"lmms-lab/DocVQA DocVQA validation, {_CARD}"},
    "infovqa": {"rows": 2801, "rows_source": f"lmms-lab/DocVQA InfographicVQA validation, {_CARD}"},
    "ocrbench": {"rows": 1000, "rows_source": f"echo840/OCRBench test, {_CARD}"},
    "ocr-vqa": {"rows": 20796, "rows_source": "howard-hou/OCR-VQA test, its dataset card: images, each with a list of "
                "questions (expanded, the samples are more)"},
}  # fmt: skip
