"""A fixture for tests that register methods (planted faults, plugins): the method registry and the imported
plugin modules are put back as they were after each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from horizon.methods import METHODS

PLUGIN_MODULES = ("horizon_plugin_", "plug_", "horizon_norm_topk")  # the modules tests import plugins as


@pytest.fixture(name="registry")
def restore_registry() -> Iterator[None]:
    """The method registry and the imported plugin modules as they were before the test."""
    items, modules = dict(METHODS._items), set(sys.modules)
    yield
    METHODS._items.clear()
    METHODS._items.update(items)
    for name in set(sys.modules) - modules:
        if name.startswith(PLUGIN_MODULES):
            del sys.modules[name]
