"""``horizon bench suite``'s batched-evaluation measurement (horizon/bench/suite.py)."""

from __future__ import annotations

import pytest

from horizon.matrix import organism_matrix
from horizon.models.loading import load_model
from horizon.speed.suite import bench_batched


def test_batched_evaluation_bench_compares_like_with_like() -> None:
    loaded = load_model("organism-llava")
    r = bench_batched(loaded, samples=3, batch=2)  # a full batch and a short one
    expected = [c for c in organism_matrix() if c.model == "organism-llava" and c.benchmark == "synth-fine"]
    assert r.samples == 3 and r.schedules == len(expected) and r.same_answers
    assert r.one_by_one_s > 0 and r.batched_s > 0 and r.speedup == r.one_by_one_s / r.batched_s
    with pytest.raises(ValueError, match="no organism cases on mme"):
        bench_batched(loaded, bench_name="mme")
