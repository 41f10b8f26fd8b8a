"""The benchmark specs: each dataset's layout, prompt and scoring, registered into ``BENCHMARKS``.

Layouts follow the datasets lmms-eval 0.7.3 loads (docs/benchmarks.md); prompts, generation lengths and stop
strings are its tasks' ``default`` ones, which its LLaVA-1.5 and Qwen2.5-VL models both use on these tasks. What
the model wrapper decides is each family's (horizon/benchmarks/wrappers.py): which stop strings cut, and TextVQA's
length, which its task does not set (128, the cost estimates' figure, is LLaVA-1.5's own VQA script's).

The benchmarks the authors' release runs (MME, POPE, ScienceQA-IMG, TextVQA, MMBench EN/CN) also have a
``paper`` variant (horizon/protocol.py, docs/protocol.md): LLaVA's question text, the release's scorer and
generation length, and no stop strings (the release decodes to EOS and strips the answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from horizon.benchmarks import synth
from horizon.benchmarks.anls import anls
from horizon.benchmarks.base import (
    BENCHMARKS,
    LETTER,
    SINGLE_WORD,
    Benchmark,
    DatasetFormatError,
    ImageSource,
    Sample,
    ident,
    image_bytes,
    text,
    text_list,
)
from horizon.benchmarks.exact import exact_match
from horizon.benchmarks.mmbench import MMBenchItem, circular_group, mmbench_cells, score_mmbench
from horizon.benchmarks.mme import COGNITION, PERCEPTION, mme_metrics
from horizon.benchmarks.ocrbench import CATEGORIES, OCRBenchItem, score_ocrbench
from horizon.benchmarks.paper_spec import (
    PAPER_MMBENCH_CN,
    PAPER_MMBENCH_EN,
    PAPER_MME,
    PAPER_POPE,
    PAPER_SQA,
    PAPER_TEXTVQA,
    PAPER_TEXTVQA_OCR,
)
from horizon.benchmarks.pope import score_pope_lmms_eval
from horizon.benchmarks.scienceqa import LETTERS, score_scienceqa_item, sqa_question
from horizon.benchmarks.splits import SPLIT_ROWS
from horizon.benchmarks.synth_spec import (
    SYNTH_COLUMNS,
    SYNTH_METRICS,
    synth_family,
    synth_generate,
    synth_prompt,
    synth_sample,
    synth_score,
)
from horizon.benchmarks.textvqa import vqa_accuracy
from horizon.metrics import Metric, percent
from horizon.protocol import PAPER_PROTOCOL

MMBENCH_CN_LETTER = "\n请直接使用所提供的选项字母作为答案回答。"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


# -- MME --------------------------------------------------------------------------------------------
def _mme_sample(row: Mapping[str, Any], i: int) -> Sample:
    answer = text(row, "answer")
    if answer.strip().lower() not in ("yes", "no"):
        raise DatasetFormatError(f"column 'answer' must be Yes or No, got {answer!r}")
    qid = ident(row, "question_id")
    category = text(row, "category")
    if category not in PERCEPTION + COGNITION:
        raise DatasetFormatError(
            f"column 'category' {category!r} is not an MME category ({', '.join(PERCEPTION + COGNITION)})"
        )
    fields = {"category": category}
    return Sample(f"{qid}#{i}", image_bytes(row["image"]), text(row, "question"), answer, qid, fields)


def _mme_prompt(s: Sample, family: str) -> str:
    return s.question.strip().replace(" Please answer yes or no.", "") + SINGLE_WORD  # lmms-eval mme_doc_to_text


# -- POPE -------------------------------------------------------------------------------------------
def _pope_sample(row: Mapping[str, Any], i: int) -> Sample:
    answer = text(row, "answer")
    if answer.strip().lower() not in ("yes", "no"):
        raise DatasetFormatError(f"column 'answer' must be yes or no, got {answer!r}")
    qid = ident(row, "question_id")
    category = row.get("category")
    category = "" if category is None else str(category)
    sid = f"{category}/{qid}" if category else qid  # question ids restart in each subset (adversarial, popular, random)
    return Sample(sid, image_bytes(row["image"]), text(row, "question"), answer, sid, {"category": category})


def _pope_prompt(s: Sample, family: str) -> str:
    return s.question.strip() + SINGLE_WORD


def _pope_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    return score_pope_lmms_eval(preds, [s.target for s in samples]).percent()


# -- ScienceQA-IMG ----------------------------------------------------------------------------------
def _sqa_sample(row: Mapping[str, Any], i: int) -> Sample:
    choices = text_list(row, "choices")
    if len(choices) > len(LETTERS) or len(choices) < 2:
        raise DatasetFormatError(f"column 'choices' holds {len(choices)} choices; a question needs 2..{len(LETTERS)}")
    answer = row["answer"]
    if not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise DatasetFormatError(f"column 'answer' must be a choice index 0..{len(choices) - 1}, got {answer!r}")
    fields = {"choices": choices, "hint": str(row.get("hint") or "")}
    return Sample(str(i), image_bytes(row["image"]), text(row, "question"), answer, str(i), fields)


def _sqa_prompt(s: Sample, family: str) -> str:
    return sqa_question(s.question, s.fields["hint"], s.fields["choices"]) + LETTER


def _sqa_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    acc = [score_scienceqa_item(p, s.fields["choices"], s.target) for s, p in zip(samples, preds, strict=True)]
    return {"accuracy": 100 * _mean(acc)}


# -- TextVQA (with or without LLaVA-1.5's OCR reference tokens) ---------------------------------------
def _textvqa_sample(row: Mapping[str, Any], i: int) -> Sample:
    qid = ident(row, "question_id")
    tokens = row.get("ocr_tokens") or []
    if isinstance(tokens, str) or not isinstance(tokens, Sequence) or not all(isinstance(t, str) for t in tokens):
        raise DatasetFormatError(f"column 'ocr_tokens' must be a list of text tokens, got {tokens!r:.60}")
    fields = {"ocr_tokens": list(tokens)}
    return Sample(qid, image_bytes(row["image"]), text(row, "question"), text_list(row, "answers"), qid, fields)


def _textvqa_prompt(ocr: bool) -> Callable[[Sample, str], str]:
    def prompt(s: Sample, family: str) -> str:
        q = s.question.capitalize()  # as lmms-eval (str.capitalize also lower-cases the rest)
        if ocr:  # lmms-eval adds the line even when the image has no OCR tokens
            q += "\nReference OCR token: " + ", ".join(s.fields["ocr_tokens"])
        return q + SINGLE_WORD

    return prompt


def _vqa_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    return {"accuracy": 100 * _mean([vqa_accuracy(p, s.target) for s, p in zip(samples, preds, strict=True)])}


# -- MMBench EN / CN --------------------------------------------------------------------------------
def _mmbench_sample(row: Mapping[str, Any], i: int) -> Sample:
    index = row["index"]
    if not isinstance(index, int):
        raise DatasetFormatError(f"column 'index' must be an integer, got {index!r}")
    options = {k: str(row[k]) for k in "ABCDE" if k in row and row[k] not in (None, "", "nan")}
    answer = text(row, "answer")
    if answer not in options:
        raise DatasetFormatError(f"column 'answer' {answer!r} is not one of the options {sorted(options)}")
    hint = row.get("hint")
    fields = {"options": options, "cells": mmbench_cells(row), "hint": "" if hint is None else str(hint),
              "category": str(row.get("category", ""))}  # fmt: skip
    group = str(circular_group(index))
    return Sample(str(index), image_bytes(row["image"]), text(row, "question"), answer, group, fields)


def _mmbench_prompt(options_head: str, post: str, nan_hint: bool) -> Callable[[Sample, str], str]:
    """lmms-eval's ``mmbench_doc_to_text``: "{hint} {question} {head}\n{A. ..}" then "\n" and the post-prompt."""

    def prompt(s: Sample, family: str) -> str:
        hint = s.fields["hint"]
        options = "\n".join(f"{k}. {v}" for k, v in sorted(s.fields["options"].items()))
        body = f"{s.question} {options_head}\n{options}"
        has_hint = bool(hint) and not (nan_hint and hint == "nan")
        return f"{hint} {body}\n{post}" if has_hint else f"{body}\n{post}"

    return prompt


