"""Generated answers for the differential tests against the scorers' references (issue 33): tests_lmms against
lmms-eval 0.7.3, tests/test_paper_scorer_references.py against the release's algorithms. Deterministic, at least
1,000 per benchmark, with the edge cases a model produces: case, articles, punctuation, numbers, whitespace, letters
inside words, refusals, empty, very long, and near misses of each gold answer (one to several edits)."""

from __future__ import annotations

import random
from collections.abc import Sequence

EDGES = ["", " ", "\n", "\t", "  ", "I cannot answer that.", "Sorry, I don't know.", "None", "N/A", "unanswerable",
         "The answer is", "a", "an", "the", ".", "...", "?", "!", "-", "0", "00", "1,000", "1000", "1.000", "3.5",
         "½", "ß", "straße", "ＣＡＴ", "café", "naïve", "x" * 200, "word " * 60]  # fmt: skip
PREFIXES = ["", "the ", "The ", "a ", "An ", "Answer: ", "The answer is ", " ", "  ", "\n"]
SUFFIXES = ["", ".", "!", "?", " .", "..", ",", "%", " ", "  ", "\n", ".\n\nExplanation: it is shown."]


def _edit(text: str, rng: random.Random) -> str:
    """``text`` with one random character inserted, deleted, replaced or its case flipped."""
    if not text:
        return rng.choice("abc1 ")
    i = rng.randrange(len(text))
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + rng.choice("abcxyz0123 .-") + text[i:]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + rng.choice("abcxyz0123 .-") + text[i + 1 :]
    return text[:i] + text[i].swapcase() + text[i + 1 :]


def answers_for(golds: Sequence[str], n: int = 1000, seed: int = 0) -> list[str]:
    """At least ``n`` answers around ``golds``: the edge cases, each gold with every prefix and suffix, and random
    near misses (1-4 edits) of golds and their variants."""
    rng = random.Random(seed)
    out = list(EDGES)
    for gold in golds:
        out += [f"{p}{gold}{s}" for p in PREFIXES for s in SUFFIXES]
        out += [gold.upper(), gold.lower(), gold.title(), f"{gold} {gold}", gold.replace(" ", "  "), gold.replace(" ", "")]
    while len(out) < n:
        text = rng.choice(out[len(EDGES):] or list(golds))
        for _ in range(rng.randint(1, 4)):
            text = _edit(text, rng)
        out.append(text)
    return out
