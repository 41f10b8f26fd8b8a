"""MME (Fu et al., 2023): yes/no questions, two per image, 14 sub-tasks.

Scoring, as the official MME evaluation and lmms-eval's ``mme_process_results`` / ``mme_aggregate_results``:
an answer is parsed to yes / no / other; per category, ``acc`` is the share of correct answers and ``acc+``
the share of images whose two answers are both correct; a category scores ``100·(acc + acc+)`` (0–200).
Perception is the sum over its 10 categories (max 2000), cognition over its 4 (max 800); the paper
reports their total. Every image must have exactly its two questions: a subset that splits a pair is an
error here (lmms-eval asserts too), so subsets are drawn by image.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

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


def score_mme(items: Iterable[MMEItem]) -> MMEScore:
    by_image: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for item in items:
        if item.category not in PERCEPTION and item.category not in COGNITION:
            raise ValueError(f"MME category {item.category!r} is not one of {PERCEPTION + COGNITION}")
        by_image[(item.category, item.image)].append(parse_yes_no(item.prediction) == item.answer.strip().lower())
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
