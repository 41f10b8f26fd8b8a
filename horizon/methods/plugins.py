"""Methods from outside horizon: plugins register through the same :func:`register_method` the built-ins use.

Two doors, no edit of horizon (docs/plugins.md):

* an installed package's entry point in the group ``horizon.methods`` (``[project.entry-points."horizon.methods"]``
  ``my_method = "my_package.my_module"``), read by :func:`load_entry_points` when the ``horizon`` command and
  ``pytest suite`` start;
* ``--plugin MODULE_OR_FILE`` on every ``horizon`` command and on ``pytest suite``: an importable module name, or
  a ``.py`` file (:func:`load_plugin`).

Importing the plugin registers its methods. A plugin is taken all or nothing: one that fails to import, registers
no method, registers a name twice, shadows a built-in or names a method the schedule grammar cannot spell is
refused with a :class:`PluginError` naming the plugin and the name, and none of its methods stay registered.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType

from horizon.methods.base import METHODS, Method
from horizon.registry import DuplicateNameError

ENTRY_POINT_GROUP = "horizon.methods"
BUILTIN_PACKAGE = "horizon.methods"
NAME = re.compile(r"[a-z][a-z0-9_\-]*")  # a method name the schedule grammar can spell (horizon/schedule.py)


class PluginError(ValueError):
    """A plugin that cannot be taken (names the plugin and what is wrong)."""


@dataclass(frozen=True)
class Plugin:
    """A loaded plugin: where it came from and the methods it registered."""

    spec: str  # the module name or file given, or the entry point
    module: str  # the imported module's name
    methods: tuple[str, ...]


def method_source(method: Method) -> str:
    """Where ``method`` comes from: "built-in", or its plugin's module (and file)."""
    module = method.select.__module__
    if module.startswith(BUILTIN_PACKAGE + ".") and not module.startswith(f"{BUILTIN_PACKAGE}.plugins"):
        return "built-in"
    loaded = sys.modules.get(module)
    where = getattr(loaded, "__file__", None)
    return f"plugin {module}" + (f" ({where})" if where and module.startswith(_FILE_PREFIX) else "")


def builtin_names() -> frozenset[str]:
    return frozenset(name for name, m in METHODS.items() if method_source(m) == "built-in")


_FILE_PREFIX = "horizon_plugin_"  # the module name a plugin file is imported under


def _module_name(path: Path) -> str:
    stem = re.sub(r"\W", "_", path.parent.name if path.stem == "__init__" else path.stem)
    return f"{_FILE_PREFIX}{stem}"


def _import_file(path: Path) -> ModuleType:
    name = _module_name(path)
    already = sys.modules.get(name)
    if already is not None and Path(getattr(already, "__file__", "")).resolve() == path.resolve():
        return already
    if already is not None:
        raise PluginError(f"plugin {path}: another plugin file named {path.name} is already loaded "
                          f"({already.__file__}); rename one")  # fmt: skip
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin {path}: not a Python file horizon can import")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _registered_by(module: str) -> tuple[str, ...]:
    return tuple(name for name, m in METHODS.items() if m.select.__module__ == module)


def _guarded_import(spec: str, module_name: str, do_import: Callable[[], ModuleType]) -> ModuleType:
    """Import ``module_name`` through ``do_import`` with the registry taken all or nothing, turning every failure
    into a :class:`PluginError` that names ``spec`` (the module is forgotten again on failure)."""
    builtins = builtin_names()
    before = set(METHODS.names())
    try:
        with METHODS.all_or_nothing():
            try:
                module = do_import()
            except DuplicateNameError as err:  # told while the first registration is still there to name
                if err.name in builtins:
                    raise PluginError(f"plugin {spec}: method {err.name!r} shadows the built-in method of that name; "
                                      "choose another name") from None  # fmt: skip
                owner = method_source(METHODS.get(err.name))
                raise PluginError(f"plugin {spec}: method {err.name!r} is already registered (by {owner})") from None
            added = sorted(set(METHODS.names()) - before)
            bad = [n for n in added if not NAME.fullmatch(n)]
            if bad:
                raise PluginError(f"plugin {spec}: method name {bad[0]!r} cannot be written in a schedule (lowercase "
                                  "letters, digits, '-' and '_', starting with a letter)")  # fmt: skip
    except BaseException as err:
        sys.modules.pop(module_name, None)
        if isinstance(err, (PluginError, KeyboardInterrupt)):
            raise
        raise PluginError(f"plugin {spec}: failed to import ({type(err).__name__}: {err})") from None
    return module


def _taken(spec: str, module: ModuleType) -> Plugin:
    methods = _registered_by(module.__name__)
    if not methods:
        raise PluginError(f"plugin {spec}: registers no method (decorate a selection function with "
                          "horizon.methods.register_method; docs/plugins.md)")  # fmt: skip
    return Plugin(spec, module.__name__, methods)


def load_plugin(spec: str) -> Plugin:
    """Import ``spec`` (a module name, or a path to a ``.py`` file) and take the methods it registers."""
    if not spec.strip():
        raise PluginError("--plugin needs a module name or a .py file")
    path = Path(spec)
    if spec.endswith(".py") or path.suffix == ".py" or "/" in spec:
        if not path.is_file():
            raise PluginError(f"plugin {spec}: no such file (give an importable module name or a .py file)")
        module = _guarded_import(spec, _module_name(path), lambda: _import_file(path))
    else:
        module = _guarded_import(spec, spec, lambda: importlib.import_module(spec))
    return _taken(spec, module)


def load_entry_points() -> list[Plugin]:
    """Every installed package's ``horizon.methods`` entry point, imported and taken as :func:`load_plugin` does."""
    plugins = []
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"entry point {ep.name} = {ep.value}" + (f" ({ep.dist.name})" if ep.dist is not None else "")
        plugins.append(_taken(where, _guarded_import(where, ep.module, partial(importlib.import_module, ep.module))))
    return plugins


def load_plugins(specs: Iterable[str] = (), *, entry_points: bool = True) -> list[Plugin]:
    """The installed entry points (unless ``entry_points`` is False), then each ``--plugin`` in order."""
    plugins = load_entry_points() if entry_points else []
    return plugins + [load_plugin(spec) for spec in specs]
