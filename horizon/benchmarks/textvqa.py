"""TextVQA (Singh et al., 2019): open answers about text in images, ten human answers per question.

Scoring: VQA accuracy with the EvalAI normaliser (``text.normalize_vqa_answer``) applied to the prediction
and to every human answer; for each of the ten answers left out in turn, ``min(1, matches among the other
nine / 3)``, averaged over the ten (lmms-eval ``textvqa_process_results``; the official VQA metric).
Whether LLaVA-1.5's "Reference OCR token" line is in the prompt is part of the case and recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

from horizon.benchmarks.text import normalize_vqa_answer


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    if not answers:
        raise ValueError("VQA accuracy needs at least one ground-truth answer")
    pred = normalize_vqa_answer(prediction)
    gold = [normalize_vqa_answer(a) for a in answers]
    scores = []
    for i in range(len(gold)):
        others = gold[:i] + gold[i + 1 :]
        scores.append(min(1.0, sum(a == pred for a in others) / 3))
    return sum(scores) / len(scores)
