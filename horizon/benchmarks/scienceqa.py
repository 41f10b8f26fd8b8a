"""ScienceQA-IMG (Lu et al., 2022): multiple choice with an image; the prediction names an option letter.

Scoring under ``lmms-eval`` is lmms-eval 0.7.3's ``sqa_process_results`` (``lmms_eval/tasks/scienceqa/utils.py``
l.34-44): the stripped answer is the answer letter itself (any case), or it starts with an upper-case letter and a
period ("B." or "B. a bird"), which is read as the letter; anything else ("(B)", "B)", "The answer is B", the
option's text) is wrong. Accuracy is the mean. The ``paper`` protocol parses as LLaVA's ``eval_science_qa.py`` does
(:func:`parse_scienceqa_llava`; its random fallback letter is never used).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LETTERS = "ABCDEFGHIJ"


def option_letters(choices: Sequence[str]) -> dict[str, str]:
    if not 2 <= len(choices) <= len(LETTERS):
        raise ValueError(f"ScienceQA question has {len(choices)} choices; expected 2..{len(LETTERS)}")
    return {LETTERS[i]: c for i, c in enumerate(choices)}


def sqa_question(question: str, hint: str, choices: Sequence[str]) -> str:
    """"Context: {hint}\n" when there is a hint, the question, then "\n{letter}. {choice}" per choice."""
    context = f"Context: {hint}\n" if hint else ""
    options = "\n".join(f"{LETTERS[k]}. {c}" for k, c in enumerate(choices))
    return f"{context}{question}\n{options}"


def score_scienceqa_item(prediction: str, choices: Sequence[str], answer: int) -> float:
    """1.0 if the prediction picks choice ``answer`` (0-based) by lmms-eval's rule (module docstring), else 0.0."""
    option_letters(choices)  # refuses a question with too few or too many choices
    if not 0 <= answer < len(choices):
        raise ValueError(f"ScienceQA answer index {answer} is outside 0..{len(choices) - 1}")
    target = LETTERS[answer].lower()
    pred = prediction.strip()
    if pred.lower() == target:
        return 1.0
    if len(pred) >= 2 and pred[0].isupper() and pred[1] == ".":
        return float(pred[0].lower() == target)
    return 0.0


LLAVA_OPTIONS = ("A", "B", "C", "D", "E")  # eval_science_qa.py's --options default (membership, not substring)
_ANSWER_IS = re.compile(r"The answer is ([A-Z]).")


def parse_scienceqa_llava(prediction: str) -> str:
    """The option letter LLaVA's ``llava/eval/eval_science_qa.py`` reads (haotian-liu/LLaVA@c121f04 l.65-75; the
    release's scripts run their copy, which its index does not hold, so upstream's is read), or "FAILED": the whole answer is one of A-E; else it is
    at least 3 characters, starts with one and then ". "; else ``re.findall(r'The answer is ([A-Z]).')`` finds
    exactly one letter (the "." matches any character, so the letter must not end the answer)."""
    if prediction in LLAVA_OPTIONS:
        return prediction
    if len(prediction) >= 3 and prediction[0] in LLAVA_OPTIONS and prediction[1:3] == ". ":
        return prediction[0]
    found = _ANSWER_IS.findall(prediction)
    return found[0] if len(found) == 1 else "FAILED"


def score_scienceqa_llava(prediction: str, choices: Sequence[str], answer: int) -> float:
    """1.0 if :func:`parse_scienceqa_llava` names choice ``answer`` (0-based): ``get_pred_idx`` (l.28-36) maps a
    letter among the first ``len(choices)`` options to its index and anything else to -1 (wrong, never random).
    The mean over the image questions is the script's ``IMG-Accuracy`` (l.99-105), the number the paper reports
    (model_vqa_science.py skips the text-only questions)."""
    option_letters(choices)  # refuses a question with too few or too many choices
    if not 0 <= answer < len(choices):
        raise ValueError(f"ScienceQA answer index {answer} is outside 0..{len(choices) - 1}")
    letter = parse_scienceqa_llava(prediction)
    return float(letter in LLAVA_OPTIONS[: len(choices)] and LLAVA_OPTIONS.index(letter) == answer)
