"""The organism_full tier (horizon/harness/matrix.py): the organisms' finding cases on 4200 held-out rows, apart from the
default's in ids, sweep passes and reports, and never run unless asked for by marker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from horizon.harness.matrix import ORGANISM_FULL_ROWS, all_cases, organism_matrix, sweep_groups

ROOT = Path(__file__).resolve().parents[1]


def test_the_tier_is_the_default_organism_cases_on_more_rows():
    default, tier = organism_matrix(), organism_matrix(ORGANISM_FULL_ROWS)
    assert [c.id + "-heldout4200" for c in default] == [c.id for c in tier]
    assert all(c.marks == ("organism_full", "sweep") for c in tier)
    ids = {c.id for c in all_cases()}
    assert {c.id for c in tier} <= ids and {c.id for c in default} <= ids


def test_a_sweep_pass_never_mixes_tiers():
    groups = sweep_groups(organism_matrix() + organism_matrix(ORGANISM_FULL_ROWS))
    assert all(len({c.held_out for c in group}) == 1 for group in groups.values())


def test_the_tier_runs_only_when_its_marker_is_named():
    def collected(*args: str) -> list[str]:
        out = subprocess.run([sys.executable, "-m", "pytest", "suite", "--collect-only", "-q", "-p", "no:cacheprovider",
                              *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
        return [line for line in out.splitlines() if "::test_" in line]

    assert not any("heldout" in line for line in collected("-k", "organism-llava-synth-fine-full"))
    (only,) = collected("-m", "organism_full", "-k", "organism-llava-synth-fine-full")
    assert only.endswith("[organism-llava-synth-fine-full-heldout4200]")
