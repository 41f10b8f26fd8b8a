"""The plugin door (issue 34, horizon/methods/plugins.py): a method from a file, a module or an installed package's
``horizon.methods`` entry point registers through the built-ins' decorator, all or nothing, with errors that name
the plugin and the name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from horizon.cli import main, plugins_first
from horizon.methods import METHODS
from horizon.methods.plugins import PluginError, builtin_names, load_plugin, load_plugins, method_source
from tests.method_registry import restore_registry  # noqa: F401 - the fixture "registry"

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "horizon-norm-topk"
METHOD = '''
import torch
from horizon.methods import register_method

@register_method({name!r}, reference="a test plugin")
def select(view, keep, generators):
    return torch.arange(keep).unsqueeze(0).expand(view.batch, -1)
'''


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_plugin_file_registers_its_methods(tmp_path: Path, registry: None) -> None:
    plugin = load_plugin(str(_file(tmp_path, "mine.py", METHOD.format(name="first-k"))))
    assert plugin.methods == ("first-k",) and plugin.module == "horizon_plugin_mine"
    assert "first-k" in METHODS and method_source(METHODS.get("first-k")).startswith("plugin horizon_plugin_mine (")
    assert load_plugin(str(tmp_path / "mine.py")) == plugin  # loading it again changes nothing
    assert "first-k" not in builtin_names() and "random" in builtin_names()


def test_a_plugin_module_by_name(tmp_path: Path, registry: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _file(tmp_path, "plug_by_name.py", METHOD.format(name="by-name"))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_plugins(["plug_by_name"], entry_points=False)[0].methods == ("by-name",)
    assert method_source(METHODS.get("by-name")) == "plugin plug_by_name"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("raise RuntimeError('no GPU here')", r"plugin .*broken\.py: failed to import \(RuntimeError: no GPU here\)"),
        ("import torch\nx = (", r"plugin .*broken\.py: failed to import \(SyntaxError"),
        ("raise SystemExit(3)", r"plugin .*broken\.py: failed to import \(SystemExit: 3\)"),
        (METHOD.format(name="random"), r"method 'random' shadows the built-in method of that name"),
        (METHOD.format(name="twice") + METHOD.format(name="twice"), r"method 'twice' is already registered \(by plugin"),
        (METHOD.format(name="Bad Name"), r"method name 'Bad Name' cannot be written in a schedule"),
    ],
)  # fmt: skip
def test_a_bad_plugin_is_refused_by_name_and_registers_nothing(tmp_path: Path, registry: None, text: str,
                                                               message: str) -> None:  # fmt: skip
    before = METHODS.names()
    with pytest.raises(PluginError, match=message):
        load_plugin(str(_file(tmp_path, "broken.py", METHOD.format(name="half-way") + text)))
    assert METHODS.names() == before  # nothing half-registered: not even the plugin's first method
    assert "horizon_plugin_broken" not in sys.modules


def test_a_plugin_without_a_method_is_refused(tmp_path: Path, registry: None) -> None:
    with pytest.raises(PluginError, match=r"plugin .*empty\.py: registers no method"):
        load_plugin(str(_file(tmp_path, "empty.py", "x = 1")))


def test_a_second_plugin_cannot_take_a_plugins_name(tmp_path: Path, registry: None) -> None:
    load_plugin(str(_file(tmp_path, "one.py", METHOD.format(name="mine"))))
    with pytest.raises(PluginError, match=r"plugin .*two\.py: method 'mine' is already registered \(by plugin "
                                          r"horizon_plugin_one"):  # fmt: skip
        load_plugin(str(_file(tmp_path, "two.py", METHOD.format(name="mine"))))


def test_missing_files_and_names_are_refused(registry: None) -> None:
    with pytest.raises(PluginError, match=r"plugin nowhere/x\.py: no such file"):
        load_plugin("nowhere/x.py")
    with pytest.raises(PluginError, match=r"plugin no_such_module_xyz: failed to import \(ModuleNotFoundError"):
        load_plugin("no_such_module_xyz")


def test_plugin_goes_anywhere_on_the_command_line() -> None:
    assert plugins_first(["list", "methods", "--plugin", "a.py", "--plugin=b"]) == [
        "--plugin", "a.py", "--plugin=b", "list", "methods"]  # fmt: skip


def test_the_cli_lists_a_plugin_with_its_source(tmp_path: Path, registry: None,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path = _file(tmp_path, "listed.py", METHOD.format(name="listed-k"))
    assert main(["list", "methods", "--plugin", str(path)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("listed-k"))
    assert f"plugin horizon_plugin_listed ({path})" in row and "a test plugin" in row
    assert main(["list", "methods", "--plugin", str(tmp_path / "absent.py")]) == 2
    assert "horizon: error: plugin" in capsys.readouterr().err


def test_an_installed_package_is_found_by_its_entry_point(tmp_path: Path) -> None:
    """The worked example (examples/horizon-norm-topk) installed with pip into a folder of its own; ``horizon list
    methods`` in a fresh process finds it through its ``horizon.methods`` entry point, with no --plugin."""
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
           "--target", str(target), str(EXAMPLE)]  # fmt: skip
    done = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "setuptools" in done.stderr:
        pytest.skip(f"this venv cannot build a package without the index: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    listed = subprocess.run([sys.executable, "-m", "horizon.cli", "list", "methods"], capture_output=True, text=True,
                            env=env, timeout=300)  # fmt: skip
    assert listed.returncode == 0, listed.stderr[-2000:]
    row = next(line for line in listed.stdout.splitlines() if line.startswith("norm-topk"))
    assert "plugin horizon_norm_topk" in row and "hidden" in row
    cache = {"HORIZON_CACHE": str(tmp_path / "cache")}
    checked = subprocess.run([sys.executable, "-m", "horizon.cli", "check-method", "norm-topk", "--quick", "--models",
                              "tiny-llava"], capture_output=True, text=True, env={**env, **cache}, timeout=600)  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    assert "PASS  exact budgets [tiny-llava]" in checked.stdout and "FAIL" not in checked.stdout
    judged = subprocess.run([sys.executable, "-m", "horizon.cli", "verdict", "norm-topk", "--models", "organism-llava",
                             "--benchmarks", "synth-fine", "--rows", "16", "--seeds", "1", "--info-rows", "2", "--out",
                             str(tmp_path / "verdict")], capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert judged.returncode == 0, judged.stderr[-2000:]
    assert "organism-llava · synth-fine (n = 7):" in judged.stdout
    assert "plugin horizon_norm_topk" in (tmp_path / "verdict" / "verdict-norm-topk.md").read_text()


def test_a_report_names_the_plugin_a_row_comes_from(tmp_path: Path, registry: None) -> None:
    from horizon.report.organism import plugin_sources

    assert plugin_sources(["random", "divprune"]) == ""
    assert plugin_sources(["random", "mine-k"]) == "mine-k (a plugin not loaded here)"
    load_plugin(str(_file(tmp_path, "named.py", METHOD.format(name="mine-k"))))
    assert plugin_sources(["random", "mine-k"]).startswith("mine-k (plugin horizon_plugin_named (")
