"""MMBench EN / CN (Liu et al., 2023): multiple choice with circular evaluation.

A question appears in several rows whose options are rotated; rows whose ``index % 1_000_000`` agree form
one circular group, and the group counts as right only if every rotation is answered right (lmms-eval
``MMBench_Evaluator.eval_sub_data``). Letters are extracted by ``choices.extract_choice`` (rules only: no
GPT judge, no random fallback, so the score is deterministic). Score: percentage of groups right.
Under the ``paper`` protocol the question is LLaVA's (:func:`llava_question`); the release has no MMBench scorer
(its scripts only write the submission file, ``scripts/convert_mmbench_for_submission.py``), so this one scores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from horizon.benchmarks.choices import extract_choice

CIRCULAR = 1_000_000


@dataclass(frozen=True)
class MMBenchItem:
    index: int
    options: Mapping[str, str]  # letter -> option text, only the options present
    answer: str  # the correct letter
    prediction: str


def circular_group(index: int) -> int:
    return index % CIRCULAR


def score_mmbench(items: Iterable[MMBenchItem]) -> float:
    groups: dict[int, list[bool]] = defaultdict(list)
    for item in items:
        if item.answer not in item.options:
            raise ValueError(
                f"MMBench row {item.index}: answer {item.answer!r} is not an option {sorted(item.options)}"
            )
        groups[circular_group(item.index)].append(extract_choice(item.prediction, item.options) == item.answer)
    if not groups:
        raise ValueError("MMBench needs at least one item")
    return 100.0 * sum(all(g) for g in groups.values()) / len(groups)


LLAVA_OPTIONS = ("A", "B", "C", "D")  # model_vqa_mmbench.py's all_options


def _is_none(value: str) -> bool:
    """model_vqa_mmbench.py's ``is_none`` on a text cell (NaN cells arrive as "nan", empty ones as "")."""
    return value == "" or value.lower() in ("nan", "none")


def llava_question(question: str, hint: str, options: Mapping[str, str]) -> str:
    """The question ``llava/eval/model_vqa_mmbench.py`` builds (YahongWang1/Information-Horizon@75909b2 ~l.105-108,
    as upstream haotian-liu/LLaVA@c121f04 l.80-88): ``hint + "\\n" + question`` when the hint is not none, then
    ``"\\n{letter}. {option}"`` for the options A-D up to the first missing one (``get_options``); no options
    header line. The single-prediction suffix is the caller's."""
    text = question if _is_none(hint) else f"{hint}\n{question}"
    for letter in LLAVA_OPTIONS:
        option = options.get(letter)
        if option is None or _is_none(option):
            break
        text += f"\n{letter}. {option}"
    return text
