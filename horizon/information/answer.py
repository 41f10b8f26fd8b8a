"""Which vocabulary token ``y`` the information metric reads (Eq. 4): the first token of the ground truth.

The paper takes "the first token of the ground-truth answer". For benchmarks with several reference answers
(TextVQA's ten annotators, DocVQA/InfoVQA/OCRBench lists) horizon uses the **most frequent** answer after
stripping and lower-casing for the count (ties: the first in the list), written as the first annotator wrote
it. A choice index (ScienceQA) becomes its option letter, as the prompt asks for. The token is the first one
the family's chat template gives the assistant turn holding that answer (so LLaVA's leading space and Qwen's
bare start are both respected), i.e. what greedy decoding would have to emit first.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from horizon.benchmarks.base import Sample

ANSWER_RULE = (
    "first token of the assistant turn holding the gold answer (chat template); several references: the most "
    "frequent (case-insensitive, ties to the first); a choice index: its option letter"
)


def answer_text(sample: Sample) -> str:
    """The one reference answer whose first token is scored."""
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
