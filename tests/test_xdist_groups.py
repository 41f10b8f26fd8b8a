"""The suite relies on pytest-xdist's ``--dist loadgroup`` to run each model's cases on one worker (one model load,
one sweep pass per group). pytest 9.2 silently broke it (pytest-dev/pytest-xdist#1386): every sweep group then ran
on both workers. This runs a small session the way the suite does and fails if a group is split."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MODULE = '''
import os
import pytest

@pytest.mark.parametrize("i", [pytest.param(i, marks=pytest.mark.xdist_group(f"model{i % 2}")) for i in range(12)])
def test_case(i):
    with open(os.path.join(os.environ["GROUPS_SEEN"], str(i)), "w") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"])
'''


def test_each_xdist_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_groups.py").write_text(MODULE)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --dist loadgroup\n")
    (tmp_path / "seen").mkdir()
    env = {**os.environ, "GROUPS_SEEN": str(tmp_path / "seen")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", "test_groups.py"],
                          cwd=tmp_path, capture_output=True, text=True, check=False, env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    seen = {int(p.name): p.read_text() for p in (tmp_path / "seen").iterdir()}
    assert len(seen) == 12
    for group in (0, 1):
        workers = {w for i, w in seen.items() if i % 2 == group}
        assert len(workers) == 1, f"group model{group} ran on {sorted(workers)}: --dist loadgroup is not grouping"
