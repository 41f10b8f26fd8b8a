"""``.github/workflows/nightly.yml`` is valid YAML, and every command in it exists and parses its options: ``horizon``
commands through the real parser, ``pytest suite`` options against the suite's own (``pytest suite --help``)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from horizon.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
NIGHTLY = ROOT / ".github" / "workflows" / "nightly.yml"


def _commands() -> list[list[str]]:
    workflow = yaml.safe_load(NIGHTLY.read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    runs = [s["run"] for s in steps if "run" in s]
    return [shlex.split(line, comments=True) for run in runs for line in run.splitlines() if line.strip()]


def _pytest(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pytest", "suite", *args, "-p", "no:cacheprovider"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def pytest_options() -> str:
    return _pytest("--help")


@pytest.fixture(scope="module")
def pytest_markers() -> set[str]:
    return {line[len("@pytest.mark.") :].split(":")[0] for line in _pytest("--markers").splitlines()
            if line.startswith("@pytest.mark.")}  # fmt: skip


def test_the_nightly_workflow_is_a_scheduled_gpu_job():
    workflow = yaml.safe_load(NIGHTLY.read_text())
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert on["schedule"][0]["cron"] and "gpu" in workflow["jobs"]["suite"]["runs-on"]
    programs = [c[0] for c in _commands()]
    assert programs.count("horizon") >= 2 and programs.count("pytest") >= 2 and set(programs) <= {"pip", "horizon", "pytest"}


@pytest.mark.parametrize("argv", [c for c in _commands() if c[0] == "horizon"], ids=lambda c: " ".join(c[:2]))
def test_each_horizon_command_parses(argv):
    build_parser().parse_args(argv[1:])  # a bad command or option exits (SystemExit), failing the test


@pytest.mark.parametrize("argv", [c for c in _commands() if c[0] == "pytest"], ids=lambda c: " ".join(c[:3]))
def test_each_pytest_command_uses_the_suites_options(argv, pytest_options, pytest_markers):
    assert argv[1] == "suite"
    options = [a.split("=")[0] for a in argv[2:] if a.startswith("--")]
    assert options and [o for o in options if f"{o} " not in pytest_options and f"{o}=" not in pytest_options] == []
    markers = [argv[i + 1] for i, a in enumerate(argv) if a == "-m"]
    assert markers and set(markers) <= pytest_markers, (markers, sorted(pytest_markers))
