"""Which vocabulary token ``y`` the information metric reads (Eq. 4): the first token of the ground truth.

The paper takes "the first token of the ground-truth answer". For benchmarks with several reference answers
(TextVQA's ten annotators, DocVQA/InfoVQA/OCRBench lists) horizon uses the **most frequent** answer after
stripping and lower-casing for the count (ties: the first in the list), written as the first annotator wrote
it. A choice index (ScienceQA) becomes its option letter, as the prompt asks for. The token is the first one
the family's chat template gives the assistant turn holding that answer (so LLaVA's leading space and Qwen's
bare start are both respected), i.e. what greedy decoding would have to emit first.

That is the ``frequent`` rule (the default). The ``paper`` rule is what the authors' release scores
(YahongWang1/Information-Horizon@75909b2, docs/protocol.md "Target y"), defined for the two benchmarks it ran:

* TextVQA: the best ground-truth answer of ``llava/eval/m4c_evaluator.py`` ``best_answer``: the answer with the
  highest VQA soft score among the references, in its EvalAI-normalised form
  (:func:`horizon.benchmarks.text.normalize_vqa_answer`). That is *not* the most frequent normalised answer: the
  soft score averages ``min(1, matches / 3)`` over the leave-one-out subsets, so every answer 4 or more annotators
  gave scores 1.0 (``['twelve'] * 4 + ['12'] * 6``: both score 1.0), and such ties are common. The scores are m4c's
  float sums (in reference order), so equal counts can differ in the last bit and ``max`` then picks one
  deterministically, as here. Exact ties: the release's ``max`` over a dict follows string hash order (not
  reproducible across processes); horizon takes the first in reference order (tests/test_real_tokenizers.py
  checks y on lists with a unique best score only). A best answer that normalises to "" falls back, as ``llava/eval/textvqa_best_answer.py`` does, to the most common
  raw reference (ties: the first).
* MME: "Yes" or "No" from the sample's gold answer. The release alternates ids 3869/1939 (▁Yes/▁No) by sample
  index (``modeling_llama_self.py`` l.91-98), which equals the gold answer only when the file is ordered in
  yes/no pairs; horizon reads the gold answer.

Both rules then take the first token as above; on LLaVA-1.5's SentencePiece tokenizer the assistant turn's first
token is the release's ``tokenizer.encode(answer, add_special_tokens=False)[0]`` (the "▁" dummy prefix is the
space after "ASSISTANT:"), not checked here on the real tokenizer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from horizon.benchmarks.base import Sample
from horizon.benchmarks.text import normalize_vqa_answer

ANSWER_RULE = (
    "first token of the assistant turn holding the gold answer (chat template); several references: the most "
    "frequent (case-insensitive, ties to the first); a choice index: its option letter"
)
PAPER_ANSWER_RULE = (
    "the authors' release: first token of the assistant turn holding, on TextVQA, the best-soft-score reference "
    "in its EvalAI-normalised form (ties to the first), on MME, Yes or No from the gold answer"
)
ANSWER_RULES = {"frequent": ANSWER_RULE, "paper": PAPER_ANSWER_RULE}
PAPER_BENCHMARKS = {"textvqa": "vqa", "textvqa-ocr": "vqa", "mme": "yes-no"}  # benchmark -> the release's rule


def check_answer_rule(rule: str, benchmark: str | None) -> None:
    """A known rule, and for ``paper`` a benchmark the release defines y for; else a ValueError saying so."""
    if rule not in ANSWER_RULES:
        raise ValueError(f"answer rule {rule!r} is not one of {', '.join(ANSWER_RULES)}")
    if rule == "paper" and benchmark not in PAPER_BENCHMARKS:
        raise ValueError(f"the paper's answer rule is defined for {', '.join(PAPER_BENCHMARKS)} (the release's "
                         f"information runs), not {benchmark!r}: use the answer rule 'frequent'")  # fmt: skip


def rule_for(rule: str, benchmark: str) -> str:
    """``rule`` where it is defined for ``benchmark``; the ``paper`` rule elsewhere falls back to ``frequent`` (the
    release defines y for TextVQA and MME only): what a protocol's rule means on any benchmark."""
    return "frequent" if rule == "paper" and benchmark not in PAPER_BENCHMARKS else rule


