"""The house rules that a reader relies on: imports run one way, and nothing points outside the repository."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "horizon"


def _imports(path: Path) -> set[str]:
    """Every ``horizon.*`` module a file imports (at any depth: lazy imports inside functions count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n.startswith("horizon")}


def _violations(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((PACKAGE / package).rglob("*.py")):
        bad = sorted(n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in forbidden))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # data loading, prompts, answer extraction and scorers only
        ("benchmarks", ("horizon.engine", "horizon.information", "horizon.organism", "horizon.evaluation",
                        "horizon.methods", "horizon.models")),
        # the methods and their token-view contract sit below the engine
        ("methods", ("horizon.engine", "horizon.models", "horizon.evaluation", "horizon.information", "horizon.doctor")),
        # the engine never reaches up to evaluation, information or the report
        ("engine", ("horizon.evaluation", "horizon.information", "horizon.report", "horizon.cli", "horizon.matrix",
                    "horizon.doctor")),
        ("information", ("horizon.evaluation", "horizon.report", "horizon.cli", "horizon.matrix")),
        ("evaluation", ("horizon.report", "horizon.cli", "horizon.doctor")),
        # the doctor checks the engine from above, on models it builds; the suite and the report never reach it
        ("doctor", ("horizon.evaluation", "horizon.report", "horizon.cli", "horizon.matrix")),
        ("report", ("horizon.doctor",)),
        # the statistics are pure: numbers in, comparisons out (scipy underneath); everything else reads them
        ("stats", ("horizon.engine", "horizon.methods", "horizon.models", "horizon.benchmarks", "horizon.evaluation",
                   "horizon.information", "horizon.report", "horizon.cli", "horizon.results", "horizon.baselines",
                   "horizon.matrix", "horizon.doctor", "horizon.organism")),
    ],
)  # fmt: skip
def test_imports_run_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    assert _violations(package, forbidden) == {}


def test_the_planted_upward_import_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from horizon.engine.run import run\n    return run\n")
    assert "horizon.engine.run" in _imports(bad)


def test_nothing_points_outside_the_repository() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in [*PACKAGE.rglob("*.py"), *ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md")]
        if "../shared" in p.read_text()
    ]
    assert offenders == []
