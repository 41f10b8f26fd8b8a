"""Cross-checks against lmms-eval 0.7.3 (tox env ``lmms``; never part of the default install or tests).

1. Our scorers equal lmms-eval's on the same predictions, except where lmms-eval has a known bug or we
   follow the official definition on purpose (each such case is asserted explicitly).
2. ``lmms-eval eval --model horizon_llava`` runs offline on fixture data through the entry-point plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

lmms_eval = pytest.importorskip("lmms_eval", reason="install the tox env `lmms` (tox -e lmms) to run these")

from horizon.benchmarks.anls import anls  # noqa: E402
from horizon.benchmarks.fixtures import rows, write_parquet  # noqa: E402
from horizon.benchmarks.mme import MMEItem, parse_yes_no, score_mme  # noqa: E402
from horizon.benchmarks.ocrbench import ocrbench_correct  # noqa: E402
from horizon.benchmarks.pope import score_pope  # noqa: E402
from horizon.benchmarks.textvqa import vqa_accuracy  # noqa: E402

PREDICTIONS = ["Yes", "no", "Yes.", "y", "No, it is not", "yes it is", "maybe", "N", "", "NO."]


def test_mme_matches():
    from lmms_eval.tasks.mme import utils as mme

    assert [parse_yes_no(p) for p in PREDICTIONS] == [mme.parse_pred_ans(p) for p in PREDICTIONS]
    docs = [
        {"question_id": f"img{i // 2}", "category": cat, "answer": "Yes" if i % 2 == 0 else "No"}
        for i, cat in enumerate(["color"] * 4 + ["count"] * 4 + ["code_reasoning"] * 2)
    ]
    preds = ["Yes", "No", "Yes", "Yes", "No", "No", "Yes", "No", "no", "no"]
    theirs: dict[str, list] = {}
    for doc, p in zip(docs, preds, strict=True):
        for key, value in mme.mme_process_results(doc, [p]).items():
            theirs.setdefault(key, []).append(value)
    ours = score_mme(
        [MMEItem(d["question_id"], d["category"], d["answer"], p) for d, p in zip(docs, preds, strict=True)]
    )
    assert ours.perception == pytest.approx(mme.mme_aggregate_results(theirs["mme_perception_score"]))
    assert ours.cognition == pytest.approx(mme.mme_aggregate_results(theirs["mme_cognition_score"]))


@pytest.mark.parametrize(
    "prediction", ["Stop", "stop sign", "the stop", "Two", "2", "coca-cola", "It's 3.5!", "don't", "go", "1,000",
                   "stop" + "." * 32, "stop" + "." * 33]  # its processor strips at most 32 periods
)
def test_textvqa_matches(prediction):
    from lmms_eval.tasks.textvqa.utils import textvqa_process_results

    answers = ["stop", "stop", "STOP", "two", "2", "coca cola", "3.5", "dont", "1000", "stop sign"]
    theirs = textvqa_process_results({"answers": list(answers), "question_id": 1}, [prediction])["exact_match"]
    assert vqa_accuracy(prediction, answers) == pytest.approx(theirs)


def test_pope_matches_on_clean_answers_and_differs_on_yes_ratio():
    from lmms_eval.tasks.pope import utils as pope

    preds = ["yes", "yes", "no", "no", "yes", "yes"]
    gold = ["yes", "yes", "yes", "no", "no", "no"]
    results = [pope.pope_process_results({"question_id": i, "answer": g}, [p])["pope_f1_score"]
               for i, (p, g) in enumerate(zip(preds, gold, strict=True))]  # fmt: skip
    ours = score_pope(preds, gold)
    assert ours.accuracy == pytest.approx(pope.pope_aggregate_accuracy(results))
    assert ours.precision == pytest.approx(pope.pope_aggregate_precision(results))
    assert ours.recall == pytest.approx(pope.pope_aggregate_recall(results))
    assert ours.f1 == pytest.approx(pope.pope_aggregate_f1_score(results))
    # lmms-eval's yes-ratio counts the ground truth (0.5 here); the predictions say yes 4 times in 6
    assert pope.pope_aggregate_yes_ratio(results) == pytest.approx(0.5) and ours.yes_ratio == pytest.approx(4 / 6)
    # and lmms-eval scores "Yes." as wrong (exact match); POPE's own rule reads it as yes
    wrong = pope.pope_process_results({"question_id": 0, "answer": "yes"}, ["Yes."])["pope_accuracy"]["score"]
    assert wrong == 0.0 and score_pope(["Yes."], ["yes"]).accuracy == 1.0


ANLS_GOLDS = [["10"], ["5%"], ["kitten", "Kitten"], ["stop sign"], ["1,000", "1000"], ["coca-cola"], ["straße"],
              ["Dr. J. Smith", "J. Smith"], ["$25.00", "25"], ["March 3, 1999"], ["yes"], [""]]  # fmt: skip


@pytest.mark.parametrize("golds", ANLS_GOLDS, ids=lambda g: "|".join(g) or "empty")
def test_anls_equals_lmms_eval_answer_for_answer(golds):
    """ANLS (DocVQA, InfoVQA; both protocols score it so): >= 1,000 generated answers per gold set, each scored by
    horizon and by lmms-eval's own ``lmms_eval.api.metrics.anls``: equal on every one (no documented deviation)."""
    from lmms_eval.api.metrics import anls as their_anls

    from tests.answers import answers_for

    answers = answers_for(golds)
    differ = [a for a in answers if anls(a, golds) != pytest.approx(their_anls(golds, [a])["anls"], abs=1e-12)]
    assert len(answers) >= 1000 and differ == []