def answer_text(sample: Sample, rule: str = "frequent", benchmark: str | None = None) -> str:
    """The one reference answer whose first token is scored, by ``rule`` (``ANSWER_RULES``; ``paper`` needs the
    ``benchmark``'s name)."""
    check_answer_rule(rule, benchmark)
    if rule == "paper":
        return _paper_answer(sample, PAPER_BENCHMARKS[str(benchmark)])
    target = sample.target
    if isinstance(target, bool):
        raise ValueError(f"sample {sample.id}: a boolean target {target!r} has no answer text")
    if isinstance(target, int):
        if not 0 <= target < 26:
            raise ValueError(f"sample {sample.id}: choice index {target} has no option letter")
        return chr(ord("A") + target)
    if isinstance(target, str):
        answers = [target]
    elif isinstance(target, (list, tuple)) and all(isinstance(a, str) for a in target):
        answers = list(target)
    else:
        raise ValueError(f"sample {sample.id}: target {target!r} is not a string, a list of strings or a choice index")
    answers = [a.strip() for a in answers if a.strip()]
    if not answers:
        raise ValueError(f"sample {sample.id}: no non-empty reference answer")
    counts = Counter(a.lower() for a in answers)
    best = max(counts.values())
    return next(a for a in answers if counts[a.lower()] == best)


def vqa_answer_scores(answers: Sequence[str]) -> dict[str, float]:
    """m4c ``_compute_answer_scores``: each distinct normalised answer's VQA soft score against the references,
    the mean over leave-one-out subsets of min(1, matches / 3); keys in first-seen order."""
    normal = [normalize_vqa_answer(a) for a in answers]
    counts = Counter(normal)  # first-seen order
    return {a: sum(min(1.0, (c - (b == a)) / 3) for b in normal) / len(normal) for a, c in counts.items()}


def best_vqa_answer(answers: Sequence[str]) -> str:
    """The release's best ground-truth answer: the highest soft score (ties: the first in ``answers`` order),
    normalised; one that normalises to "" gives the most common raw answer instead (ties: the first)."""
    if not answers:
        raise ValueError("no reference answers")
    scores = vqa_answer_scores(answers)
    best = max(scores.values())
    answer = next(a for a, v in scores.items() if v == best)
    return answer if answer else Counter(answers).most_common(1)[0][0]


def _paper_answer(sample: Sample, kind: str) -> str:
    target = sample.target
    if kind == "yes-no":
        if not isinstance(target, str) or target.strip().lower() not in ("yes", "no"):
            raise ValueError(f"sample {sample.id}: the paper's MME rule needs a gold answer yes or no, got {target!r}")
        return "Yes" if target.strip().lower() == "yes" else "No"
    if isinstance(target, str):
        target = [target]
    if not isinstance(target, (list, tuple)) or not target or not all(isinstance(a, str) for a in target):
        raise ValueError(f"sample {sample.id}: target {target!r} is not a list of reference answers")
    answer = best_vqa_answer(target).strip()
    if not answer:
        raise ValueError(f"sample {sample.id}: no non-empty reference answer")
    return answer


def answer_token(processor: Any, question: str, answer: str) -> int:
    """The first token of ``answer`` as the chat template opens the assistant turn after ``question``."""
    user = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    turn = user + [{"role": "assistant", "content": [{"type": "text", "text": answer}]}]
    prompt = str(processor.apply_chat_template(user, add_generation_prompt=True))
    full = str(processor.apply_chat_template(turn))
    if not full.startswith(prompt):
        raise ValueError("the chat template renders the assistant turn in a way that does not extend the prompt")
    tokenizer = processor.tokenizer
    before = tokenizer(prompt, add_special_tokens=False).input_ids
    after = tokenizer(full, add_special_tokens=False).input_ids
    n = 0
    while n < min(len(before), len(after)) and before[n] == after[n]:
        n += 1
    if n == len(before) and n < len(after):
        return int(after[n])
    # the answer's first characters merged with the prompt's last token: score the continuation on its own
    rest = tokenizer(full[len(prompt) :], add_special_tokens=False).input_ids
    if not rest:
        raise ValueError(f"the answer {answer!r} adds no token to the prompt")
    return int(rest[0])
