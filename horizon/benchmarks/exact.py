"""Exact match as lmms-eval 0.7.3 scores GQA: its ``exact_match`` metric with ``ignore_case`` and
``ignore_punctuation`` (``lmms_eval/api/metrics.py`` l.188-220: lower-cased, ASCII punctuation removed, the strings
then compared whole) on the answer as its task hands it over, stripped (``lmms_eval/api/task.py`` l.1587-1589). No
whitespace is normalised inside: "no ." is "no " there, not "no". OCR-VQA has no lmms-eval task; it is scored by
the same rule on its single answer."""

from __future__ import annotations

import string

_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_exact(text: str) -> str:
    """lmms-eval's ``ignore_case`` then ``ignore_punctuation``: lower-cased, ASCII punctuation removed."""
    return text.lower().translate(_PUNCT)


def exact_match(prediction: str, answer: str) -> float:
    return float(normalize_exact(prediction.strip()) == normalize_exact(answer))
