"""horizon's ``lmms-eval`` scorers against lmms-eval 0.7.3's own task functions, answer by answer (issue 33).

Each check feeds at least 1,000 generated answers (tests/answers.py) through the benchmark as horizon runs it (its
registered spec: samples from rows, ``cut`` for a family, ``score`` and ``unit_values``) and through lmms-eval's
``process_results`` and aggregations, and counts the answers compared, the equal ones and each documented
deviation. ``python -m tests_lmms.differential`` prints the table (the lmms-eval venv of tests_lmms).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from horizon.benchmarks.base import Sample
from horizon.benchmarks.fixtures import RED
from horizon.benchmarks.registry import BENCHMARKS
from tests.answers import answers_for

FAMILY = "llava"  # cut() for LLaVA: strip only (Qwen cuts "ASSISTANT:" too: tests/test_wrappers.py)


@dataclass
class Count:
    compared: int = 0
    equal: int = 0
    deviations: dict[str, int] = field(default_factory=dict)  # documented name -> answers

    def add(self, same: bool) -> None:
        self.compared += 1
        self.equal += same


def _samples(name: str, rows: Sequence[dict[str, Any]]) -> list[Sample]:
    return BENCHMARKS.get(name).samples_of(rows)


def _said(name: str, answers: Sequence[str]) -> list[str]:
    bench = BENCHMARKS.get(name)
    return [bench.cut(a, FAMILY) for a in answers]


# -- MME --------------------------------------------------------------------------------------------
def mme() -> Count:
    """Every answer given to both questions of one image per category cycle; each pair's score (acc + acc+, as
    ``mme_aggregate_results`` sums it) from horizon's unit values and from lmms-eval's aggregation of that pair."""
    from lmms_eval.tasks.mme import utils as theirs

    answers = answers_for(["Yes", "No", "yes", "no", "Yes, it is.", "No, it is not.", "Not sure."], n=1001)
    categories = ["color", "count", "code_reasoning", "OCR"]
    count = Count()
    bench = BENCHMARKS.get("mme")
    for i, (a, b) in enumerate(itertools.pairwise(answers)):
        category = categories[i % len(categories)]
        rows = [{"question_id": f"{i}.png", "image": RED, "question": "Is it? Please answer yes or no.",
                 "answer": gold, "category": category} for gold in ("Yes", "No")]  # fmt: skip
        samples, said = _samples("mme", rows), _said("mme", [a, b])
        ours = bench.score(samples, said)
        results = [theirs.mme_process_results(row, [s]) for row, s in zip(rows, said, strict=True)]
        key = next(iter(results[0]))
        value = theirs.mme_aggregate_results([r[key] for r in results])
        mine = ours["perception"] if key == "mme_perception_score" else ours["cognition"]
        count.add(abs(mine - value) < 1e-9)
    return count


# -- POPE -------------------------------------------------------------------------------------------
def pope() -> Count:
    """Each answer against a "yes" and a "no" question (accuracy per answer), then every metric on all of them."""
    from lmms_eval.tasks.pope import utils as theirs

    answers = answers_for(["yes", "no", "Yes", "No", "Yes, there is.", "No, there is not.", "not", "nope"])
    rows = [{"question_id": k, "image": RED, "question": "Is there a cat?", "answer": gold, "category": "random"}
            for k, gold in enumerate(g for _ in answers for g in ("yes", "no"))]  # fmt: skip
    said = _said("pope", [a for a in answers for _ in (0, 1)])
    samples = _samples("pope", rows)
    bench = BENCHMARKS.get("pope")
    results = [theirs.pope_process_results(row, [s]) for row, s in zip(rows, said, strict=True)]
    units = bench.unit_values(samples, said)
    count = Count()
    for sample, result in zip(samples, results, strict=True):
        count.add(units[sample.group] == result["pope_accuracy"]["score"])
    ours = bench.score(samples, said)
    whole = {m: getattr(theirs, f"pope_aggregate_{f}")([r[f"pope_{f}"] for r in results]) * 100
             for m, f in (("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"), ("f1", "f1_score"),
                          ("yes_ratio", "yes_ratio"))}  # fmt: skip
    if any(abs(ours[m] - whole[m]) > 1e-9 for m in whole):
        count.deviations["aggregate differs"] = 1
    return count


# -- TextVQA ----------------------------------------------------------------------------------------
TEXTVQA_GOLDS = [["stop"] * 7 + ["stop sign"] * 3, ["two", "2", "2", "two", "2", "2", "two", "2", "2", "2"],
                 ["coca cola", "coca-cola", "coke", "coca cola", "coca cola", "cocacola", "coca cola", "coke",
                  "coca cola", "coca-cola"], ["3.5", "3.5", "3.5", "three and a half", "3.5", "3.5", "3.5", "3.5",
                  "3.5", "3.50"], ["don't", "dont", "do not", "don't", "don't", "dont", "don't", "don't",
                  "don't", "don't"], ["the man", "man", "a man", "man", "man", "man", "the man", "man", "man",
                  "man"]]  # fmt: skip


def textvqa() -> Count:
    from lmms_eval.tasks.textvqa.utils import textvqa_process_results

    count = Count()
    for k, golds in enumerate(TEXTVQA_GOLDS):
        answers = answers_for(sorted(set(golds)), n=200, seed=k)
        rows = [{"question_id": str(i), "image": RED, "question": "what is it?", "answers": golds, "ocr_tokens": []}
                for i in range(len(answers))]  # fmt: skip
        samples, said = _samples("textvqa", rows), _said("textvqa", answers)
        units = BENCHMARKS.get("textvqa").unit_values(samples, said)
        for sample, s in zip(samples, said, strict=True):
            theirs = textvqa_process_results({"answers": list(golds), "question_id": 1}, [s])["exact_match"]
            count.add(abs(units[sample.group] - theirs) < 1e-12)
    return count


# -- OCRBench ---------------------------------------------------------------------------------------
OCRBENCH = [("IIIT5K", "Regular Text Recognition", ["coffee"]), ("HME100k", "Handwritten Mathematical Expression "
            "Recognition", ["x^{2}+1"]), ("docVQA", "Doc-oriented VQA", ["$12.50", "12.50"]),
            ("ChartQA", "Key Information Extraction", ["ＣＡＴ 3"])]  # fmt: skip


def ocrbench() -> Count:
    from lmms_eval.tasks.ocrbench.utils import ocrbench_process_results

    count = Count()
    for k, (dataset, kind, golds) in enumerate(OCRBENCH):
        answers = answers_for(golds, n=300, seed=k)
        rows = [{"dataset": dataset, "image": RED, "question": "what?", "question_type": kind, "answer": golds}
                for _ in answers]  # fmt: skip
        samples, said = _samples("ocrbench", rows), _said("ocrbench", answers)
        units = BENCHMARKS.get("ocrbench").unit_values(samples, said)
        for sample, s, row in zip(samples, said, rows, strict=True):
            theirs = ocrbench_process_results(row, [s])["ocrbench_accuracy"]["score"]
            count.add(units[sample.group] == theirs)
    return count


# -- MMBench EN / CN --------------------------------------------------------------------------------
MMBENCH_CELLS = [{"A": "red", "B": "blue", "C": "green", "D": "yellow"}, {"A": "a cat", "B": "a dog"},
                 {"A": "Yes", "B": "No", "C": None}, {"A": "banana", "B": "an apple", "C": "nan", "D": None},
                 {"A": "B", "B": "A", "C": "(C)", "D": "D."}, {"A": "红色", "B": "蓝色", "C": "绿色", "D": "选项"}]  # fmt: skip


def _mmbench(name: str) -> Count:
    """Each answer alone in a circular group of one (index < 1e6) for every answer letter of every cell set, scored
    by ``MMBench_Evaluator.eval_result(..., "static")``; each group is its own category, so lmms-eval's category
    hit rates give its verdict per answer, and horizon's unit values give horizon's."""
    from lmms_eval.tasks.mmbench import cn_utils, en_utils

    utils = en_utils if name == "mmbench-en" else cn_utils
    letters = ["A", "B", "C", "D", "E"]
    forms = [f.format(x) for x in letters for f in ("{}", "({})", "{}.", "{})", "The answer is {}.", "{}:", "{},",
                                                     ":{}", "{}. ", "Option {}", "{} and B", "选{}", "答案是{}")]  # fmt: skip
    count = Count()
    for k, cells in enumerate(MMBENCH_CELLS):
        options = [str(v) for v in cells.values() if v is not None]
        answers = answers_for([*forms, *options, *(f"{x}. {o}" for x, o in zip(letters, options, strict=False))],
                              seed=k)  # fmt: skip
        answers = random.Random(k).sample(answers, 250)  # eval_result is quadratic in the rows: a sample of them
        golds = [x for x, v in cells.items() if v is not None and v != "nan"]
        rows, said, results = [], [], []
        for i, (answer, gold) in enumerate(itertools.product(answers, golds)):
            row = {"index": i, "image": RED, "question": "Which?", "answer": gold, "hint": "nan", "category": f"g{i}",
                   "L2-category": "x", "source": "s", "split": "dev", **{c: v for c, v in cells.items()}}  # fmt: skip
            rows.append(row)
            said.append(BENCHMARKS.get(name).cut(answer, FAMILY))
            results.append(utils.mmbench_process_results(row, [said[-1]])["gpt_eval_score"])
        with contextlib.redirect_stdout(io.StringIO()):  # it prints every category's accuracy
            _, per_category, _ = utils.mmbench_evaluator.eval_result(results, eval_method="static")
        samples = _samples(name, rows)
        units = BENCHMARKS.get(name).unit_values(samples, said)
        for sample, row in zip(samples, rows, strict=True):
            count.add(units[sample.group] == per_category[row["category"]])
    return count


def mmbench_en() -> Count:
    return _mmbench("mmbench-en")


def mmbench_cn() -> Count:
    return _mmbench("mmbench-cn")


# -- ANLS, ScienceQA, GQA / OCR-VQA -----------------------------------------------------------------
ANLS_GOLDS = [["10"], ["5%"], ["kitten", "Kitten"], ["stop sign"], ["1,000", "1000"], ["coca-cola"], ["straße"],
              ["Dr. J. Smith", "J. Smith"], ["$25.00", "25"], ["March 3, 1999"], ["yes"]]  # fmt: skip


def _anls(name: str) -> Count:
    from lmms_eval.api.metrics import anls as their_anls

    count = Count()
    bench = BENCHMARKS.get(name)
    for golds in ANLS_GOLDS:
        answers = answers_for(golds, n=100)
        rows = [{"questionId": str(i), "image": RED, "question": "q?", "answers": golds} for i in range(len(answers))]
        samples, said = _samples(name, rows), _said(name, answers)
        units = bench.unit_values(samples, said)
        for sample, s in zip(samples, said, strict=True):
            count.add(abs(units[sample.group] - their_anls(golds, [s])["anls"]) < 1e-12)
    return count


def docvqa() -> Count:
    return _anls("docvqa")


def infovqa() -> Count:
    return _anls("infovqa")


SQA_CHOICES = [["cat", "dog", "bird"], ["A", "B"], ["true", "false"], ["1", "2", "3", "4", "5"],
               ["the sun", "a moon", "an apple", "B.", "(C)"]]  # fmt: skip


def scienceqa() -> Count:
    from lmms_eval.tasks.scienceqa.utils import sqa_process_results

    count = Count()
    bench = BENCHMARKS.get("scienceqa-img")
    for choices in SQA_CHOICES:
        letters = [chr(ord("A") + i) for i in range(len(choices))]
        forms = [f(x) for x in letters for f in (str, str.lower, "({})".format, "{})".format, "{}.".format,
                                                "The answer is {}.".format, "{}: ".format)]  # fmt: skip
        answers = answers_for([*forms, *choices, *(f"{x}. {c}" for x, c in zip(letters, choices, strict=True))],
                              n=200)  # fmt: skip
        for k in range(len(choices)):
            rows = [{"image": RED, "question": "q?", "choices": choices, "answer": k, "hint": ""} for _ in answers]
            samples, said = _samples("scienceqa-img", rows), _said("scienceqa-img", answers)
            units = bench.unit_values(samples, said)
            for sample, s in zip(samples, said, strict=True):
                theirs = sqa_process_results({"choices": choices, "answer": k}, [s])["exact_match"]
                count.add(units[sample.group] == theirs)
    return count


GQA_GOLDS = ["no", "yes", "left", "black and white", "t-shirt", "Dr. Pepper", "3", "1,000", "man's", "straße"]


def _exact(name: str) -> Count:
    from lmms_eval.api.metrics import exact_match_hf_evaluate

    count = Count()
    bench = BENCHMARKS.get(name)
    for gold in GQA_GOLDS:
        answers = answers_for([gold], n=100)
        rows = [{"question_id": str(i), "image": RED, "question": "q?", "answer": gold} for i in range(len(answers))]
        samples, said = _samples(name, rows), _said(name, answers)
        units = bench.unit_values(samples, said)
        for sample, s in zip(samples, said, strict=True):
            theirs = exact_match_hf_evaluate(predictions=[s], references=[gold], ignore_case=True,
                                             ignore_punctuation=True)["exact_match"]  # fmt: skip
            count.add(units[sample.group] == theirs)
    return count


def gqa() -> Count:
    return _exact("gqa")


def ocr_vqa() -> Count:
    """OCR-VQA has no lmms-eval task: horizon scores it by lmms-eval's exact match, as GQA."""
    return _exact("ocr-vqa")


CHECKS: dict[str, Callable[[], Count]] = {
    "mme": mme, "pope": pope, "textvqa": textvqa, "scienceqa-img": scienceqa, "mmbench-en": mmbench_en,
    "mmbench-cn": mmbench_cn, "gqa": gqa, "ocr-vqa": ocr_vqa, "docvqa": docvqa, "infovqa": infovqa,
    "ocrbench": ocrbench,
}  # fmt: skip
DEVIATIONS: dict[str, dict[str, int]] = {name: {} for name in CHECKS}  # documented differences: none today


def main() -> None:
    print(f"{'benchmark':<14} {'compared':>9} {'equal':>9}  deviations (lmms-eval 0.7.3, protocol lmms-eval)")
    for name, check in CHECKS.items():
        c = check()
        print(f"{name:<14} {c.compared:>9,} {c.equal:>9,}  {c.deviations or 'none'}")


if __name__ == "__main__":
    main()
