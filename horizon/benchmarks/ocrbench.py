"""OCRBench (Liu et al., 2024): 1000 questions in 10 categories; a prediction is right if it contains an
answer (lmms-eval ``ocrbench_process_results``): full-width ASCII folded to half-width, lower-cased,
newlines to spaces; for the HME100k (handwritten math) items all spaces are removed instead (no folding,
no lower-casing).
The paper reports the number right out of 1000 (as a percentage). Pure functions: lmms-eval keeps a
module-level score dict that accumulates across evaluations in one process; nothing here does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CATEGORIES = (
    "Regular Text Recognition", "Irregular Text Recognition", "Artistic Text Recognition",
    "Handwriting Recognition", "Digit String Recognition", "Non-Semantic Text Recognition",
    "Scene Text-centric VQA", "Doc-oriented VQA", "Key Information Extraction",
    "Handwritten Mathematical Expression Recognition",
)  # fmt: skip


def _fold(text: str) -> str:
    """Full-width ASCII (U+FF01..U+FF5E) and the ideographic space to their half-width forms."""
    return "".join(
        " " if ch == "\u3000" else chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in text
    )


def ocrbench_correct(prediction: str, answers: Sequence[str], dataset: str) -> bool:
    for answer in answers:
        pred, gold = (prediction, str(answer)) if dataset == "HME100k" else (_fold(prediction), _fold(str(answer)))
        if dataset == "HME100k":
            if gold.strip().replace("\n", " ").replace(" ", "") in pred.strip().replace("\n", " ").replace(" ", ""):
                return True
        elif gold.lower().strip().replace("\n", " ") in pred.lower().strip().replace("\n", " "):
            return True
    return False


@dataclass(frozen=True)
class OCRBenchItem:
    question_type: str
    dataset: str
    answers: tuple[str, ...]
    prediction: str


@dataclass(frozen=True)
class OCRBenchScore:
    per_category: dict[str, int]  # correct answers per category
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """Correct over scored items (on the full set, the paper's number / 1000)."""
        return self.correct / self.total


def score_ocrbench(items: Iterable[OCRBenchItem]) -> OCRBenchScore:
    counts: Counter[str] = Counter()
    total = 0
    for item in items:
        if item.question_type not in CATEGORIES:
            raise ValueError(f"OCRBench question_type {item.question_type!r} is not one of {CATEGORIES}")
        total += 1
        counts[item.question_type] += ocrbench_correct(item.prediction, item.answers, item.dataset)
    if not total:
        raise ValueError("OCRBench needs at least one item")
    return OCRBenchScore({c: counts[c] for c in CATEGORIES}, sum(counts.values()), total)
