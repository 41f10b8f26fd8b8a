"""The benchmarks' ``paper`` variants: the question text, scorers and lengths of the authors' release.

Golden strings are transcribed by hand from the release (YahongWang1/Information-Horizon@75909b2) and the LLaVA
files it runs (haotian-liu/LLaVA@c121f04); docs/protocol.md lists the sources.
"""

from __future__ import annotations

import pytest

from horizon.benchmarks.base import Benchmark, Sample
from horizon.benchmarks.fixtures import rows
from horizon.benchmarks.mmbench import llava_question
from horizon.benchmarks.mme import convert_answer_to_mme, parse_pred_ans, parse_yes_no, parse_yes_no_llava
from horizon.benchmarks.pope import score_pope, score_pope_splits
from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.scienceqa import parse_scienceqa_llava, score_scienceqa_item, score_scienceqa_llava
from horizon.benchmarks.textvqa import m4c_accuracy, vqa_accuracy
from horizon.models.conversation import vicuna_v1
from horizon.protocol import PROTOCOLS

PAPER = "paper"
PAPER_SOURCE_COMMIT = "75909b2936a13d7214e83514f0bc0cb9cc91139e"
RELEASED = ("mme", "pope", "scienceqa-img", "textvqa", "textvqa-ocr", "mmbench-en", "mmbench-cn")
SINGLE = "\nAnswer the question using a single word or phrase."
LETTER = "\nAnswer with the option's letter from the given choices directly."


def samples(name: str) -> list[Sample]:
    bench = BENCHMARKS.get(name)
    return [bench.to_sample(row, i) for i, row in enumerate(rows(name))]


def paper_prompt(name: str, row: int = 0) -> str:
    return BENCHMARKS.get(name).under(PAPER).prompt(samples(name)[row], "llava")


def test_mme_question_is_llava_mme_jsonl_text():
    # llava_mme.jsonl: "Please answer yes or no." is not in the text (convert_answer_to_mme.py appends it back
    # before looking the question up in MME's ground truth), then the single-word instruction
    assert (
        paper_prompt("mme") == "Is there a red square in the image?\nAnswer the question using a single word or phrase."
    )


def test_pope_question_is_llava_pope_test_jsonl_text():
    # llava_pope_test.jsonl: the POPE question, "\n", the single-word instruction
    assert paper_prompt("pope") == "Is there a cat in the image?\nAnswer the question using a single word or phrase."


def test_textvqa_question_is_llava_ocr_jsonl_text():
    # llava_textvqa_val_v051_ocr.jsonl (format parsed by eval_textvqa.py prompt_processor, l.17-31):
    # "{Question}\nReference OCR token: {tokens joined by ', '}\nAnswer the question using a single word or phrase."
    assert paper_prompt("textvqa-ocr") == (
        "What does the sign say?\nReference OCR token: STOP, SIGN\nAnswer the question using a single word or phrase."
    )
    # no OCR tokens: the line stays (every prompt has 3 lines: model_vqa_loader.py's LLaVA-1.6 rewrite takes [3])
    assert paper_prompt("textvqa-ocr", 1) == (
        "What brand is it?\nReference OCR token: \nAnswer the question using a single word or phrase."
    )
    # textvqa (no OCR file in the release): lmms-eval's question, the release's scorer and length
    paper = BENCHMARKS.get("textvqa").under(PAPER)
    assert paper.prompt(samples("textvqa")[0], "llava") == "What does the sign say?" + SINGLE


def test_scienceqa_question_is_llava_test_cqm_a_text():
    # llava_test_CQM-A.json "Context: {hint}\n{question}\n{A. ..}", .strip()ed, then model_vqa_science.py
    # --single-pred-prompt adds "\nAnswer with the option's letter from the given choices directly." (~l.83-84)
    assert paper_prompt("scienceqa-img") == (
        "Context: A shape.\nWhich color?\nA. red\nB. blue\n"
        "Answer with the option's letter from the given choices directly."
    )
    assert paper_prompt("scienceqa-img", 1) == (  # no hint: no Context line
        "Which color?\nA. red\nB. blue\nC. green\nAnswer with the option's letter from the given choices directly."
    )


def test_mmbench_question_is_model_vqa_mmbench_text():
    # model_vqa_mmbench.py ~l.105-119: hint "nan" is none, so the question, "\nA. red", "\nB. blue", then
    # --single-pred-prompt: en "\nAnswer with the option's ...", cn (--lang cn) "\n请直接回答选项字母。"
    assert paper_prompt("mmbench-en") == (
        "What color is the square?\nA. red\nB. blue\nAnswer with the option's letter from the given choices directly."
    )
    assert paper_prompt("mmbench-cn") == "What color is the square?\nA. red\nB. blue\n请直接回答选项字母。"
    # a hint goes first on its own line; options stop at the first missing one (get_options breaks)
    assert llava_question("Which?", "A hint.", {"A": "x", "C": "z"}) == "A hint.\nWhich?\nA. x"
    assert llava_question("Which?", "None", {"A": "x", "B": "y"}) == "Which?\nA. x\nB. y"


