"""One small generic registry: a name -> object map per kind (methods, models, presets).

Registering a name twice raises; an unknown name raises with a "did you mean" suggestion and the list of
what exists. Registries are plain objects owned by the module that defines the kind; nothing global.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """An unknown registry name. A ``KeyError`` and a ``ValueError`` so callers may catch either."""

    def __str__(self) -> str:  # KeyError quotes its argument; show the message as written
        return str(self.args[0])


class DuplicateNameError(ValueError):
    """A name registered twice (``name``: which); a ``ValueError`` so callers may catch either."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class Registry(Generic[T]):
    """Name -> object, for one kind of thing (``kind`` names it in error messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if not name or name != name.strip():
            raise ValueError(f"{self.kind} name {name!r} must be a non-empty string without surrounding spaces")
        if name in self._items and self._items[name] is not item:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered", name)
        self._items[name] = item
        return item

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Additions inside the block stay only if it ends without an exception (a plugin's registrations)."""
        before = dict(self._items)
        try:
            yield
        except BaseException:
            self._items = before
            raise

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(item: T) -> T:
            return self.add(name, item)

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} (available: {', '.join(self.names())})"

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
