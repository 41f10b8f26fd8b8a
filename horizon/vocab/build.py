"""Build a Hugging Face ``tokenizer.json`` from a GGUF's vocabulary (pure: metadata in, JSON-ready dict out).

Two GGUF tokenizer models are built, as the Hugging Face tokenizers they were converted from:

- ``llama`` (SentencePiece BPE): every piece in a BPE model with byte fallback; the merges are every split of a
  normal piece into two normal pieces, ranked by the piece's score (higher first), which is how SentencePiece
  BPE merges; the text is normalized by prepending ``▁`` (``tokenizer.ggml.add_space_prefix``, default true) and
  replacing spaces by ``▁``. Unknown and control pieces are special added tokens.
- ``gpt2`` (byte-level BPE) with the ``qwen2`` pre-tokenizer: the normal tokens (which must be ids 0..n-1) and
  ``tokenizer.ggml.merges``; NFC, Qwen's split regex, byte-level. Control tokens are special added tokens, other
  user-defined ones plain added tokens; the ``[PAD<id>]`` placeholders llama.cpp pads the vocabulary with are
  left out (their ids are the model's, not the tokenizer's).

A BOS (EOS) is added by the post-processor when ``tokenizer.ggml.add_bos_token`` (``add_eos_token``) says so;
absent, neither is added. Other tokenizer models or pre-tokenizers are refused, naming the ones built here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from horizon.vocab.gguf import GGUF, GGUFError, Value

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6  # llama.cpp's token types
MODELS: tuple[str, ...] = ("llama", "gpt2")
# the pre-tokenizers built for gpt2-type vocabularies: llama.cpp's name -> Hugging Face's split regex
PRE_TOKENIZERS: Mapping[str, str] = MappingProxyType({
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+",
})  # fmt: skip
ROLES: tuple[str, ...] = ("bos", "eos", "unk", "pad")  # GGUF's tokenizer.ggml.<role>_token_id keys ("padding" for pad)


@dataclass(frozen=True, slots=True)
class Built:
    """A rebuilt tokenizer: ``tokenizer`` is tokenizer.json's content; ``special`` maps each role (bos, eos, unk,
    pad) the GGUF names to its token; ``dropped`` counts the placeholder tokens left out."""

    tokenizer: Mapping[str, Any]
    special: Mapping[str, str]
    add_bos: bool
    add_eos: bool
    chat_template: str | None
    dropped: int


def _strings(gguf: GGUF, key: str) -> tuple[str, ...]:
    value = gguf.get(key)
    if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
        raise GGUFError(f"GGUF {key!r} must be an array of strings, got {gguf.types[key]}")
    return value  # type: ignore[return-value]


def _numbers(gguf: GGUF, key: str, count: int) -> tuple[float, ...]:
    value = gguf.get(key)
    if not isinstance(value, tuple) or not all(isinstance(v, int | float) for v in value):
        raise GGUFError(f"GGUF {key!r} must be an array of numbers, got {gguf.types[key]}")
    if len(value) != count:
        raise GGUFError(f"GGUF {key!r} has {len(value)} entries for {count} tokens")
    return value  # type: ignore[return-value]


def _flag(gguf: GGUF, key: str, default: bool) -> bool:
    value = gguf.metadata.get(key, default)
    if not isinstance(value, bool):
        raise GGUFError(f"GGUF {key!r} must be a bool, got {gguf.types[key]}")
    return value


def _token_id(gguf: GGUF, role: str, count: int) -> int | None:
    key = f"tokenizer.ggml.{'padding' if role == 'pad' else 'unknown' if role == 'unk' else role}_token_id"
    value: Value | None = gguf.metadata.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
        raise GGUFError(f"GGUF {key!r} = {value!r} is not a token id (0..{count - 1})")
    return value


def _added(content: str, id_: int, special: bool) -> dict[str, Any]:
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}  # fmt: skip


def _post_processor(bos: str | None, eos: str | None, ids: Mapping[str, int], byte_level: bool) -> Any:
    if bos is None and eos is None:
        return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False} \
            if byte_level else None  # fmt: skip
    ends = [t for t in (bos, eos) if t is not None]

    def seq(part: str) -> list[dict[str, Any]]:
        out = [{"SpecialToken": {"id": bos, "type_id": 0}}] if bos else []
        out.append({"Sequence": {"id": part, "type_id": 0}})
        return out + ([{"SpecialToken": {"id": eos, "type_id": 0}}] if eos else [])

    return {"type": "TemplateProcessing", "single": seq("A"), "pair": seq("A") + seq("B"),
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ends}}  # fmt: skip


def spm_merges(tokens: Sequence[str], scores: Sequence[float], types: Sequence[int]) -> list[list[str]]:
    """SentencePiece BPE as ranked merges: each way to split a normal piece into two normal pieces, the pieces
    with higher scores first (a piece's splits by their halves' ids, as Hugging Face's converter orders them)."""
    ids = {t: i for i, t in enumerate(tokens) if types[i] == NORMAL}
    ranked: list[tuple[float, int, int, int]] = []
    for piece, i in ids.items():
        for cut in range(1, len(piece)):
            left, right = ids.get(piece[:cut]), ids.get(piece[cut:])
            if left is not None and right is not None:
                ranked.append((-scores[i], i, left, right))
    ranked.sort()
    return [[tokens[left], tokens[right]] for _, _, left, right in ranked]


def _unique(tokens: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for i, t in enumerate(tokens):
        if t in ids:
            raise GGUFError(f"GGUF token {t!r} appears twice (ids {ids[t]} and {i})")
        ids[t] = i
    return ids


def _llama(gguf: GGUF, tokens: tuple[str, ...], types: tuple[int, ...]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    scores = _numbers(gguf, "tokenizer.ggml.scores", len(tokens))
    vocab = _unique(tokens)
    unk = _token_id(gguf, "unk", len(tokens))
    kept = (UNKNOWN, CONTROL, USER_DEFINED)  # matched whole, before the model; user-defined ones are not special
    added = [_added(t, i, types[i] != USER_DEFINED) for i, t in enumerate(tokens) if types[i] in kept]
    prefix = _flag(gguf, "tokenizer.ggml.add_space_prefix", True)
    replace = {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
    decoders: list[dict[str, Any]] = [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                      {"type": "ByteFallback"}, {"type": "Fuse"}]  # fmt: skip
    if prefix:
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    body = {
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, replace]}
        if prefix else replace,
        "pre_tokenizer": None,
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {"type": "BPE", "dropout": None, "unk_token": tokens[unk] if unk is not None else None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
                  "byte_fallback": True, "ignore_merges": False, "vocab": vocab,
                  "merges": spm_merges(tokens, scores, types)},
    }  # fmt: skip
    return body, added


def _gpt2(gguf: GGUF, tokens: tuple[str, ...], types: tuple[int, ...]) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    pre = gguf.metadata.get("tokenizer.ggml.pre", "default")
    if pre not in PRE_TOKENIZERS:
        raise GGUFError(f"GGUF pre-tokenizer {pre!r} is not built here (built: {', '.join(PRE_TOKENIZERS)})")
    _unique(tokens)
    normal = [i for i, k in enumerate(types) if k == NORMAL]
    if normal != list(range(len(normal))):
        raise GGUFError("GGUF gpt2 vocabulary: the normal tokens must be ids 0..n-1, before any added token")
    placeholder = [i for i, k in enumerate(types) if k == USER_DEFINED and tokens[i] == f"[PAD{i}]"]
    added = [_added(tokens[i], i, k == CONTROL) for i, k in enumerate(types)
             if k in (CONTROL, USER_DEFINED) and i not in set(placeholder)]  # fmt: skip
    odd = sorted({k for k in types if k not in (NORMAL, CONTROL, USER_DEFINED)})
    if odd:
        raise GGUFError(f"GGUF gpt2 vocabulary has token types {odd}, built here: normal, control, user-defined")
    merges = [m.split(" ") for m in _strings(gguf, "tokenizer.ggml.merges")]
    bad = next((m for m in merges if len(m) != 2), None)
    if bad is not None:
        raise GGUFError(f"GGUF merge {' '.join(bad)!r} is not two tokens separated by one space")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    body = {
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PRE_TOKENIZERS[str(pre)]}, "behavior": "Isolated", "invert": False},
            byte_level]},
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {tokens[i]: i for i in normal}, "merges": merges},
    }  # fmt: skip
    return body, added, len(placeholder)


