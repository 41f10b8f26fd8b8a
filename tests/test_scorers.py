"""Each scorer against hand-computed cases from its benchmark's official definition."""

from __future__ import annotations

import pytest

from horizon.benchmarks.anls import anls
from horizon.benchmarks.choices import read_letter, row_options
from horizon.benchmarks.exact import exact_match
from horizon.benchmarks.mmbench import MMBenchItem, mmbench_cells, score_mmbench
from horizon.benchmarks.mme import MMEItem, parse_yes_no, score_mme
from horizon.benchmarks.ocrbench import OCRBenchItem, ocrbench_correct, score_ocrbench
from horizon.benchmarks.pope import parse_pope, score_pope
from horizon.benchmarks.scienceqa import score_scienceqa_item
from horizon.benchmarks.text import levenshtein, normalize_vqa_answer
from horizon.benchmarks.textvqa import vqa_accuracy


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("The Cat.", "cat"), ("two dogs", "2 dogs"), ("isnt", "isn't"), ("1,000", "1000"), ("3.5", "3.5"),
        ("coca-cola", "coca cola"), ("Yes!", "yes"), ("a man's hat", "man 's hat"), ("none", "0"),
    ],
)  # fmt: skip
def test_vqa_normaliser(raw, norm):
    assert normalize_vqa_answer(raw) == norm


def test_vqa_accuracy_leave_one_out():
    # 7 of 10 say "stop": leaving out a "stop" leaves 6 matches (1.0), leaving out another leaves 7 (1.0) -> 1.0
    assert vqa_accuracy("Stop.", ["stop"] * 7 + ["go"] * 3) == 1.0
    # 2 of 10: leaving out one of them leaves 1 match (1/3), leaving out another answer leaves 2 (2/3)
    # -> (2·1/3 + 8·2/3) / 10 = 0.6
    assert vqa_accuracy("go", ["go"] * 2 + ["stop"] * 8) == pytest.approx(0.6)
    assert vqa_accuracy("walk", ["stop"] * 10) == 0.0


def test_levenshtein_and_anls():
    assert levenshtein("kitten", "sitting") == 3 and levenshtein("", "abc") == 3
    assert anls("Kitten", ["kitten"]) == 1.0
    assert anls("sitting", ["kitten"]) == pytest.approx(4 / 7)  # NL = 3/7 < 0.5 -> 1 - 3/7
    assert anls("abcd", ["abce"]) == pytest.approx(0.75)
    assert anls("ab", ["cd"]) == 0.0  # NL = 1
    assert anls("abcd", ["abxy"]) == 0.5  # NL = 0.5 exactly: kept (lmms-eval and the RRC script: below 0.5 is 0)
    assert anls("1", ["10"]) == 0.5 and anls("5", ["5%"]) == 0.5  # the cases: half an edit away
    assert anls("hello  world ", ["xx", "Hello world"]) == 1.0  # best over answers, whitespace normalised
    # divided by the raw lengths: "  ab " is 5 characters raw, 2 normalised; one edit from "abc" (3)
    assert anls("  ab ", ["abc"]) == pytest.approx(1 - 1 / 5)
    assert anls("straße", ["STRASSE"]) == pytest.approx(1 - 2 / 7)  # upper-cased: ß counts as SS


def test_mme_parse_and_score():
    assert [parse_yes_no(p) for p in ["Yes.", "no", "y", "Yes, it is", "Nope", "maybe"]] == [
        "yes", "no", "yes", "yes", "no", "other",
    ]  # fmt: skip
    items = [
        MMEItem("img1", "existence", "Yes", "Yes"), MMEItem("img1", "existence", "No", "No"),  # both right
        MMEItem("img2", "existence", "Yes", "Yes"), MMEItem("img2", "existence", "No", "Yes"),  # one right
        MMEItem("img3", "code_reasoning", "Yes", "no"), MMEItem("img3", "code_reasoning", "No", "no"),
    ]  # fmt: skip
    s = score_mme(items)
    # existence: acc 3/4, acc+ 1/2 -> 125; code_reasoning: acc 1/2, acc+ 0 -> 50
    assert s.categories == {"existence": 125.0, "code_reasoning": 50.0}
    assert (s.perception, s.cognition, s.total) == (125.0, 50.0, 175.0)


def test_mme_refuses_split_pairs_and_unknown_categories():
    with pytest.raises(ValueError, match="has 1 answers; each image needs its 2"):
        score_mme([MMEItem("img1", "color", "Yes", "Yes")])
    with pytest.raises(ValueError, match="category 'colour'"):
        score_mme([MMEItem("img1", "colour", "Yes", "Yes")])


def test_pope_official_extraction_and_metrics():
    assert parse_pope("No, there is not.") == "no" and parse_pope("There is not a dog") == "no"
    assert parse_pope("Yes. No doubt.") == "yes" and parse_pope("Yes, there is.") == "yes"
    preds = ["Yes", "Yes", "No", "No", "Yes", "Yes"]
    gold = ["yes", "yes", "yes", "no", "no", "no"]
    s = score_pope(preds, gold)
    # TP 2, FN 1, TN 1, FP 2: acc 3/6, precision 2/4, recall 2/3, F1 4/7, yes-ratio 4/6
    assert s.accuracy == 0.5 and s.precision == 0.5 and s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(4 / 7) and s.yes_ratio == pytest.approx(4 / 6)