def test_paper_question_in_the_vicuna_v1_conversation():
    question = paper_prompt("pope")
    assert vicuna_v1(question) == (
        "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
        "detailed, and polite answers to the user's questions. USER: <image>\n"
        "Is there a cat in the image?\nAnswer the question using a single word or phrase. ASSISTANT:"
    )


@pytest.mark.parametrize(
    ("name", "tokens"),
    [("mme", 128), ("pope", 128), ("textvqa", 128), ("textvqa-ocr", 128), ("scienceqa-img", 1024),
     ("mmbench-en", 1024), ("mmbench-cn", 1024)],
)  # fmt: skip
def test_paper_lengths_and_no_stop_strings(name: str, tokens: int):
    paper = BENCHMARKS.get(name).under(PAPER)
    assert paper.protocol == PAPER and paper.max_new_tokens == tokens and paper.until == ()
    for family in ("llava", "qwen2_5_vl"):  # the release decodes to EOS and strips the answer
        assert paper.cut(" Yes\n\nBecause ASSISTANT: it is. ", family) == "Yes\n\nBecause ASSISTANT: it is."
    assert PAPER_SOURCE_COMMIT in paper.variants[PAPER].source


@pytest.mark.parametrize("name", RELEASED)
def test_lmms_eval_is_unchanged(name: str):
    bench = BENCHMARKS.get(name)
    same = bench.under("lmms-eval")
    assert same is bench
    assert (same.prompt, same.score, same.max_new_tokens, same.until) == (
        bench.prompt, bench.score, bench.max_new_tokens, bench.until,
    )  # fmt: skip
    paper = bench.under(PAPER)
    assert paper.metrics == bench.metrics and paper.headline == bench.headline  # reports read either protocol


def test_variant_keys_are_protocols():
    keys = {key for _, bench in BENCHMARKS.items() for key in bench.variants}
    assert keys == {PAPER} and all(key in PROTOCOLS for key in keys)
    assert {name for name, bench in BENCHMARKS.items() if bench.variants} == set(RELEASED)


# -- scorers ------------------------------------------------------------------------------------------
def pope_sample(i: int, split: str, answer: str) -> Sample:
    return Sample(f"{split}/{i}", b"", "Is there a cat?", answer, f"{split}/{i}", {"category": split})


def test_pope_paper_f1_is_the_mean_of_the_splits():
    # adversarial: 4 rows, all answered yes -> TP 2, FP 2: P .5, R 1, F1 2/3, acc .5, yes 1
    # random: 2 rows answered right -> P 1, R 1, F1 1, acc 1, yes .5
    answers = ["yes", "yes", "no", "no", "yes", "no"]
    preds = ["Yes", "Yes", "Yes", "Yes", "Yes", "No"]
    splits = ["adversarial"] * 4 + ["random"] * 2
    mean = score_pope_splits(preds, answers, splits)
    assert mean.f1 == pytest.approx((2 / 3 + 1) / 2)  # 5/6: the release's "Average F1"
    assert (mean.accuracy, mean.precision, mean.recall, mean.yes_ratio) == pytest.approx((0.75, 0.75, 1.0, 0.75))
    pooled = score_pope(preds, answers)  # TP 3, FP 2, FN 0, TN 1: P .6, R 1, F1 .75
    assert pooled.f1 == pytest.approx(0.75) and pooled.accuracy == pytest.approx(4 / 6)
    bench = BENCHMARKS.get("pope")
    rows_ = [pope_sample(i, s, a) for i, (s, a) in enumerate(zip(splits, answers, strict=True))]
    assert bench.under(PAPER).score(rows_, preds)["f1"] == pytest.approx(100 * 5 / 6)
    assert bench.score(rows_, preds)["f1"] == pytest.approx(75.0)
    one = score_pope_splits(preds[:4], answers[:4], splits[:4])  # one split: the pooled score
    assert one == score_pope(preds[:4], answers[:4])


# prediction -> (horizon's lmms-eval parser, the release's converter + calculation.py)
MME_CASES = {
    "Yes": ("yes", "yes"),
    "Yes.": ("yes", "yes"),
    " no": ("no", "no"),  # the converter strips first
    "y": ("yes", "other"),  # a lone letter is no answer to calculation.py
    "n": ("no", "other"),
    "N.": ("no", "other"),  # lmms-eval drops periods first
    "...yes": ("yes", "other"),
    "y.e.s": ("yes", "other"),
    "not sure": ("no", "no"),  # "no" within the first 4 characters
    "Yesterday": ("yes", "yes"),
    "I don't know": ("other", "other"),
}