def build_tokenizer(gguf: GGUF) -> Built:
    """The Hugging Face tokenizer of a GGUF's vocabulary (see the module's docstring for what is built)."""
    model = gguf.get("tokenizer.ggml.model")
    if model not in MODELS:
        raise GGUFError(f"GGUF tokenizer model {model!r} is not built here (built: {', '.join(MODELS)})")
    tokens = _strings(gguf, "tokenizer.ggml.tokens")
    types = tuple(int(t) for t in _numbers(gguf, "tokenizer.ggml.token_type", len(tokens)))
    dropped = 0
    if model == "llama":
        body, added = _llama(gguf, tokens, types)
    else:
        body, added, dropped = _gpt2(gguf, tokens, types)
    special = {r: tokens[i] for r in ROLES if (i := _token_id(gguf, r, len(tokens))) is not None}
    add_bos = _flag(gguf, "tokenizer.ggml.add_bos_token", False)
    add_eos = _flag(gguf, "tokenizer.ggml.add_eos_token", False)
    for role, wanted in (("bos", add_bos), ("eos", add_eos)):
        if wanted and role not in special:
            raise GGUFError(f"GGUF asks to add a {role} token but names no tokenizer.ggml.{role}_token_id")
    ids = {t: i for i, t in enumerate(tokens)}
    post = _post_processor(special["bos"] if add_bos else None, special["eos"] if add_eos else None, ids,
                           byte_level=model == "gpt2")  # fmt: skip
    template = gguf.metadata.get("tokenizer.chat_template")
    if template is not None and not isinstance(template, str):
        raise GGUFError(f"GGUF 'tokenizer.chat_template' must be a string, got {gguf.types['tokenizer.chat_template']}")
    tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
                 "normalizer": body["normalizer"], "pre_tokenizer": body["pre_tokenizer"], "post_processor": post,
                 "decoder": body["decoder"], "model": body["model"]}  # fmt: skip
    return Built(tokenizer, MappingProxyType(special), add_bos, add_eos, template, dropped)
