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


def test_readme_is_a_front_door():
    lines = (Path(__file__).parents[1] / "README.md").read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail into docs/"


def _relative_links(path: Path) -> list[str]:
    """Markdown link targets ``](target)`` and backticked ``docs/...md`` paths that are not URLs or anchors."""
    text = path.read_text()
    found = re.findall(r"\]\(([^)\s]+)\)", text)
    found += re.findall(r"`(docs/[^`\s]*\.md)`", text)
    return [t for t in found if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def test_readme_and_docs_links_point_to_files_that_exist():
    root = Path(__file__).parents[1]
    broken = []
    for doc in [root / "README.md", *sorted((root / "docs").rglob("*.md"))]:
        for target in _relative_links(doc):
            file = target.split("#", 1)[0]
            # a markdown link is relative to its file; a backticked docs/... path to the repository root
            base = root if target.startswith("docs/") and not (doc.parent / file).exists() else doc.parent
            if not (base / file).exists():
                broken.append(f"{doc.relative_to(root)}: {target}")
    assert broken == []


def test_every_test_robustness_md_names_exists():
    """docs/robustness.md backs each line with a named test: each name it gives is a test function in tests/."""
    root = Path(__file__).parents[1]
    named = set(re.findall(r"`(test_[a-z0-9_]+)", (root / "docs" / "robustness.md").read_text()))
    defined = {m for path in (root / "tests").glob("test_*.py") for m in re.findall(r"^def (test_[a-z0-9_]+)",
                                                                                     path.read_text(), re.M)}  # fmt: skip
    assert len(named) >= 15 and sorted(named - defined) == []
