"""MME (Fu et al., 2023): yes/no questions, two per image, 14 sub-tasks.

Scoring, as the official MME evaluation and lmms-eval's ``mme_process_results`` / ``mme_aggregate_results``:
an answer is parsed to yes / no / other; per category, ``acc`` is the share of correct answers and ``acc+``
the share of images whose two answers are both correct; a category scores ``100·(acc + acc+)`` (0–200).
Perception is the sum over its 10 categories (max 2000), cognition over its 4 (max 800); the paper
reports their total. Every image must have exactly its two questions: a subset that splits a pair is an
error here (lmms-eval asserts too), so subsets are drawn by image. The ``paper`` protocol parses answers as the
release's pipeline does (:func:`parse_yes_no_llava`); the scoring is the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from horizon.benchmarks.base import Sample

PERCEPTION = (
    "existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR",
)  # fmt: skip
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")


def parse_yes_no(prediction: str) -> str:
    """'yes', 'no' or 'other', as lmms-eval's ``parse_pred_ans``."""
    text = prediction.lower().strip().replace(".", "")
    if text in ("yes", "no"):
        return text
    if text in ("y", "n"):
        return "yes" if text == "y" else "no"
    head = text[:4]
    return "yes" if "yes" in head else "no" if "no" in head else "other"


def convert_answer_to_mme(prediction: str) -> str:
    """LLaVA's ``convert_answer_to_mme.py`` (run by the release's allbench scripts inside playground/data/eval/MME,
    from LLaVA's eval.zip; not in the release itself). eval.zip's own copy (haotian-liu/LLaVA@32cebc3, a pull
    request's head, ``playground/data/eval/MME/convert_answer_to_mme.py`` l.54-72) writes ``answer['text']``
    unchanged; the copy at EasonAI-5589/MME@97a1c6f (l.60-64) strips and lower-cases it and turns one starting with
    "yes"/"no" into "Yes"/"No". :func:`parse_pred_ans` reads both alike on every answer the release can read (a
    text starting with yes/no has it in its first 4 characters; tests/test_paper_scorer_references.py holds both).
    The one difference from the release: an answer holding a tab or a line break breaks the converter's
    tab-separated file and calculation.py raises; horizon scores it (docs/protocol.md)."""
    pred = prediction.strip().lower()
    return "Yes" if pred.startswith("yes") else "No" if pred.startswith("no") else pred


def parse_pred_ans(pred_ans: str) -> str:
    """The MME authors' ``eval_tool/calculation.py`` ``parse_pred_ans`` (copy at zjunlp/Deco@a3ccc15 l.27-41), on
    the lower-cased answer: exactly "yes" / "no" -> itself; else "yes" in its first 4 characters -> "yes", elif
    "no" in them -> "no", else "other"."""
    if pred_ans in ("yes", "no"):
        return pred_ans
    prefix = pred_ans[:4]
    return "yes" if "yes" in prefix else "no" if "no" in prefix else "other"


def parse_yes_no_llava(prediction: str) -> str:
    """'yes', 'no' or 'other' as the release's MME pipeline reads an answer: :func:`convert_answer_to_mme`, then
    calculation.py lower-cases it (~l.120) and applies :func:`parse_pred_ans`. Unlike :func:`parse_yes_no`, a lone
    "y" / "n" is "other" and periods are not removed first ("y." and "...yes" are "other")."""
    return parse_pred_ans(convert_answer_to_mme(prediction).lower())


@dataclass(frozen=True)
class MMEItem:
    image: str  # the question_id shared by the two questions of one image
    category: str
    answer: str  # "Yes" / "No"
    prediction: str


@dataclass(frozen=True)
class MMEScore:
    categories: dict[str, float]  # 0..200 each
    perception: float
    cognition: float

    @property
    def total(self) -> float:
        return self.perception + self.cognition


def score_mme(items: Iterable[MMEItem], parse: Callable[[str], str] = parse_yes_no) -> MMEScore:
    """Per-category ``100·(acc + acc+)``, summed into perception and cognition; ``parse`` reads each answer."""
    by_image: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for item in items:
        if item.category not in PERCEPTION and item.category not in COGNITION:
            raise ValueError(f"MME category {item.category!r} is not one of {PERCEPTION + COGNITION}")
        by_image[(item.category, item.image)].append(parse(item.prediction) == item.answer.strip().lower())
    per_category: dict[str, list[list[bool]]] = defaultdict(list)
    for (category, image), results in sorted(by_image.items()):
        if len(results) != 2:
            raise ValueError(f"MME image {image!r} ({category}) has {len(results)} answers; each image needs its 2")
        per_category[category].append(results)
    categories = {}
    for category, pairs in per_category.items():
        acc = sum(sum(p) for p in pairs) / (2 * len(pairs))
        acc_plus = sum(all(p) for p in pairs) / len(pairs)
        categories[category] = 100 * (acc + acc_plus)
    perception = sum(v for k, v in categories.items() if k in PERCEPTION)
    cognition = sum(v for k, v in categories.items() if k in COGNITION)
    return MMEScore(categories, perception, cognition)


def mme_metrics(
    samples: Sequence[Sample], predictions: Sequence[str], parse: Callable[[str], str] = parse_yes_no
) -> dict[str, float]:
    """The MME spec's metrics (total, perception, cognition) of samples (group = the image) and their answers."""
    items = [MMEItem(s.group, s.fields["category"], s.target, p) for s, p in zip(samples, predictions, strict=True)]
    r = score_mme(items, parse)
    return {"total": r.total, "perception": r.perception, "cognition": r.cognition}
