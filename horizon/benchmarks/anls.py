"""ANLS, average normalised Levenshtein similarity (Biten et al., ST-VQA / DocVQA official metric), as lmms-eval
0.7.3 and the official RRC evaluation compute it.

The edit distance is taken between the lower-cased, whitespace-normalised answer and prediction, but it is divided
by the longer of the *raw* strings, measured upper-cased (``max(len(answer.upper()), len(pred.upper()))``):
lmms-eval's ``lmms_eval/api/metrics.py`` ``anls`` (l.298-321, "from QwenLM/Qwen-VL eval_mm/infographicsvqa_eval.py",
itself the RRC script's rule). The score is ``1 - min over answers of NL``, kept when it is at least τ = 0.5 and
0 below (so an answer exactly half an edit away, "1" against "10", scores 0.5). Both protocols score ANLS this way:
the authors' release does not score DocVQA or InfoVQA itself (docs/protocol.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from horizon.benchmarks.text import levenshtein

THRESHOLD = 0.5


def anls(prediction: str, answers: Sequence[str], threshold: float = THRESHOLD) -> float:
    if not answers:
        raise ValueError("ANLS needs at least one ground-truth answer")
    pred = " ".join(prediction.strip().lower().split())
    distances = []
    for answer in answers:
        gold = " ".join(str(answer).strip().lower().split())
        length = max(len(str(answer).upper()), len(prediction.upper()))  # raw lengths, as the references divide
        distances.append(0.0 if length == 0 else levenshtein(gold, pred) / length)
    score = 1.0 - min(distances)
    return 0.0 if score < threshold else score
