"""``horizon bench suite`` (horizon/speed/suite.py): the cases as ``pytest suite`` runs them, and the batched-
evaluation measurement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from horizon.harness.matrix import Case, organism_matrix, sweep_groups
from horizon.harness.records import Record
from horizon.harness.runner import ORGANISM_BATCH, CaseRunner
from horizon.models.loading import load_model
from horizon.speed.suite import bench_batched, bench_suite


def test_bench_suite_runs_the_suites_runners_and_sweep_groups(monkeypatch: pytest.MonkeyPatch,
                                                               horizon_cache: Path) -> None:  # fmt: skip
    from horizon.harness.matrix import default_matrix

    calls: list[tuple[str, int, int, int]] = []  # case, its group's size, samples per forward, samples run
    run = CaseRunner.run

    def spy(self: CaseRunner, case: Case, group: Sequence[Case] = ()) -> Record:
        record = run(self, case, group)
        calls.append((case.id, len(group), self.batch, record.n))
        return record

    monkeypatch.setattr(CaseRunner, "run", spy)
    default = default_matrix()
    sweep = [c for c in default if c.model == "tiny-llava" and "sweep" in c.marks]
    # two organism cases of one group on 16 of its rows (the group is found by case id, the rows by the case)
    fine = [c for c in default if c.model == "organism-llava" and c.benchmark == "synth-fine" and len(c.seeds) == 1]
    organism = [replace(c, limit=16) for c in fine[:2]]
    plain = [c for c in default if c.model == "tiny-qwen2.5-vl" and "sweep" not in c.marks][:1]
    r = bench_suite(horizon_cache, cases=plain + sweep + organism)
    assert r.cases == len(calls) == 1 + len(sweep) + 2 and 0 < r.model_s <= r.case_s and r.overhead < 1
    groups = sweep_groups(default)  # the suite's groups, whole: random's 3 seeds make a pass of their own
    assert len(sweep) == 12 and {len(groups[c.id]) for c in sweep} == {4, 8}
    assert all(len(groups[c.id]) == 4 for c in sweep if c.schedule.startswith("random@"))
    assert calls[0][1:3] == (0, 1)  # no sweep group, one sample per forward
    assert {c[1:3] for c in calls[1:13]} == {(4, 1), (8, 1)}  # each tiny sweep group in one pass per seed
    assert calls[13:] == [(c.id, 2, ORGANISM_BATCH, 16) for c in organism]  # cut to the chosen cases
    calls.clear()
    assert bench_suite(horizon_cache, 3, cases=sweep).cases == 3 and {c[1] for c in calls} == {3}


def test_batched_evaluation_bench_compares_like_with_like() -> None:
    loaded = load_model("organism-llava")
    r = bench_batched(loaded, samples=3, batch=2)  # a full batch and a short one
    expected = [c for c in organism_matrix() if c.model == "organism-llava" and c.benchmark == "synth-fine"]
    assert r.samples == 3 and r.schedules == len(expected) and r.same_answers
    assert r.one_by_one_s > 0 and r.batched_s > 0 and r.speedup == r.one_by_one_s / r.batched_s
    with pytest.raises(ValueError, match="no organism cases on mme"):
        bench_batched(loaded, bench_name="mme")
