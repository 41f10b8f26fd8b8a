"""MMBench EN / CN (Liu et al., 2023): multiple choice with circular evaluation, scored as lmms-eval 0.7.3's
``mmbench_en_dev_static`` task does (``MMBench_Evaluator.eval_result`` with ``eval_method="static"``,
lmms_eval/tasks/mmbench/mmbench_evals.py l.252-304 and ``eval_sub_data`` l.206-234).

A question appears in several rows whose options are rotated. Each row whose ``index`` is below 1,000,000 opens a
circular group made of every row with the same ``index % 1_000_000``; the group counts as right only if every one
of its rows reads as its answer (:func:`horizon.benchmarks.choices.read_letter`: rules only, no GPT judge, no
random letter, so the score is deterministic). Rows whose group has no such main row are not scored, as there.
Score: percentage of groups right. Under the ``paper`` protocol the question is LLaVA's (:func:`llava_question`);
the release has no MMBench scorer (its scripts only write the submission file,
``scripts/convert_mmbench_for_submission.py``), so this one scores there too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from horizon.benchmarks.choices import CELL_LETTERS, read_letter, row_options

CIRCULAR = 1_000_000


@dataclass(frozen=True)
class MMBenchItem:
    index: int
    cells: Mapping[str, str | None]  # the row's cells A-D as lmms-eval holds them: "nan" where missing, None: null
    answer: str  # the correct letter
    prediction: str


def mmbench_cells(row: Mapping[str, Any]) -> dict[str, str | None]:
    """A row's cells A-D as lmms-eval's scorer holds them: ``mmbench_process_results`` fills a missing column with
    "nan" (en_utils.py l.104-107), and pandas' ``isna`` makes a null (or NaN) cell no option (``build_choices``)."""
    cells: dict[str, str | None] = {}
    for letter in CELL_LETTERS:
        value = row.get(letter, "nan")
        null = value is None or (isinstance(value, float) and math.isnan(value))
        cells[letter] = None if null else str(value)
    return cells


def circular_group(index: int) -> int:
    return index % CIRCULAR


def score_mmbench(items: Iterable[MMBenchItem]) -> float:
    rows = list(items)
    for item in rows:
        if item.answer not in row_options(item.cells):
            raise ValueError(
                f"MMBench row {item.index}: answer {item.answer!r} is not an option {sorted(row_options(item.cells))}"
            )
    right: dict[int, bool] = {item.index: True for item in rows if item.index < CIRCULAR}
    if not right:
        raise ValueError(f"MMBench needs at least one main row (index below {CIRCULAR:,}); got {len(rows)} rows")
    for item in rows:
        group = circular_group(item.index)
        if group in right and read_letter(item.prediction.strip(), item.cells) != item.answer:
            right[group] = False
    return 100.0 * sum(right.values()) / len(right)


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