def _mmbench_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    items = [MMBenchItem(int(s.id), s.fields["cells"], s.target, p) for s, p in zip(samples, preds, strict=True)]
    return {"circular_accuracy": score_mmbench(items)}


# -- GQA, DocVQA, InfoVQA, OCR-VQA ------------------------------------------------------------------
def _plain_sample(id_cols: tuple[str, ...], answer_col: str, many: bool) -> Callable[[Mapping[str, Any], int], Sample]:
    def to_sample(row: Mapping[str, Any], i: int) -> Sample:
        sid = next((str(row[c]) for c in id_cols if row.get(c) is not None), str(i))
        target = text_list(row, answer_col) if many else text(row, answer_col)
        return Sample(sid, image_bytes(row["image"]), text(row, "question"), target, sid)

    return to_sample


def _single_word(s: Sample, family: str) -> str:
    return s.question + SINGLE_WORD


def _exact_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    return {"accuracy": 100 * _mean([exact_match(p, s.target) for s, p in zip(samples, preds, strict=True)])}


def _anls_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    return {"anls": 100 * _mean([anls(p, s.target) for s, p in zip(samples, preds, strict=True)])}


def _ocrvqa_expand(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """One item per question: rows hold ``question``/``answer``, or ``questions``/``answers`` lists."""
    if "question" in row:
        return [row]
    questions, answers = row.get("questions"), row.get("answers")
    if not isinstance(questions, list) or not isinstance(answers, list) or len(questions) != len(answers):
        raise DatasetFormatError("OCR-VQA rows need 'question'/'answer', or equal-length 'questions'/'answers' lists")
    base = {k: v for k, v in row.items() if k not in ("questions", "answers")}
    image = row.get("image_id")  # without it, ids are the row numbers (see _plain_sample)
    ids = [{} if image is None else {"question_id": f"{image}-{k}"} for k in range(len(questions))]
    return [{**base, "question": q, "answer": a, **ids[k]}
            for k, (q, a) in enumerate(zip(questions, answers, strict=True))]  # fmt: skip


# -- OCRBench ---------------------------------------------------------------------------------------
def _ocrbench_sample(row: Mapping[str, Any], i: int) -> Sample:
    answers = row["answer"]
    answers = [answers] if isinstance(answers, str) else text_list(row, "answer")
    kind = text(row, "question_type")
    if kind not in CATEGORIES:
        raise DatasetFormatError(
            f"column 'question_type' {kind!r} is not an OCRBench category ({', '.join(CATEGORIES)})"
        )
    fields = {"question_type": kind, "dataset": text(row, "dataset")}
    return Sample(str(i), image_bytes(row["image"]), text(row, "question"), answers, str(i), fields)


def _ocrbench_prompt(s: Sample, family: str) -> str:
    return s.question.strip()


def _ocrbench_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    items = [
        OCRBenchItem(s.fields["question_type"], s.fields["dataset"], tuple(s.target), p)
        for s, p in zip(samples, preds, strict=True)
    ]
    r = score_ocrbench(items)
    return {"accuracy": 100 * r.accuracy, "correct": float(r.correct)}


LMMS = "lmms-eval 0.7.3"
TEXTVQA_SCORER = f"{LMMS} tasks/textvqa/utils.py textvqa_process_results (EvalAIAnswerProcessor, VQA accuracy)"
MMBENCH_SCORER = (f"{LMMS} tasks/mmbench/mmbench_evals.py eval_result(eval_method='static'), the task "
                  "mmbench_en_dev_static (mmbench_en_dev and mmbench_cn_dev would ask a GPT judge where no rule reads a "
                  "letter)")  # fmt: skip
EXACT_SCORER = f"{LMMS} api/metrics.py exact_match_hf_evaluate (ignore_case, ignore_punctuation; tasks/gqa/gqa.yaml)"
ANLS_SCORER = f"{LMMS} api/metrics.py anls"
SYNTH_SCORER = "horizon/benchmarks/synth_spec.py synth_score (horizon's own benchmark)"
ACCURACY = (percent("accuracy"),)
MME_METRICS = (
    Metric(name="total", kind="score", maximum=2800.0),  # perception (max 2000) + cognition (max 800)
    Metric(name="perception", kind="score", maximum=2000.0),
    Metric(name="cognition", kind="score", maximum=800.0),
)
POPE_METRICS = (*(percent(m) for m in ("accuracy", "f1", "precision", "recall")), percent("yes_ratio", "none"))
TEXTVQA_COLUMNS = ("question_id", "image", "question", "answers")
MMBENCH_COLUMNS = ("index", "image", "question", "answer", "A", "B")
DOCVQA_COLUMNS = ("questionId", "image", "question", "answers")

SPECS = (
    Benchmark(name="mme", scorer=f"{LMMS} tasks/mme/utils.py mme_process_results + mme_aggregate_results", **SPLIT_ROWS["mme"], dataset_id="lmms-lab/MME", split="test",
              columns=("question_id", "image", "question", "answer", "category"), max_new_tokens=16,
              metrics=MME_METRICS, headline="total", to_sample=_mme_sample, prompt=_mme_prompt, score=mme_metrics,
              notes="perception + cognition (max 2800)", group_size=2, unit_metric="total", unit_scale=200.0,
              ids="column 'question_id' (the image) and the row number", variants={PAPER_PROTOCOL: PAPER_MME}),
    Benchmark(name="scienceqa-img", scorer=f"{LMMS} tasks/scienceqa/utils.py sqa_process_results", **SPLIT_ROWS["scienceqa-img"], dataset_id="lmms-lab/ScienceQA", config="ScienceQA-IMG", split="test",
              columns=("image", "question", "choices", "answer"), max_new_tokens=16, metrics=ACCURACY,
              headline="accuracy", to_sample=_sqa_sample, prompt=_sqa_prompt, score=_sqa_score,
              variants={PAPER_PROTOCOL: PAPER_SQA}),
    Benchmark(name="pope", scorer=f"{LMMS} tasks/pope/utils.py pope_process_results + pope_aggregate_*", **SPLIT_ROWS["pope"], dataset_id="lmms-lab/POPE", split="test",
              columns=("question_id", "image", "question", "answer"), max_new_tokens=128, metrics=POPE_METRICS,
              headline="f1", to_sample=_pope_sample, prompt=_pope_prompt, score=_pope_score, unit_metric="accuracy",
              ids="columns 'category' and 'question_id'", variants={PAPER_PROTOCOL: PAPER_POPE}),
    Benchmark(name="textvqa", scorer=TEXTVQA_SCORER, **SPLIT_ROWS["textvqa"], dataset_id="lmms-lab/textvqa", split="validation", columns=TEXTVQA_COLUMNS,
              max_new_tokens=128, task_length=False, metrics=ACCURACY, headline="accuracy", to_sample=_textvqa_sample,
              prompt=_textvqa_prompt(False), score=_vqa_score, notes="no OCR tokens in the prompt",
              until=("ASSISTANT:",), ids="column 'question_id'", variants={PAPER_PROTOCOL: PAPER_TEXTVQA}),
    Benchmark(name="textvqa-ocr", scorer=TEXTVQA_SCORER, **SPLIT_ROWS["textvqa-ocr"], dataset_id="lmms-lab/textvqa", split="validation",
              columns=(*TEXTVQA_COLUMNS, "ocr_tokens"), max_new_tokens=128, task_length=False, metrics=ACCURACY,
              headline="accuracy",
              to_sample=_textvqa_sample, prompt=_textvqa_prompt(True), score=_vqa_score,
              notes="LLaVA-1.5's 'Reference OCR token' line in the prompt", until=("ASSISTANT:",),
              ids="column 'question_id'", variants={PAPER_PROTOCOL: PAPER_TEXTVQA_OCR}),
    Benchmark(name="mmbench-en", scorer=MMBENCH_SCORER, **SPLIT_ROWS["mmbench-en"], dataset_id="lmms-lab/MMBench", config="en", split="dev", columns=MMBENCH_COLUMNS,
              max_new_tokens=1024, metrics=(percent("circular_accuracy"),), headline="circular_accuracy",
              to_sample=_mmbench_sample, prompt=_mmbench_prompt("There are several options:", LETTER, True),
              score=_mmbench_score, ids="column 'index'", until=("ASSISTANT:",),
              variants={PAPER_PROTOCOL: PAPER_MMBENCH_EN}),
    Benchmark(name="mmbench-cn", scorer=MMBENCH_SCORER, **SPLIT_ROWS["mmbench-cn"], dataset_id="lmms-lab/MMBench", config="cn", split="dev", columns=MMBENCH_COLUMNS,
              max_new_tokens=256, metrics=(percent("circular_accuracy"),), headline="circular_accuracy",
              to_sample=_mmbench_sample,
              # lmms-eval's cn_utils reads mmbench.yaml, so its CN prompts carry the English options line too
              prompt=_mmbench_prompt("There are several options:", MMBENCH_CN_LETTER, False), score=_mmbench_score,
              ids="column 'index'",
              variants={PAPER_PROTOCOL: PAPER_MMBENCH_CN}),
    Benchmark(name="gqa", scorer=EXACT_SCORER, **SPLIT_ROWS["gqa"], dataset_id="lmms-lab/GQA", config="testdev_balanced_instructions", split="testdev",
              columns=("question", "answer"), max_new_tokens=16, metrics=ACCURACY, headline="accuracy",
              to_sample=_plain_sample(("id", "question_id"), "answer", False), prompt=_single_word,
              score=_exact_score,
              notes="questions joined on imageId with the testdev_balanced_images table, unless rows carry images",
              images=ImageSource("gqa-images", "testdev_balanced_images", "id", "imageId"),
              ids="column 'id' (else 'question_id', else the row number)"),
    Benchmark(name="docvqa", scorer=ANLS_SCORER, **SPLIT_ROWS["docvqa"], dataset_id="lmms-lab/DocVQA", config="DocVQA", split="validation",
              columns=DOCVQA_COLUMNS, max_new_tokens=32, metrics=(percent("anls"),), headline="anls",
              to_sample=_plain_sample(("questionId",), "answers", True), prompt=_single_word, score=_anls_score,
              ids="column 'questionId'"),
    Benchmark(name="infovqa", scorer=ANLS_SCORER, **SPLIT_ROWS["infovqa"], dataset_id="lmms-lab/DocVQA", config="InfographicVQA", split="validation",
              columns=DOCVQA_COLUMNS, max_new_tokens=32, metrics=(percent("anls"),), headline="anls",
              to_sample=_plain_sample(("questionId",), "answers", True), prompt=_single_word, score=_anls_score,
              ids="column 'questionId'"),
    Benchmark(name="ocrbench", scorer=f"{LMMS} tasks/ocrbench/utils.py ocrbench_process_results + ocrbench_aggregate_accuracy", **SPLIT_ROWS["ocrbench"], dataset_id="echo840/OCRBench", split="test",
              columns=("dataset", "image", "question", "question_type", "answer"), max_new_tokens=128,
              metrics=(percent("accuracy"), Metric(name="correct", kind="count")), headline="accuracy",
              to_sample=_ocrbench_sample, prompt=_ocrbench_prompt, score=_ocrbench_score),
    Benchmark(name="ocr-vqa", scorer=f"{EXACT_SCORER}, as GQA (lmms-eval has no OCR-VQA task)", **SPLIT_ROWS["ocr-vqa"], dataset_id="howard-hou/OCR-VQA", split="test", columns=("image",), max_new_tokens=16,
              metrics=ACCURACY, headline="accuracy", to_sample=_plain_sample(("question_id",), "answer", False),
              prompt=_single_word, score=_exact_score,
              notes="rows with question/answer, or per-image questions/answers lists; no lmms-eval task exists",
              expand=_ocrvqa_expand,
              ids="column 'question_id' (question lists: 'image_id' and the position), else the row number"),
    Benchmark(name="synth", scorer=SYNTH_SCORER, dataset_id="horizon/synth", split="test", columns=SYNTH_COLUMNS, max_new_tokens=2,
              metrics=SYNTH_METRICS, headline="accuracy", to_sample=synth_sample, prompt=synth_prompt,
              score=synth_score,
              notes="generated from a seed: horizon organism data (global and fine-grained tasks); without local data, "
                    "the 600 held-out rows of seed 0", until=("\n",), task_until=False, generate=synth_generate,
              ids="column 'id'"),
    *(Benchmark(name=f"synth-{fam}", scorer=SYNTH_SCORER, dataset_id="horizon/synth", split="test", columns=SYNTH_COLUMNS,
                max_new_tokens=2, metrics=SYNTH_METRICS, headline="accuracy", to_sample=synth_sample,
                prompt=synth_prompt, score=synth_score,
                notes=f"the {fam} tasks of the synth data (same folder): {', '.join(tasks)}", until=("\n",),
                task_until=False, expand=synth_family(fam), generate=synth_generate, ids="column 'id'")
      for fam, tasks in (("global", synth.GLOBAL_TASKS), ("fine", synth.FINE_TASKS))),
)  # fmt: skip

for _b in SPECS:
    BENCHMARKS.add(_b.name, _b)