@pytest.mark.parametrize(("prediction", "expected"), MME_CASES.items())
def test_mme_parsers(prediction: str, expected: tuple[str, str]):
    assert (parse_yes_no(prediction), parse_yes_no_llava(prediction)) == expected


def test_mme_converter_and_calculation():
    assert [convert_answer_to_mme(p) for p in (" Yes, it is.", "NO", "Maybe")] == ["Yes", "No", "maybe"]
    assert parse_pred_ans("   yes") == "other"  # calculation.py alone does not strip: the converter does
    assert parse_yes_no_llava("   yes") == "yes"
    bench = BENCHMARKS.get("mme")
    preds = ["y", "n", "Yes", "No"]  # color pair, code_reasoning pair
    assert bench.score(samples("mme"), preds) == {"total": 400.0, "perception": 200.0, "cognition": 200.0}
    paper = bench.under(PAPER).score(samples("mme"), preds)
    assert paper == {"total": 200.0, "perception": 0.0, "cognition": 200.0}


SQA_CASES = {  # eval_science_qa.py l.65-75
    "A": "A",
    "B. dog": "B",
    "The answer is C.": "C",
    "I think A": "FAILED",
    "A.": "FAILED",  # shorter than 3 characters, no "The answer is"
    "(B)": "FAILED",
    "The answer is C": "FAILED",  # the regex needs a character after the letter
    "The answer is A. The answer is B.": "FAILED",  # two matches (case-sensitive: "the answer is" is none)
    " A": "FAILED",
    "AB": "FAILED",  # membership in the option list, not a substring
}


@pytest.mark.parametrize(("prediction", "letter"), SQA_CASES.items())
def test_scienceqa_llava_parse(prediction: str, letter: str):
    assert parse_scienceqa_llava(prediction) == letter


def test_scienceqa_llava_score():
    choices = ["cat", "dog"]
    assert score_scienceqa_llava("B. dog", choices, 1) == 1.0
    assert score_scienceqa_llava("E", choices, 1) == 0.0  # a letter beyond the choices is wrong (get_pred_idx -1)
    assert score_scienceqa_llava("A.", choices, 0) == 0.0 and score_scienceqa_item("A.", choices, 0) == 1.0
    bench = BENCHMARKS.get("scienceqa-img")
    assert bench.under(PAPER).score(samples("scienceqa-img"), ["A", "The answer is B."]) == {"accuracy": 100.0}
    assert bench.under(PAPER).score(samples("scienceqa-img"), ["A.", "(B)"]) == {"accuracy": 0.0}


TEN = ["stop"] * 7 + ["halt"] * 3
VQA_CASES = [
    ("stop", TEN), ("Halt.", TEN), ("STOP!", TEN), ("go", TEN), ("Two dogs", ["2 dogs"] * 2 + ["two"] * 8),
    ("the Coca-Cola", ["coca cola"] * 4 + ["coke"] * 6), ("3.5", ["3.5"] * 5 + ["3,5"] * 5),
    ("don't", ["dont"] * 3 + ["do not"] * 7), ("a", ["a"] * 10),
]  # fmt: skip


@pytest.mark.parametrize(("prediction", "answers"), VQA_CASES)
def test_m4c_equals_horizon_vqa_accuracy(prediction: str, answers: list[str]):
    assert m4c_accuracy(prediction, answers) == vqa_accuracy(prediction, answers)


def test_m4c_and_lmms_eval_strip_at_most_32_periods():
    # EvalAIAnswerProcessor passes re.UNICODE (32) as the count of its period sub (m4c_evaluator.py l.195; the
    # same line in lmms-eval 0.7.3's tasks/_task_utils/vqa_eval_metric.py l.190)
    from horizon.benchmarks.text import normalize_vqa_answer

    answers = ["x"] * 10
    assert vqa_accuracy("x" + "." * 32, answers) == m4c_accuracy("x" + "." * 32, answers) == 1.0
    assert vqa_accuracy("x" + "." * 33, answers) == m4c_accuracy("x" + "." * 33, answers) == 0.0
    assert normalize_vqa_answer("x" + "." * 33) == "x." and normalize_vqa_answer("x" + "." * 33, max_periods=0) == "x"
    bench: Benchmark = BENCHMARKS.get("textvqa-ocr")
    assert bench.under(PAPER).score(samples("textvqa-ocr"), ["stop", "acme"]) == {"accuracy": 100.0}
