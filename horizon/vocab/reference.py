"""llama.cpp's vocabulary reference files: strings (``.gguf.inp``) and the Hugging Face tokenizer's ids for them
(``.gguf.out``), as llama.cpp's ``convert_hf_to_gguf_update.py`` writes them.

``.inp`` holds each string followed by ``"\\n__ggml_vocab_test__\\n"`` (so a string may itself hold newlines);
``.out`` holds one line per string: its ids, each written as a space and the number (``tokenizer.encode(text)``
without special tokens, so no BOS), an empty line for no ids.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = "\n__ggml_vocab_test__\n"


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference string and the ids the Hugging Face tokenizer gives it."""

    text: str
    ids: tuple[int, ...]


def parse_references(inp: str, out: str) -> tuple[Reference, ...]:
    """The reference pairs of an ``.inp`` and an ``.out`` file's text; a malformed pair of files raises."""
    if not inp.endswith(SEPARATOR):
        raise ValueError(f"reference strings must each end with {SEPARATOR!r}; the text ends {inp[-40:]!r}")
    texts = inp[: -len(SEPARATOR)].split(SEPARATOR)
    if not out.endswith("\n"):
        raise ValueError(f"reference ids must end with a newline; the text ends {out[-40:]!r}")
    lines = out[:-1].split("\n")
    if len(texts) != len(lines):
        raise ValueError(f"{len(texts)} reference strings but {len(lines)} lines of ids")
    pairs = []
    for k, (text, line) in enumerate(zip(texts, lines, strict=True)):
        if line and not line.startswith(" "):
            raise ValueError(f"reference ids line {k + 1} must be ' <id>' repeated, got {line[:40]!r}")
        try:
            ids = tuple(int(x) for x in line.split())
        except ValueError:
            raise ValueError(f"reference ids line {k + 1} holds a non-integer: {line[:80]!r}") from None
        pairs.append(Reference(text, ids))
    return tuple(pairs)
