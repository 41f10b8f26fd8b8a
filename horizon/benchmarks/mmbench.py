"""MMBench EN / CN (Liu et al., 2023): multiple choice with circular evaluation.

A question appears in several rows whose options are rotated; rows whose ``index % 1_000_000`` agree form
one circular group, and the group counts as right only if every rotation is answered right (lmms-eval
``MMBench_Evaluator.eval_sub_data``). Letters are extracted by ``choices.extract_choice`` (rules only: no
GPT judge, no random fallback, so the score is deterministic). Score: percentage of groups right.
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
