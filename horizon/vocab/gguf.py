"""A small pure reader of a GGUF file's header and metadata (the key/values; tensors are not read).

The format (ggml's ``docs/gguf.md``), little-endian, versions 2 and 3, which share this layout:

- the magic ``b"GGUF"``, a uint32 version, a uint64 tensor count, a uint64 metadata key/value count;
- each key/value: the key as a string, a uint32 value type, the value;
- a string is a uint64 byte length and that many UTF-8 bytes;
- an array is a uint32 element type, a uint64 count and the elements (arrays of arrays are allowed);
- the types: 0 uint8, 1 int8, 2 uint16, 3 int16, 4 uint32, 5 int32, 6 float32, 7 bool, 8 string, 9 array,
  10 uint64, 11 int64, 12 float64.

Version 1 (32-bit counts) and big-endian files (version 3 allows them; their version reads byte-swapped) are
refused with a clear error, as is anything truncated or with an unknown type. Arrays come back as tuples, so a
parsed file is immutable.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Union

MAGIC = b"GGUF"
VERSIONS: tuple[int, ...] = (2, 3)  # the versions read here (same layout); 1 used 32-bit counts
ARRAY = 9
STRING = 8
_SCALARS: dict[int, tuple[str, str]] = {  # type -> (name, struct code)
    0: ("uint8", "B"),
    1: ("int8", "b"),
    2: ("uint16", "H"),
    3: ("int16", "h"),
    4: ("uint32", "I"),
    5: ("int32", "i"),
    6: ("float32", "f"),
    7: ("bool", "?"),
    10: ("uint64", "Q"),
    11: ("int64", "q"),
    12: ("float64", "d"),
}
TYPE_NAMES: Mapping[int, str] = MappingProxyType({**{k: v[0] for k, v in _SCALARS.items()}, 8: "string", 9: "array"})

Scalar = Union[int, float, bool, str]  # noqa: UP007 (a runtime alias; mypy reads it either way)
Value = Union[Scalar, tuple["Value", ...]]  # noqa: UP007


class GGUFError(ValueError):
    """A file that is not GGUF, of another version, or damaged; the message names what and where."""


@dataclass(frozen=True, slots=True)
class GGUF:
    """A GGUF file's header and metadata: ``metadata`` maps each key to its value (arrays as tuples) and
    ``types`` each key to its type name (``"array[string]"`` for an array of strings)."""

    version: int
    tensor_count: int
    metadata: Mapping[str, Value]
    types: Mapping[str, str]

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise GGUFError(f"GGUF version {self.version} is not read here (read: {', '.join(map(str, VERSIONS))})")
        if self.tensor_count < 0:
            raise GGUFError(f"tensor count must be >= 0, got {self.tensor_count}")
        if set(self.metadata) != set(self.types):
            raise GGUFError("metadata and types must have the same keys")

    def get(self, key: str) -> Value:
        """The value of ``key``; an unknown key raises naming the keys there are."""
        try:
            return self.metadata[key]
        except KeyError:
            raise GGUFError(f"GGUF has no metadata key {key!r} (keys: {', '.join(sorted(self.metadata))})") from None


class _Cursor:
    """Reads values from ``data`` from ``pos`` on; every read checks it stays inside the data."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise GGUFError(f"GGUF truncated: {what} needs {n} bytes at offset {self.pos}, "
                            f"the data has {len(self.data) - self.pos} left")  # fmt: skip
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def scalar(self, code: str, what: str) -> int | float | bool:
        value: int | float | bool = struct.unpack_from("<" + code, self.take(struct.calcsize(code), what))[0]
        return value

    def uint(self, code: str, what: str) -> int:
        return int(self.scalar(code, what))

    def string(self, what: str) -> str:
        n = self.uint("Q", f"{what}'s length")
        raw = self.take(n, what)
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError as err:
            raise GGUFError(f"GGUF {what} at offset {self.pos - n} is not UTF-8: {err}") from None

    def value(self, kind: int, what: str) -> tuple[Value, str]:
        if kind in _SCALARS:
            name, code = _SCALARS[kind]
            return self.scalar(code, what), name
        if kind == STRING:
            return self.string(what), "string"
        if kind == ARRAY:
            return self.array(what)
        raise GGUFError(f"GGUF {what} has unknown value type {kind} at offset {self.pos - 4} "
                        f"(known: {', '.join(f'{k} {n}' for k, n in sorted(TYPE_NAMES.items()))})")  # fmt: skip

    def array(self, what: str) -> tuple[tuple[Value, ...], str]:
        kind = self.uint("I", f"{what}'s element type")
        count = self.uint("Q", f"{what}'s length")
        if kind in _SCALARS:  # one unpack for the whole array (token scores and types are 10^5 long)
            name, code = _SCALARS[kind]
            raw = self.take(count * struct.calcsize(code), f"{what} ({count} x {name})")
            return tuple(struct.unpack_from(f"<{count}{code}", raw)), f"array[{name}]"
        if kind == STRING:
            return tuple(self.string(f"{what}[{i}]") for i in range(count)), "array[string]"
        items: list[Value] = []
        name = f"array[{TYPE_NAMES.get(kind, str(kind))}]"
        for i in range(count):
            item, inner = self.value(kind, f"{what}[{i}]")
            items.append(item)
            name = f"array[{inner}]"
        return tuple(items), name


def read_gguf(data: bytes | memoryview) -> GGUF:
    """Parse a GGUF file's bytes (the header and metadata; anything after them is not looked at)."""
    cur = _Cursor(data)
    magic = bytes(cur.take(4, "magic"))
    if magic != MAGIC:
        raise GGUFError(f"not a GGUF file: magic {magic!r}, expected {MAGIC!r}")
    version = cur.uint("I", "version")
    if version not in VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        hint = f" (a big-endian GGUF version {swapped}; only little-endian is read)" if swapped in VERSIONS else ""
        raise GGUFError(f"GGUF version {version}{hint} is not read here (read: {', '.join(map(str, VERSIONS))})")
    tensors = cur.uint("Q", "tensor count")
    count = cur.uint("Q", "metadata count")
    metadata: dict[str, Value] = {}
    types: dict[str, str] = {}
    for i in range(count):
        key = cur.string(f"metadata key {i}")
        if key in metadata:
            raise GGUFError(f"GGUF metadata key {key!r} appears twice")
        kind = cur.uint("I", f"{key!r}'s type")
        metadata[key], types[key] = cur.value(kind, repr(key))
    return GGUF(version, tensors, MappingProxyType(metadata), MappingProxyType(types))


def read_gguf_file(path: Path) -> GGUF:
    """:func:`read_gguf` on a file's bytes; the error names the file."""
    try:
        return read_gguf(path.read_bytes())
    except GGUFError as err:
        raise GGUFError(f"{path}: {err}") from None
