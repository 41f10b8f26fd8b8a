"""The benchmark specs: each dataset's layout, prompt and scoring, registered into ``BENCHMARKS``.

Layouts follow the datasets lmms-eval 0.7.3 loads (docs/benchmarks.md); prompts, generation
lengths and stop strings are lmms-eval's ``default`` ones, which its LLaVA-1.5 and Qwen2.5-VL models both use
on these tasks (TextVQA sets no length there: 128, LLaVA-1.5's own VQA script, is used).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from horizon.benchmarks.anls import anls
from horizon.benchmarks.base import (
    BENCHMARKS,
    LETTER,
    SINGLE_WORD,
    Benchmark,
    DatasetFormatError,
    ImageSource,
    Sample,
    image_bytes,
    text,
    text_list,
)
from horizon.benchmarks.exact import exact_match
from horizon.benchmarks.mmbench import MMBenchItem, circular_group, score_mmbench
from horizon.benchmarks.mme import MMEItem, score_mme
from horizon.benchmarks.ocrbench import OCRBenchItem, score_ocrbench
from horizon.benchmarks.pope import score_pope
from horizon.benchmarks.scienceqa import LETTERS, score_scienceqa_item
from horizon.benchmarks.textvqa import vqa_accuracy

MMBENCH_CN_LETTER = "\n请直接使用所提供的选项字母作为答案回答。"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


# -- MME --------------------------------------------------------------------------------------------
def _mme_sample(row: Mapping[str, Any], i: int) -> Sample:
    answer = text(row, "answer")
    if answer.strip().lower() not in ("yes", "no"):
        raise DatasetFormatError(f"column 'answer' must be Yes or No, got {answer!r}")
    qid = str(row["question_id"])
    fields = {"category": text(row, "category")}
    return Sample(f"{qid}#{i}", image_bytes(row["image"]), text(row, "question"), answer, qid, fields)


def _mme_prompt(s: Sample, family: str) -> str:
    return s.question.replace(" Please answer yes or no.", "") + SINGLE_WORD


def _mme_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    items = [MMEItem(s.group, s.fields["category"], s.target, p) for s, p in zip(samples, preds, strict=True)]
    r = score_mme(items)
    return {"total": r.total, "perception": r.perception, "cognition": r.cognition}


# -- POPE -------------------------------------------------------------------------------------------
def _pope_sample(row: Mapping[str, Any], i: int) -> Sample:
    answer = text(row, "answer")
    if answer.strip().lower() not in ("yes", "no"):
        raise DatasetFormatError(f"column 'answer' must be yes or no, got {answer!r}")
    qid = str(row["question_id"])
    fields = {"category": str(row.get("category", ""))}
    return Sample(qid, image_bytes(row["image"]), text(row, "question"), answer, qid, fields)


def _pope_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    r = score_pope(preds, [s.target for s in samples])
    return {"accuracy": 100 * r.accuracy, "f1": 100 * r.f1, "precision": 100 * r.precision,
            "recall": 100 * r.recall, "yes_ratio": 100 * r.yes_ratio}  # fmt: skip


# -- ScienceQA-IMG ----------------------------------------------------------------------------------
def _sqa_sample(row: Mapping[str, Any], i: int) -> Sample:
    choices = text_list(row, "choices")
    answer = row["answer"]
    if not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise DatasetFormatError(f"column 'answer' must be a choice index 0..{len(choices) - 1}, got {answer!r}")
    fields = {"choices": choices, "hint": str(row.get("hint") or "")}
    return Sample(str(i), image_bytes(row["image"]), text(row, "question"), answer, str(i), fields)


def _sqa_prompt(s: Sample, family: str) -> str:
    context = f"Context: {s.fields['hint']}\n" if s.fields["hint"] else ""
    options = "\n".join(f"{LETTERS[k]}. {c}" for k, c in enumerate(s.fields["choices"]))
    return f"{context}{s.question}\n{options}{LETTER}"


def _sqa_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    acc = [score_scienceqa_item(p, s.fields["choices"], s.target) for s, p in zip(samples, preds, strict=True)]
    return {"accuracy": 100 * _mean(acc)}


# -- TextVQA (with or without LLaVA-1.5's OCR reference tokens) ---------------------------------------
def _textvqa_sample(row: Mapping[str, Any], i: int) -> Sample:
    qid = str(row["question_id"])
    tokens = row.get("ocr_tokens") or []
    fields = {"ocr_tokens": [str(t) for t in tokens]}
    return Sample(qid, image_bytes(row["image"]), text(row, "question"), text_list(row, "answers"), qid, fields)


def _textvqa_prompt(ocr: bool):  # type: ignore[no-untyped-def]
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
    fields = {"options": options, "hint": "" if hint is None else str(hint), "category": str(row.get("category", ""))}
    group = str(circular_group(index))
    return Sample(str(index), image_bytes(row["image"]), text(row, "question"), answer, group, fields)


def _mmbench_prompt(options_head: str, post: str, nan_hint: bool):  # type: ignore[no-untyped-def]
    """lmms-eval's ``mmbench_doc_to_text``: "{hint} {question} {head}\n{A. ..}" then "\n" and the post-prompt."""

    def prompt(s: Sample, family: str) -> str:
        hint = s.fields["hint"]
        options = "\n".join(f"{k}. {v}" for k, v in sorted(s.fields["options"].items()))
        body = f"{s.question} {options_head}\n{options}"
        has_hint = bool(hint) and not (nan_hint and hint == "nan")
        return f"{hint} {body}\n{post}" if has_hint else f"{body}\n{post}"

    return prompt


