"""ANLS, average normalised Levenshtein similarity (Biten et al., ST-VQA / DocVQA official metric).

For each ground-truth answer, ``NL = lev(a, p) / max(|a|, |p|)`` on lower-cased, whitespace-normalised
strings; the score is ``max over answers of (1 - NL if NL < τ else 0)`` with τ = 0.5. (lmms-eval's ``anls``
thresholds after taking the minimum and measures lengths before normalising; the two agree except at
NL = 0.5 exactly, where the official definition gives 0.)
"""

from __future__ import annotations

from collections.abc import Sequence

from horizon.benchmarks.text import levenshtein

THRESHOLD = 0.5


def anls(prediction: str, answers: Sequence[str], threshold: float = THRESHOLD) -> float:
    if not answers:
        raise ValueError("ANLS needs at least one ground-truth answer")
    pred = " ".join(prediction.strip().lower().split())
    best = 0.0
    for answer in answers:
        gold = " ".join(str(answer).strip().lower().split())
        length = max(len(gold), len(pred))
        nl = levenshtein(gold, pred) / length if length else 0.0
        best = max(best, 1.0 - nl if nl < threshold else 0.0)
    return best
