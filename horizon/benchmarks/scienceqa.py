"""ScienceQA-IMG (Lu et al., 2022): multiple choice with an image; the prediction names an option letter.

Scoring: the letter is extracted by the rules of ``choices.extract_choice`` (a lone letter, "(B)", "C.",
or the one option whose text the answer contains) and compared with the answer letter; accuracy is the
mean (lmms-eval ``sqa_process_results`` accepts a bare letter or ``X.``; LLaVA's script falls back to a
random letter, which we never do).
"""

from __future__ import annotations

from collections.abc import Sequence

from horizon.benchmarks.choices import extract_choice

LETTERS = "ABCDEFGHIJ"


def option_letters(choices: Sequence[str]) -> dict[str, str]:
    if not 2 <= len(choices) <= len(LETTERS):
        raise ValueError(f"ScienceQA question has {len(choices)} choices; expected 2..{len(LETTERS)}")
    return {LETTERS[i]: c for i, c in enumerate(choices)}


def score_scienceqa_item(prediction: str, choices: Sequence[str], answer: int) -> float:
    """1.0 if the prediction picks choice ``answer`` (0-based), else 0.0."""
    options = option_letters(choices)
    if not 0 <= answer < len(choices):
        raise ValueError(f"ScienceQA answer index {answer} is outside 0..{len(choices) - 1}")
    return float(extract_choice(prediction, options) == LETTERS[answer])