def _mmbench_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    items = [MMBenchItem(int(s.id), s.fields["options"], s.target, p) for s, p in zip(samples, preds, strict=True)]
    return {"circular_accuracy": score_mmbench(items)}


# -- GQA, DocVQA, InfoVQA, OCR-VQA ------------------------------------------------------------------
def _plain_sample(id_cols: tuple[str, ...], answer_col: str, many: bool):  # type: ignore[no-untyped-def]
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
    return [{**base, "question": q, "answer": a, "question_id": f"{row.get('image_id', '')}-{k}"}
            for k, (q, a) in enumerate(zip(questions, answers, strict=True))]  # fmt: skip


# -- OCRBench ---------------------------------------------------------------------------------------
def _ocrbench_sample(row: Mapping[str, Any], i: int) -> Sample:
    answers = row["answer"]
    answers = [answers] if isinstance(answers, str) else text_list(row, "answer")
    fields = {"question_type": text(row, "question_type"), "dataset": text(row, "dataset")}
    return Sample(str(i), image_bytes(row["image"]), text(row, "question"), answers, str(i), fields)


def _ocrbench_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    items = [
        OCRBenchItem(s.fields["question_type"], s.fields["dataset"], tuple(s.target), p)
        for s, p in zip(samples, preds, strict=True)
    ]
    r = score_ocrbench(items)
    return {"accuracy": 100 * r.accuracy, "correct": float(r.correct)}


# -- synth (generated here from a seed, horizon/benchmarks/synth.py) ---------------------------------------
def _synth_sample(row: Mapping[str, Any], i: int) -> Sample:
    from horizon.benchmarks.synth import family

    task = text(row, "task")
    try:
        fam = family(task)
    except ValueError as err:
        raise DatasetFormatError(f"column 'task': {err}") from None
    sid = text(row, "id")
    fields = {"task": task, "family": fam}
    return Sample(sid, image_bytes(row["image"]), text(row, "question"), text(row, "answer"), sid, fields)


def _synth_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    """Exact match (case and punctuation ignored): overall, per family (global / fine) and per task."""
    hits: dict[str, list[float]] = {}
    for s, p in zip(samples, preds, strict=True):
        ok = float(one_word(p) == one_word(s.target))
        for key in ("accuracy", f"accuracy_{s.fields['family']}", f"accuracy_{s.fields['task']}"):
            hits.setdefault(key, []).append(ok)
    return {k: 100 * _mean(v) for k, v in sorted(hits.items())}


def _synth_prompt(sample: Sample, family: str) -> str:
    from horizon.benchmarks.synth import PROMPT_SUFFIX

    return sample.question + PROMPT_SUFFIX


def _synth_generate() -> list[dict[str, Any]]:
    """The held-out rows the organisms are scored on (no local data needed: a pure function of the seed)."""
    from horizon.benchmarks.synth import HELD_OUT_ROWS, HELD_OUT_SEED, rows

    return rows(HELD_OUT_ROWS, seed=HELD_OUT_SEED)