SQA_CHOICES = [["cat", "dog", "bird"], ["A", "B"], ["true", "false"], ["1", "2", "3", "4", "5"],
               ["the sun", "a moon", "an apple", "B.", "(C)"]]  # fmt: skip


@pytest.mark.parametrize("choices", SQA_CHOICES, ids=lambda c: "|".join(c))
def test_scienceqa_equals_lmms_eval_answer_for_answer(choices):
    """ScienceQA under lmms-eval: >= 1,000 generated answers per question (letters in every form, the options'
    texts, refusals, ...), for every answer index, scored by horizon and by lmms-eval's ``sqa_process_results``:
    equal on every one."""
    from lmms_eval.tasks.scienceqa.utils import sqa_process_results

    from horizon.benchmarks.scienceqa import score_scienceqa_item

    from tests.answers import answers_for

    letters = [chr(ord("A") + i) for i in range(len(choices))]
    forms = [f(x) for x in letters for f in (str, str.lower, "({})".format, "{})".format, "{}.".format,
                                            "The answer is {}.".format, "{}: ".format)]  # fmt: skip
    answers = answers_for([*forms, *choices, *(f"{x}. {c}" for x, c in zip(letters, choices, strict=True))])
    differ = [(a, k) for k in range(len(choices)) for a in answers
              if score_scienceqa_item(a, choices, k) != sqa_process_results({"choices": choices, "answer": k}, [a])[
                  "exact_match"]]  # fmt: skip
    assert len(answers) >= 1000 and differ == []


GQA_GOLDS = ["no", "yes", "left", "black and white", "t-shirt", "Dr. Pepper", "3", "1,000", "man's", "straße"]


@pytest.mark.parametrize("gold", GQA_GOLDS)
def test_gqa_exact_match_equals_lmms_eval_answer_for_answer(gold):
    """GQA (and OCR-VQA, scored by the same rule): >= 1,000 generated answers per gold answer, stripped as
    lmms-eval's task strips them, scored by its ``exact_match`` metric (ignore_case, ignore_punctuation, as the
    task's yaml sets) and by horizon: equal on every one."""
    from lmms_eval.api.metrics import exact_match_hf_evaluate

    from horizon.benchmarks.exact import exact_match

    from tests.answers import answers_for

    answers = answers_for([gold])
    differ = [a for a in answers if exact_match(a, gold) != exact_match_hf_evaluate(
        predictions=[a.strip()], references=[gold], ignore_case=True, ignore_punctuation=True)["exact_match"]]  # fmt: skip
    assert len(answers) >= 1000 and differ == []


@pytest.mark.parametrize(
    ("pred", "answers", "dataset"),
    [("The word is CAT", ["cat"], "IIIT5K"), ("ＣＡＴ", ["cat"], "IIIT5K"), ("dog", ["cat"], "IIIT5K"),
     ("x ^ 2", ["x^2"], "HME100k"), ("X^2", ["x^2"], "HME100k"), ("a\nb", ["a b"], "docVQA")],
)  # fmt: skip
def test_ocrbench_matches(pred, answers, dataset):
    from lmms_eval.tasks.ocrbench.utils import ocrbench_process_results

    doc = {"answer": answers, "dataset": dataset, "question_type": "Regular Text Recognition"}
    theirs = ocrbench_process_results(doc, [pred])["ocrbench_accuracy"]["score"]
    assert float(ocrbench_correct(pred.strip(), answers, dataset)) == theirs


MME_TASK = """
task: mme_local
dataset_path: parquet
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_visual: !function lmms_eval.tasks.mme.utils.mme_doc_to_visual
doc_to_text: !function lmms_eval.tasks.mme.utils.mme_doc_to_text
doc_to_target: answer
generation_kwargs:
  max_new_tokens: 4
process_results: !function lmms_eval.tasks.mme.utils.mme_process_results
metric_list:
  - metric: mme_perception_score
    aggregation: !function lmms_eval.tasks.mme.utils.mme_aggregate_results
    higher_is_better: true
  - metric: mme_cognition_score
    aggregation: !function lmms_eval.tasks.mme.utils.mme_aggregate_results
    higher_is_better: true
lmms_eval_specific_kwargs:
  default:
    pre_prompt: ""
    post_prompt: "\\nAnswer the question using a single word or phrase."
"""


