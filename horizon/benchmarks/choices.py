"""Rule-based extraction of a multiple-choice letter from a free-form answer (no network, no randomness).

1. The letter: after turning ``.()[],:;!*#{}`` into spaces, exactly one option letter stands alone as a word
   (``A``, ``(B)``, ``C.``, ``The answer is D``) -> that letter (lmms-eval / VLMEvalKit ``can_infer_option``);
   a lone ``A`` in an answer of more than 3 words is read as the article, not the option (as VLMEvalKit warns).
2. Else the text: exactly one option's text occurs in the answer, case-insensitively -> its letter
   (``can_infer_text``).
3. Else no answer (scored wrong). Where lmms-eval would then ask a GPT judge or draw a random letter, we do not.
"""

from __future__ import annotations

from collections.abc import Mapping


def extract_choice(answer: str, options: Mapping[str, str]) -> str | None:
    """The chosen option letter, or None; ``options`` maps letters to option texts."""
    text = answer
    for ch in ".()[],:;!*#{}":
        text = text.replace(ch, " ")
    words = set(text.split())
    named = [letter for letter in options if letter in words]
    if len(named) == 1 and not (named[0] == "A" and len(text.split()) > 3):
        return named[0]
    lowered = answer.lower()
    by_text = [letter for letter, option in options.items() if str(option).lower() and str(option).lower() in lowered]
    return by_text[0] if len(by_text) == 1 else None
