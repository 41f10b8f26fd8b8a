from __future__ import annotations

import pytest

from horizon.registry import Registry, UnknownNameError


def test_registry_add_get_names():
    reg: Registry[int] = Registry("thing")
    reg.add("b", 2)
    reg.add("a", 1)
    assert reg.get("a") == 1 and reg.names() == ["a", "b"] and "a" in reg and len(reg) == 2


def test_duplicate_name_raises():
    reg: Registry[object] = Registry("thing")
    reg.add("a", object())
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        reg.add("a", object())


def test_unknown_name_suggests_and_lists():
    reg: Registry[int] = Registry("method")
    reg.add("random", 1)
    reg.add("vtw", 2)
    with pytest.raises(UnknownNameError) as err:
        reg.get("randon")
    assert str(err.value) == "unknown method 'randon'; did you mean 'random'? (available: random, vtw)"
    with pytest.raises(KeyError):
        reg.get("zzz")


def test_bad_names():
    with pytest.raises(ValueError, match="non-empty"):
        Registry[int]("thing").add(" a", 1)
