"""The house rules that a reader relies on: imports run one way, and nothing points outside the repository.

Every package and top-level module of ``horizon/`` has a rule in ``ALLOWED``: the units it may import. The units are
listed bottom to top, and a unit may only be allowed units listed before it, so the rules themselves cannot form a
loop; a new package or module without a rule fails. ``python tests/test_layout.py`` prints every unit's allowed
imports, the ones it makes, and any broken rule (exit 1 when one is).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "horizon"

_LEAVES: tuple[str, ...] = ()
_CORE = ("registry", "files", "hub", "metrics", "images", "schedule", "stats")  # foundations: import nothing of horizon
_BELOW_HARNESS = ("horizon", *_CORE, "vocab", "methods", "models", "paper_scaling", "paper_presets", "paper_tables",
                  "protocol", "benchmarks", "engine", "information", "efficiency", "organism", "evaluation")  # fmt: skip
# unit -> the units it may import, bottom to top (a unit is a package or a top-level module; "horizon" is the
# package's own __init__, its version)
ALLOWED: dict[str, tuple[str, ...]] = {
    "horizon": _LEAVES,
    "registry": _LEAVES,  # one small generic Registry
    "files": _LEAVES,  # atomic writes
    "hub": _LEAVES,  # the command that downloads a checkpoint or a dataset (named in messages)
    "metrics": _LEAVES,  # what kind each number is, and its direction
    "images": _LEAVES,
    "schedule": _LEAVES,  # the schedule grammar: one parser
    "stats": _LEAVES,  # pure: numbers in, comparisons out (scipy underneath)
    "vocab": ("registry",),  # real tokenizers fetched from the package index into the user's cache, never committed
    # the methods and their token-view contract sit below the engine and the models
    "methods": ("registry", "schedule"),
    # families, presets, loading; the token view's Tower is the models' to fill
    "models": ("hub", "methods", "registry", "schedule"),
    "paper_scaling": _LEAVES,  # Table 1's settings carried to another depth: a pure rule
    "paper_presets": ("registry", "schedule", "models", "paper_scaling"),
    "paper_tables": ("paper_presets",),
    "protocol": ("models", "paper_presets", "registry"),
    # data loading, prompts, answer extraction and scorers only: no model, engine, method or organism
    "benchmarks": ("hub", "images", "metrics", "protocol", "registry"),
    # the engine never reaches up to evaluation, information, the harness or the report
    "engine": ("methods", "models", "schedule", "registry"),
    "information": ("benchmarks", "engine", "methods", "models", "schedule", "stats"),
    "efficiency": ("engine", "models", "paper_presets", "paper_tables", "protocol", "schedule"),
    # the organisms are models trained here: their data is the synth benchmark; evaluation sits above them
    "organism": ("benchmarks", "models", "registry", "schedule"),
    # the loop that runs a model over samples, its per-sample rows, the information study
    "evaluation": ("benchmarks", "engine", "information", "methods", "metrics", "models", "protocol", "schedule",
                   "stats", "images", "files", "registry", "paper_presets", "efficiency"),
    "integrations": ("engine", "models", "paper_presets", "protocol", "benchmarks", "images", "schedule"),
    # the doctor checks the engine from above, on models it builds; the harness, the suite and the report never
    # reach it
    "doctor": ("efficiency", "engine", "images", "information", "methods", "models", "paper_presets", "schedule",
               "registry", "stats"),
    # the regression harness: the matrix, stand-ins, records, baselines, the case runner; never the report or CLI
    "harness": _BELOW_HARNESS,
    "speed": (*_BELOW_HARNESS, "harness"),  # horizon bench: times the engine, the methods and the suite's runner
    "report": (*_BELOW_HARNESS, "harness"),  # reads records and baselines
    # a method's contract checked (horizon check-method): the doctor's checks and the speed bench, on any method
    "contract": (*_BELOW_HARNESS, "doctor", "speed"),
    # the paper's test applied to any method (horizon verdict): organism sweeps, paired statistics, a page
    "verdict": (*_BELOW_HARNESS, "harness", "report"),
    "cli": (*_BELOW_HARNESS, "harness", "integrations", "doctor", "speed", "report", "contract", "verdict"),
}  # fmt: skip


def units() -> list[str]:
    """Every package (a folder with ``__init__.py``) and top-level module of ``horizon/``, and the package itself."""
    found = ["horizon"]
    for path in sorted(PACKAGE.iterdir()):
        if path.is_dir() and (path / "__init__.py").is_file():
            found.append(path.name)
        elif path.suffix == ".py" and path.name != "__init__.py":
            found.append(path.stem)
    return found


def unit_of(module: str) -> str:
    """The unit a ``horizon...`` module name belongs to (``horizon.engine.run`` -> ``engine``)."""
    parts = module.split(".")
    return "horizon" if len(parts) == 1 else parts[1]


def files_of(unit: str) -> list[Path]:
    if unit == "horizon":
        return [PACKAGE / "__init__.py"]
    folder = PACKAGE / unit
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{unit}.py"]


def _imports(path: Path) -> set[str]:
    """Every ``horizon.*`` module a file imports (at any depth: lazy imports inside functions and imports under
    ``TYPE_CHECKING`` count too; a relative import is resolved against the file's package)."""
    names: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1]) if path.is_relative_to(ROOT) else ""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            if module:
                names.add(module)
                names |= {f"{module}.{a.name}" for a in node.names}
    return {n for n in names if n == "horizon" or n.startswith("horizon.")}


