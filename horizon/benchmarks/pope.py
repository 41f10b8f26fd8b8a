"""POPE (Li et al., 2023): object-hallucination yes/no questions (random, popular, adversarial).

Two scorers, one per protocol, each its reference's:

* ``lmms-eval`` (:func:`score_pope_lmms_eval`): lmms-eval 0.7.3's ``pope_process_results`` and aggregations
  (lmms_eval/tasks/pope/utils.py): an answer counts only when, lower-cased and stripped, it *is* "yes" or "no"
  ("Yes." is neither: wrong, and neither a positive nor a negative); precision over the answers "yes", recall
  over the gold "yes" answered "yes" or "no"; and its yes-ratio is the share of gold "yes" (the ground truth,
  about 0.5 on POPE), not of the predictions.
* ``paper`` (:func:`score_pope`, :func:`score_pope_splits`): POPE's own extraction (``evaluate.py`` of the POPE
  repository, also LLaVA's ``eval_pope.py``): keep the first sentence, drop commas, and the answer is "no" if the
  words "No", "no" or "not" occur, "yes" otherwise; metrics with "yes" as the positive class, and the yes-ratio
  of the predictions. The release scores each split apart and averages them.
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

    def percent(self) -> dict[str, float]:
        """The metrics as the POPE spec declares them (percentages)."""
        return {"accuracy": 100 * self.accuracy, "f1": 100 * self.f1, "precision": 100 * self.precision,
                "recall": 100 * self.recall, "yes_ratio": 100 * self.yes_ratio}  # fmt: skip


def score_pope(predictions: Sequence[str], answers: Sequence[str]) -> POPEScore:
    if len(predictions) != len(answers) or not answers:
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} answers; need equal, non-zero counts")
    pred = [parse_pope(p) == "yes" for p in predictions]
    gold = _gold(answers)
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(not p and g for p, g in zip(pred, gold, strict=True))
    tn = len(pred) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return POPEScore((tp + tn) / len(pred), precision, recall, f1, sum(pred) / len(pred))


def _gold(answers: Sequence[str]) -> list[bool]:
    gold = []
    for a in answers:
        label = a.strip().lower()
        if label not in ("yes", "no"):
            raise ValueError(f"POPE answer {a!r} is not yes or no")
        gold.append(label == "yes")
    return gold


def score_pope_lmms_eval(predictions: Sequence[str], answers: Sequence[str]) -> POPEScore:
    """lmms-eval 0.7.3's POPE (lmms_eval/tasks/pope/utils.py: ``pope_process_results`` l.17-29 reads
    ``results[0].lower().strip()``; ``pope_aggregate_accuracy`` l.31, ``_precision`` l.39, ``_recall`` l.53,
    ``_f1_score`` l.67, ``_yes_ratio`` l.74): exact
    "yes"/"no" answers only; 0 where a ratio's denominator is 0, as there."""
    if len(predictions) != len(answers) or not answers:
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} answers; need equal, non-zero counts")
    said = [p.lower().strip() for p in predictions]
    gold = _gold(answers)
    tp = sum(g and s == "yes" for s, g in zip(said, gold, strict=True))
    fp = sum(not g and s == "yes" for s, g in zip(said, gold, strict=True))
    fn = sum(g and s == "no" for s, g in zip(said, gold, strict=True))
    right = sum(s == ("yes" if g else "no") for s, g in zip(said, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return POPEScore(right / len(said), precision, recall, f1, sum(gold) / len(gold))


def score_pope_splits(predictions: Sequence[str], answers: Sequence[str], splits: Sequence[str]) -> POPEScore:
    """The release's POPE score (``paper`` protocol): ``llava/eval/eval_pope.py`` of
    YahongWang1/Information-Horizon@75909b2 scores each split (``coco_pope_{adversarial,popular,random}.json``,
    ``category = file[10:-5]``, l.77-84) on its own with the extraction and metrics above (``eval_pope``, l.5-63),
    then prints ``avg_f1 = sum(f1_scores) / len(f1_scores)`` (l.87-90), the paper's "Average F1": the unweighted
    mean of the per-split F1s. horizon takes the same unweighted mean of every metric (the release prints only
    the per-split accuracy, precision, recall and yes-ratio), so with one split present it is the pooled score.

    Splits are the samples' ``category`` (an empty one is a split of its own). Where a split has no "yes"
    prediction (or no "yes" label) the release divides by zero; here that precision (recall) is 0."""
    if not len(predictions) == len(answers) == len(splits) or not answers:
        raise ValueError(
            f"{len(predictions)} predictions, {len(answers)} answers, {len(splits)} splits; need equal, non-zero counts"
        )
    per_split = []
    for split in sorted(set(splits)):
        rows = [i for i, s in enumerate(splits) if s == split]
        per_split.append(score_pope([predictions[i] for i in rows], [answers[i] for i in rows]))

    def mean(metric: str) -> float:
        return sum(getattr(s, metric) for s in per_split) / len(per_split)

    return POPEScore(mean("accuracy"), mean("precision"), mean("recall"), mean("f1"), mean("yes_ratio"))
