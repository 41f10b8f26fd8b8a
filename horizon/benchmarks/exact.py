"""Exact-match scorers: GQA (case and punctuation ignored, as lmms-eval's ``exact_match`` with
``ignore_case`` and ``ignore_punctuation``) and OCR-VQA (no lmms-eval task exists; the same rule on the
single answer, whitespace normalised)."""

from __future__ import annotations

import string

_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_exact(text: str) -> str:
    return " ".join(text.lower().translate(_PUNCT).split())


def exact_match(prediction: str, answer: str) -> float:
    return float(normalize_exact(prediction) == normalize_exact(answer))