def _synth_family(fam: str) -> Callable[[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Keep only the rows of one task family (``synth-global`` / ``synth-fine`` read the ``synth`` data)."""

    def keep(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        from horizon.benchmarks.synth import family

        try:
            return [row] if family(text(row, "task")) == fam else []
        except ValueError as err:
            raise DatasetFormatError(f"column 'task': {err}") from None

    return keep


def one_word(text_: str) -> str:
    words = text_.strip().lower().replace(".", " ").replace(",", " ").split()
    return words[0] if words else ""


for _b in (
    Benchmark("mme", "lmms-lab/MME", None, "test", ("question_id", "image", "question", "answer", "category"),
              16, "total", _mme_sample, _mme_prompt, _mme_score, "perception + cognition (max 2800)"),
    Benchmark("scienceqa-img", "lmms-lab/ScienceQA", "ScienceQA-IMG", "test", ("image", "question", "choices", "answer"),
              16, "accuracy", _sqa_sample, _sqa_prompt, _sqa_score),
    Benchmark("pope", "lmms-lab/POPE", None, "test", ("question_id", "image", "question", "answer"),
              128, "f1", _pope_sample, lambda s, f: s.question.strip() + SINGLE_WORD, _pope_score),
    Benchmark("textvqa", "lmms-lab/textvqa", None, "validation", ("question_id", "image", "question", "answers"),
              128, "accuracy", _textvqa_sample, _textvqa_prompt(False), _vqa_score, "no OCR tokens in the prompt",
              until=("ASSISTANT:",)),
    Benchmark("textvqa-ocr", "lmms-lab/textvqa", None, "validation",
              ("question_id", "image", "question", "answers", "ocr_tokens"), 128, "accuracy", _textvqa_sample,
              _textvqa_prompt(True), _vqa_score, "LLaVA-1.5's 'Reference OCR token' line in the prompt",
              until=("ASSISTANT:",)),
    Benchmark("mmbench-en", "lmms-lab/MMBench", "en", "dev", ("index", "image", "question", "answer", "A", "B"),
              1024, "circular_accuracy", _mmbench_sample,
              _mmbench_prompt("There are several options:", LETTER, True), _mmbench_score),
    Benchmark("mmbench-cn", "lmms-lab/MMBench", "cn", "dev", ("index", "image", "question", "answer", "A", "B"),
              256, "circular_accuracy", _mmbench_sample,
              # lmms-eval's cn_utils reads mmbench.yaml, so its CN prompts carry the English options line too
              _mmbench_prompt("There are several options:", MMBENCH_CN_LETTER, False), _mmbench_score),
    Benchmark("gqa", "lmms-lab/GQA", "testdev_balanced_instructions", "testdev", ("question", "answer"),
              16, "accuracy", _plain_sample(("id", "question_id"), "answer", False), _single_word, _exact_score,
              "questions joined on imageId with the testdev_balanced_images table, unless rows carry images",
              images=ImageSource("gqa-images", "testdev_balanced_images", "id", "imageId")),
    Benchmark("docvqa", "lmms-lab/DocVQA", "DocVQA", "validation", ("questionId", "image", "question", "answers"),
              32, "anls", _plain_sample(("questionId",), "answers", True), _single_word, _anls_score),
    Benchmark("infovqa", "lmms-lab/DocVQA", "InfographicVQA", "validation",
              ("questionId", "image", "question", "answers"), 32, "anls",
              _plain_sample(("questionId",), "answers", True), _single_word, _anls_score),
    Benchmark("ocrbench", "echo840/OCRBench", None, "test", ("dataset", "image", "question", "question_type", "answer"),
              128, "accuracy", _ocrbench_sample, lambda s, f: s.question.strip(), _ocrbench_score),
    Benchmark("ocr-vqa", "howard-hou/OCR-VQA", None, "test", ("image",),
              16, "accuracy", _plain_sample(("question_id", "image_id"), "answer", False), _single_word, _exact_score,
              "rows with question/answer, or per-image questions/answers lists; no lmms-eval task exists",
              expand=_ocrvqa_expand),
    Benchmark("synth", "horizon/synth", None, "test", ("id", "image", "question", "answer", "task"),
              2, "accuracy", _synth_sample, _synth_prompt, _synth_score,
              "generated from a seed: horizon organism data (global and fine-grained tasks); without local data, the "
              "600 held-out rows of seed 0", until=("\n",), generate=_synth_generate),
    *(Benchmark(f"synth-{fam}", "horizon/synth", None, "test", ("id", "image", "question", "answer", "task"),
                2, "accuracy", _synth_sample, _synth_prompt, _synth_score,
                f"the {fam} tasks of the synth data (same folder): {', '.join(tasks)}", until=("\n",),
                expand=_synth_family(fam), generate=_synth_generate)
      for fam, tasks in (("global", ("colour", "count", "exists")), ("fine", ("cell_colour", "cell_shape", "cell_digit")))),
):  # fmt: skip
    BENCHMARKS.add(_b.name, _b)