def test_pope_yes_ratio_is_from_predictions_not_ground_truth():
    # an always-"yes" model on a balanced set: lmms-eval's yes-ratio reads the ground truth (0.5); ours 1.0
    s = score_pope(["yes"] * 4, ["yes", "no", "yes", "no"])
    assert s.yes_ratio == 1.0 and s.accuracy == 0.5 and s.recall == 1.0


def test_letter_reading_as_lmms_eval_static():
    cells = {"A": "a red apple", "B": "a banana", "C": "cherry", "D": None}
    assert read_letter("B", cells) == "B"
    assert read_letter("(C) cherry", cells) == "C"
    assert read_letter("The answer is B.", cells) == "B"
    assert read_letter("The answer is A.", cells) == "A"  # "A." is a form of its own: not the article
    assert read_letter("A, B", cells) == "B"  # "B" stands alone once; "A," is no bare letter
    assert read_letter("I think it is a banana", cells) == "B"  # a lone article "A" in a long answer is text
    assert read_letter("A or B", cells) == "A"  # two bare letters: the ranked search ranks the start above the end
    assert read_letter("E", cells) == "E"  # can_infer_option reads A-E whatever the row has (then it is wrong)
    assert read_letter("no idea", cells) is None
    assert row_options({"A": "x", "B": "y"}) == {"A": "x", "B": "y", "C": "nan", "D": "nan"}  # missing: "nan"
    assert mmbench_cells({"A": "x", "B": None, "C": float("nan")}) == {"A": "x", "B": None, "C": None, "D": "nan"}


def test_scienceqa():
    choices = ["cat", "dog", "bird"]
    assert score_scienceqa_item("B", choices, 1) == 1.0 and score_scienceqa_item(" b\n", choices, 1) == 1.0
    assert score_scienceqa_item("B.", choices, 2) == 0.0 and score_scienceqa_item("C. a bird", choices, 2) == 1.0
    # lmms-eval reads a bare letter or "X." only: these name the right option and score 0 there
    for said in ("(C)", "C)", "The answer is C", "It is a bird", "c.", "C, a bird"):
        assert score_scienceqa_item(said, choices, 2) == 0.0, said
    with pytest.raises(ValueError, match="answer index 3"):
        score_scienceqa_item("A", choices, 3)


def test_exact_match_gqa_ocrvqa():
    assert exact_match("Yes.", "yes") == 1.0 and exact_match(" left side\n", "Left side") == 1.0
    assert exact_match("the left", "left") == 0.0
    # lmms-eval normalises no whitespace inside: "no ." is "no " there, and doubled spaces stay doubled
    assert exact_match("no .", "no") == 0.0 and exact_match("left  side", "Left side") == 0.0


def test_ocrbench_rules_and_no_global_state():
    assert ocrbench_correct("The text says HELLO world", ["hello"], "IIIT5K")
    assert ocrbench_correct("ＨＥＬＬＯ", ["hello"], "IIIT5K")  # full-width folded
    assert ocrbench_correct("x ^ { 2 } + 1", ["x^{2}+1"], "HME100k")  # spaces removed
    assert not ocrbench_correct("X^{2}+1", ["x^{2}+1"], "HME100k")  # but case kept
    items = [
        OCRBenchItem("Regular Text Recognition", "IIIT5K", ("cat",), "Cat"),
        OCRBenchItem("Regular Text Recognition", "IIIT5K", ("dog",), "cat"),
        OCRBenchItem("Doc-oriented VQA", "docVQA", ("42",), "It is 42."),
    ]
    first, second = score_ocrbench(items), score_ocrbench(items)
    assert first == second and first.correct == 2 and first.total == 3
    assert first.per_category["Regular Text Recognition"] == 1 and first.per_category["Doc-oriented VQA"] == 1


def test_mmbench_circular():
    cells = {"A": "red", "B": "blue", "C": None, "D": None}
    turned = {"A": "blue", "B": "red", "C": None, "D": None}
    items = [
        MMBenchItem(7, cells, "A", "A"), MMBenchItem(1_000_007, turned, "B", "B"),  # group 7 right
        MMBenchItem(8, cells, "B", "B"), MMBenchItem(1_000_008, turned, "A", "B"),  # group 8 wrong
        MMBenchItem(1_000_009, cells, "A", "A"),  # no main row 9: not scored (lmms-eval's data_main)
    ]  # fmt: skip
    assert score_mmbench(items) == 50.0
    with pytest.raises(ValueError, match="answer 'C' is not an option"):
        score_mmbench([MMBenchItem(1, cells, "C", "A")])
    with pytest.raises(ValueError, match="at least one main row"):
        score_mmbench([MMBenchItem(1_000_001, cells, "A", "A")])
