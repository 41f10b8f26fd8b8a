"""The benchmarks' ``paper`` protocol variants: the question files, lengths and scorers of the authors' release
(YahongWang1/Information-Horizon@75909b2, a LLaVA fork; docs/protocol.md lists every convention and its source).
Each spec in :mod:`horizon.benchmarks.registry` holds its variant under ``variants={"paper": ...}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from statistics import fmean

from horizon.benchmarks.base import LETTER, SINGLE_WORD, Sample, Variant
from horizon.benchmarks.mmbench import llava_question
from horizon.benchmarks.mme import mme_metrics, parse_yes_no_llava
from horizon.benchmarks.pope import score_pope_splits
from horizon.benchmarks.scienceqa import score_scienceqa_llava, sqa_question
from horizon.benchmarks.textvqa import m4c_accuracy

LLAVA_CN_LETTER = "\n请直接回答选项字母。"  # model_vqa_mmbench.py --lang cn


RELEASE = "YahongWang1/Information-Horizon@75909b2936a13d7214e83514f0bc0cb9cc91139e"
LLAVA = "haotian-liu/LLaVA@c121f0432da27facab705978f83c4ada465e46fd"
LOADER = f"{RELEASE} llava/eval/model_vqa_loader.py (qs = line['text'], max_new_tokens default 128, .strip())"


def _mme_paper_prompt(s: Sample, family: str) -> str:
    """llava_mme.jsonl's text (a data file in LLaVA's eval.zip; not in the release): the MME question without
    "Please answer yes or no." + SINGLE_WORD. Read from LLaVA's convert_answer_to_mme.py (copies at
    EasonAI-5589/MME@97a1c6f and zjunlp/Deco@a3ccc15): it strips SINGLE_WORD and appends " Please answer yes or
    no." (with one space, else two) when the prompt lacks it, which only a prompt without it needs. Whether the
    file strips the space left before a double-spaced "  Please" is not known; stripped here, as lmms-eval."""
    return s.question.replace("Please answer yes or no.", "").strip() + SINGLE_WORD


def _mme_paper_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    return mme_metrics(samples, preds, parse_yes_no_llava)


def _pope_paper_prompt(s: Sample, family: str) -> str:
    """llava_pope_test.jsonl's text (LLaVA's eval.zip data, not in the release; read at haotian-liu/LLaVA@32cebc3
    ``playground/data/eval/pope/llava_pope_test.jsonl``): the POPE question + SINGLE_WORD."""
    return s.question + SINGLE_WORD


def _pope_paper_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    splits = [str(s.fields.get("category", "")) for s in samples]
    return score_pope_splits(preds, [s.target for s in samples], splits).percent()


def _textvqa_paper_prompt(s: Sample, family: str) -> str:
    """llava_textvqa_val_v051_ocr.jsonl's text (data, not in the release): "{Question}\\nReference OCR token:
    {t1}, {t2}, ...\\n" + the single-word instruction, the format eval_textvqa.py's prompt_processor parses
    (LLaVA@c121f04 l.17-31). The question's first letter is upper-cased: LLaVA's documented lines read "What is
    the brand of this camera?" where TextVQA's own question is lower-case (str.capitalize, as lmms-eval; whether
    LLaVA also lower-cases the rest is not known). The OCR line is kept when there are no tokens: the release's
    LLaVA-1.6 rewrite (model_vqa_loader.py) takes line [3] of every prompt, so every prompt has the line."""
    return f"{s.question.capitalize()}\nReference OCR token: {', '.join(s.fields['ocr_tokens'])}{SINGLE_WORD}"


def _m4c_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    return {"accuracy": 100 * fmean([m4c_accuracy(p, s.target) for s, p in zip(samples, preds, strict=True)])}


def _sqa_paper_prompt(s: Sample, family: str) -> str:
    """llava_test_CQM-A.json's question (data, not in the release): "Context: {hint}\\n" when there is a hint, the
    question, then "\\n{letter}. {choice}" per choice, as LLaVA-format copies of the file show; then
    model_vqa_science.py strips it (l.~64) and, with --single-pred-prompt, adds LETTER (~l.83-84)."""
    return sqa_question(s.question, s.fields["hint"], s.fields["choices"]).strip() + LETTER


def _sqa_paper_score(samples: Sequence[Sample], preds: Sequence[str]) -> dict[str, float]:
    acc = [score_scienceqa_llava(p, s.fields["choices"], s.target) for s, p in zip(samples, preds, strict=True)]
    return {"accuracy": 100 * fmean(acc)}


def _mmbench_paper_prompt(suffix: str) -> Callable[[Sample, str], str]:
    def prompt(s: Sample, family: str) -> str:
        return llava_question(s.question, s.fields["hint"], s.fields["options"]) + suffix

    return prompt


PAPER_MME = Variant(
    source=f"{LOADER}; llava_mme.jsonl via LLaVA's convert_answer_to_mme.py; MME eval_tool/calculation.py",
    prompt=_mme_paper_prompt, score=_mme_paper_score, max_new_tokens=128, until=(),
    scorer="LLaVA's convert_answer_to_mme.py + MME's eval_tool/calculation.py (tests/test_paper_scorer_references.py)",
    notes="perception + cognition (max 2800), answers read by LLaVA's converter and MME's calculation.py",
)  # fmt: skip
PAPER_POPE = Variant(
    source=f"{LOADER}; llava_pope_test.jsonl; {RELEASE} llava/eval/eval_pope.py",
    prompt=_pope_paper_prompt, score=_pope_paper_score, max_new_tokens=128, until=(),
    scorer=f"{RELEASE} llava/eval/eval_pope.py, the mean over the splits",
    notes="every metric the unweighted mean over the splits (the release's 'Average F1')",
)  # fmt: skip
M4C_SCORER = f"{RELEASE} llava/eval/m4c_evaluator.py TextVQAAccuracyEvaluator"
TEXTVQA_PAPER_SOURCE = f"{LOADER}; {RELEASE} llava/eval/m4c_evaluator.py via {LLAVA} llava/eval/eval_textvqa.py"
PAPER_TEXTVQA = Variant(
    source=TEXTVQA_PAPER_SOURCE, score=_m4c_score, max_new_tokens=128, until=(), scorer=M4C_SCORER,
    notes="no OCR tokens in the prompt (the release has only the OCR question file: run textvqa-ocr for it)",
)  # fmt: skip
PAPER_TEXTVQA_OCR = Variant(
    source=f"{TEXTVQA_PAPER_SOURCE}; llava_textvqa_val_v051_ocr.jsonl", prompt=_textvqa_paper_prompt,
    score=_m4c_score, max_new_tokens=128, until=(), notes="LLaVA-1.5's 'Reference OCR token' question file",
    scorer=M4C_SCORER,
)  # fmt: skip
PAPER_SQA = Variant(
    source=f"{RELEASE} llava/eval/model_vqa_science.py (--single-pred-prompt, max_new_tokens=1024); "
           f"llava_test_CQM-A.json; {LLAVA} llava/eval/eval_science_qa.py (IMG-Accuracy)",
    prompt=_sqa_paper_prompt, score=_sqa_paper_score, max_new_tokens=1024, until=(),
    scorer=f"{LLAVA} llava/eval/eval_science_qa.py (IMG-Accuracy)",
    notes="LLaVA's letter parsing (a bare letter, 'X. ', or 'The answer is X.'; else wrong)",
)  # fmt: skip
MMBENCH_PAPER_SOURCE = f"{RELEASE} llava/eval/model_vqa_mmbench.py (--single-pred-prompt, max_new_tokens=1024)"
MMBENCH_PAPER_NOTES = (
    "LLaVA's question; scored by horizon's circular rules: the release has no MMBench scorer "
    "(scripts/convert_mmbench_for_submission.py writes the upload file only)"
)
PAPER_MMBENCH_EN = Variant(source=f"{MMBENCH_PAPER_SOURCE}, --lang en", prompt=_mmbench_paper_prompt(LETTER),
                           max_new_tokens=1024, until=(), notes=MMBENCH_PAPER_NOTES)  # fmt: skip
PAPER_MMBENCH_CN = Variant(source=f"{MMBENCH_PAPER_SOURCE}, --lang cn", prompt=_mmbench_paper_prompt(LLAVA_CN_LETTER),
                           max_new_tokens=1024, until=(), notes=MMBENCH_PAPER_NOTES)  # fmt: skip
