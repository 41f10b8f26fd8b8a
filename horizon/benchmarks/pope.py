"""POPE (Li et al., 2023): object-hallucination yes/no questions (random, popular, adversarial).

Answer extraction is POPE's own (``evaluate.py`` of the POPE repository, also LLaVA's ``eval_pope.py``):
keep the first sentence, drop commas, and the answer is "no" if the words "No", "no" or "not" occur,
"yes" otherwise. Metrics with "yes" as the positive class: accuracy, precision, recall, F1 and the
yes-ratio **of the predictions** (lmms-eval's ``pope_aggregate_yes_ratio`` reads the ground truth instead,
which is always about 0.5 on POPE; tests/test_scorers.py shows the difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def parse_pope(prediction: str) -> str:
    text = prediction
    if "." in text:
        text = text.split(".")[0]
    words = text.replace(",", "").split(" ")
    return "no" if ("No" in words or "no" in words or "not" in words) else "yes"


@dataclass(frozen=True)
class POPEScore:
    accuracy: float
    precision: float
    recall: float
    f1: float
    yes_ratio: float


def score_pope(predictions: Sequence[str], answers: Sequence[str]) -> POPEScore:
    if len(predictions) != len(answers) or not answers:
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} answers; need equal, non-zero counts")
    pred = [parse_pope(p) == "yes" for p in predictions]
    gold = []
    for a in answers:
        label = a.strip().lower()
        if label not in ("yes", "no"):
            raise ValueError(f"POPE answer {a!r} is not yes or no")
        gold.append(label == "yes")
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(not p and g for p, g in zip(pred, gold, strict=True))
    tn = len(pred) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return POPEScore((tp + tn) / len(pred), precision, recall, f1, sum(pred) / len(pred))