def test_cli_runs_offline_through_the_plugin(tmp_path, horizon_cache):
    data = write_parquet("mme", tmp_path / "data")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "mme_local.yaml").write_text(MME_TASK.format(data=data))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "HORIZON_CACHE": str(horizon_cache)}  # fmt: skip
    cmd = [sys.executable, "-m", "lmms_eval", "eval", "--model", "horizon_llava", "--model_args",
           "pretrained=tiny-llava,schedule=random@2:0.5+vtw@20", "--tasks", "mme_local", "--include_path",
           str(tasks), "--output_path", str(tmp_path / "out"), "--log_samples", "--verbosity", "DEBUG"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = list(Path(tmp_path / "out").rglob("*_results.json"))
    assert results, done.stdout[-2000:]
    scores = json.loads(results[0].read_text())["results"]["mme_local"]
    assert "mme_perception_score,none" in scores and "mme_cognition_score,none" in scores
    samples = list(Path(tmp_path / "out").rglob("*_samples_mme_local.jsonl"))
    first = json.loads(samples[0].read_text().splitlines()[0])
    assert first["token_counts"][0]["visual_tokens"] == pytest.approx((2 * 576 + 18 * 288) / 32)
    assert len(rows("mme")) == len(samples[0].read_text().splitlines())


def _their_prompt(name: str, doc: dict) -> str:
    from lmms_eval.tasks.docvqa.utils import docvqa_doc_to_text
    from lmms_eval.tasks.gqa.utils import gqa_doc_to_text
    from lmms_eval.tasks.mme.utils import mme_doc_to_text
    from lmms_eval.tasks.ocrbench.utils import ocrbench_doc_to_text
    from lmms_eval.tasks.pope.utils import pope_doc_to_text
    from lmms_eval.tasks.scienceqa.utils import sqa_doc_to_text
    from lmms_eval.tasks.textvqa.utils import textvqa_doc_to_text

    single = {"pre_prompt": "", "post_prompt": "\nAnswer the question using a single word or phrase."}
    letter = "\nAnswer with the option's letter from the given choices directly."
    if name.startswith("mmbench"):
        from lmms_eval.tasks.mmbench import cn_utils, en_utils

        utils, post = (
            (en_utils, letter) if name == "mmbench-en" else (cn_utils, "\n请直接使用所提供的选项字母作为答案回答。")
        )
        doc = {"L2-category": "x", "source": "s", "split": "dev", **doc}
        return utils.mmbench_doc_to_text(doc, {"post_prompt": post})
    return {
        "mme": lambda: mme_doc_to_text(doc, single),
        "pope": lambda: pope_doc_to_text(doc, single),
        "scienceqa-img": lambda: sqa_doc_to_text(doc, {"format": "default", "pre_prompt": "", "post_prompt": letter}),
        "textvqa": lambda: textvqa_doc_to_text(doc, {**single, "ocr": False}),
        "textvqa-ocr": lambda: textvqa_doc_to_text(doc, {**single, "ocr": True}),
        "gqa": lambda: gqa_doc_to_text(doc, single),
        "docvqa": lambda: docvqa_doc_to_text(doc, single),
        "infovqa": lambda: docvqa_doc_to_text(doc, single),
        "ocrbench": lambda: ocrbench_doc_to_text(doc, {"pre_prompt": "", "post_prompt": ""}),
    }[name]()


@pytest.mark.parametrize(
    "name", ["mme", "pope", "scienceqa-img", "textvqa", "textvqa-ocr", "mmbench-en", "mmbench-cn", "gqa",
             "docvqa", "infovqa", "ocrbench"],
)  # fmt: skip
def test_prompts_equal_lmms_eval(name, tmp_path):
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.samples import load_samples

    bench = BENCHMARKS.get(name)
    write_parquet(name, tmp_path / name, split=bench.split)
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    for sample, row in zip(samples, rows(name), strict=True):
        assert bench.prompt(sample, "llava") == _their_prompt(name, dict(row))


def test_mme_prompt_matches():
    from lmms_eval.tasks.mme import utils as mme

    from horizon.benchmarks.base import Sample
    from horizon.benchmarks.registry import BENCHMARKS

    kwargs = {"pre_prompt": "", "post_prompt": "\nAnswer the question using a single word or phrase."}
    for question in ("Is it red? Please answer yes or no.", "  Is it red?  Please answer yes or no. ", "Is it red?"):
        sample = Sample("1", b"", question, "Yes", "1", {"category": "color"})
        assert BENCHMARKS.get("mme").prompt(sample, "llava") == mme.mme_doc_to_text({"question": question}, kwargs)
