"""The README's Python example runs as written (on the tiny model)."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_python_example_runs(monkeypatch, horizon_cache, capsys):
    monkeypatch.setenv("HORIZON_CACHE", str(horizon_cache))
    text = (Path(__file__).parents[1] / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[0].startswith("full ") and out[2].startswith("vtw@16 ")


def test_readme_methods_table_lists_every_registered_method():
    from horizon.methods import METHODS

    text = (Path(__file__).parents[1] / "README.md").read_text()
    for name in METHODS.names():
        assert f"| `{name}` |" in text, name
