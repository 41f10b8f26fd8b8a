"""TextVQA (Singh et al., 2019): open answers about text in images, ten human answers per question.

Scoring: VQA accuracy with the EvalAI normaliser (``text.normalize_vqa_answer``) applied to the prediction
and to every human answer; for each of the ten answers left out in turn, ``min(1, matches among the other
nine / 3)``, averaged over the ten (lmms-eval ``textvqa_process_results``; the official VQA metric).
Whether LLaVA-1.5's "Reference OCR token" line is in the prompt is part of the case and recorded.
Under the ``paper`` protocol the score is the release's m4c evaluator (:func:`m4c_accuracy`).
"""

from __future__ import annotations

from collections.abc import Sequence

from horizon.benchmarks.text import EVALAI_MAX_PERIODS, normalize_vqa_answer


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


M4C_MAX_PERIODS = EVALAI_MAX_PERIODS  # re.UNICODE, passed as the count of EvalAIAnswerProcessor's PERIOD_STRIP.sub


def m4c_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """The release's TextVQA score (``paper`` protocol): ``TextVQAAccuracyEvaluator`` of ``llava/eval/m4c_evaluator.py``
    (YahongWang1/Information-Horizon@75909b2, as upstream haotian-liu/LLaVA@c121f04 l.225-255), called by
    ``llava/eval/eval_textvqa.py``. Every human answer and the prediction go through ``EvalAIAnswerProcessor``;
    each distinct answer scores the mean over the ten leave-one-out subsets of ``min(1, matches / 3)``; the
    prediction gets its answer's score, or 0.

    Equal to :func:`vqa_accuracy` (both strip at most 32 periods, the processor's ``sub(..., re.UNICODE)`` count,
    l.195, as lmms-eval's copy does; tests/test_paper_protocol_benchmarks.py). m4c asserts exactly 10 answers; this takes any non-zero number."""
    if not answers:
        raise ValueError("VQA accuracy needs at least one ground-truth answer")
    gold = list(enumerate(normalize_vqa_answer(a, max_periods=M4C_MAX_PERIODS) for a in answers))
    scores = {}
    for unique in {a for _, a in gold}:
        accs = [min(1.0, sum(other == unique for j, other in gold if j != i) / 3) for i, _ in gold]
        scores[unique] = sum(accs) / len(accs)
    return scores.get(normalize_vqa_answer(prediction, max_periods=M4C_MAX_PERIODS), 0.0)