def imports_of(unit: str) -> dict[str, set[str]]:
    """Other units ``unit`` imports -> the files of ``unit`` that do."""
    found: dict[str, set[str]] = {}
    for path in files_of(unit):
        for name in _imports(path):
            other = unit_of(name)
            if other != unit and (other != "horizon" or name == "horizon"):  # "horizon.x" counts as x, not horizon
                found.setdefault(other, set()).add(str(path.relative_to(ROOT)))
    return found


def broken() -> dict[str, dict[str, set[str]]]:
    """unit -> each import its rule forbids -> the files that make it."""
    out = {}
    for unit in ALLOWED:
        bad = {other: files for other, files in imports_of(unit).items() if other not in ALLOWED[unit]}
        if bad:
            out[unit] = bad
    return out


def test_every_package_and_module_has_a_rule() -> None:
    assert sorted(units()) == sorted(ALLOWED), "a package or top-level module of horizon/ without a rule (or a rule " \
                                               "for one that is gone): add it to ALLOWED"


def test_the_rules_run_one_way() -> None:
    """Each unit may import only units listed before it: the rules hold no loop (no A below B below A)."""
    order = list(ALLOWED)
    upward = {u: [a for a in allowed if a not in order[: order.index(u)]] for u, allowed in ALLOWED.items()}
    assert {u: a for u, a in upward.items() if a} == {}


def test_imports_keep_the_rules() -> None:
    assert broken() == {}


def test_nothing_below_the_harness_imports_it_and_it_never_imports_the_report_or_the_cli() -> None:
    """The issue's own words, checked on the imports themselves (not only the table)."""
    above = ("harness", "speed", "report", "contract", "verdict", "cli")  # the harness and what sits on it
    below = [u for u in ALLOWED if u not in above]
    assert [u for u in below if "harness" in imports_of(u)] == []
    assert {"report", "cli", "speed", "doctor"} & set(imports_of("harness")) == set()


def test_the_planted_upward_import_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from horizon.engine.run import run\n    return run\n")
    assert "horizon.engine.run" in _imports(bad)
    assert unit_of("horizon.engine.run") == "engine" and "engine" not in ALLOWED["methods"]


def test_a_relative_import_is_resolved(tmp_path: Path) -> None:
    """``from ..engine import run`` inside horizon/methods/ is an import of horizon.engine."""
    folder = PACKAGE / "methods"
    path = folder / "_planted_relative.py"
    try:
        path.write_text("from ..engine import run\n")
        assert "horizon.engine" in _imports(path)
    finally:
        path.unlink(missing_ok=True)


def test_nothing_points_outside_the_repository() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in [*PACKAGE.rglob("*.py"), *ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md")]
        if "../shared" in p.read_text()
    ]
    assert offenders == []


def main() -> int:
    """Print each unit's allowed imports and the ones it makes, bottom to top; name every broken rule."""
    bad = broken()
    for unit, allowed in ALLOWED.items():
        made = sorted(imports_of(unit))
        print(f"{unit:14} allowed: {', '.join(allowed) or '(nothing of horizon)'}")
        print(f"{'':14} imports: {', '.join(made) or '(nothing of horizon)'}")
        for other, files in sorted(bad.get(unit, {}).items()):
            print(f"{'':14} BROKEN: imports {other} in {', '.join(sorted(files))}")
    missing = sorted(set(units()) - set(ALLOWED))
    for unit in missing:
        print(f"{unit:14} NO RULE: add it to ALLOWED in tests/test_layout.py")
    total = sum(len(v) for v in bad.values())
    print(f"\n{len(ALLOWED)} units, {total} broken rule(s), {len(missing)} without a rule")
    return 1 if total or missing else 0


if __name__ == "__main__":
    sys.exit(main())
