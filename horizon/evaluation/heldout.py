"""An organism's held-out accuracy through the ordinary evaluation path: what its model card and the shipped-weights
test report, and what ``horizon eval --model <organism> --bench synth`` prints."""

from __future__ import annotations

from pathlib import Path

from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.synth import HELD_OUT_ROWS, HELD_OUT_SEED, rows
from horizon.evaluation.loop import evaluate
from horizon.models.loading import load_model
from horizon.schedule import Schedule


def heldout_run(model_dir: Path, name: str, n: int = HELD_OUT_ROWS) -> tuple[dict[str, float], dict[str, str]]:
    """Accuracy (percent) overall, per family and per task on ``synth.rows(n, seed=HELD_OUT_SEED)``, unpruned,
    through ``evaluate`` (greedy generation, the benchmark's scorer), and the predictions (row id -> answer) they
    come from."""
    bench = BENCHMARKS.get("synth")
    samples = [bench.to_sample(r, i) for i, r in enumerate(rows(n, seed=HELD_OUT_SEED))]
    loaded = load_model(name, path=model_dir)
    result = evaluate(loaded, bench, samples, Schedule(), seed=0, batch=24)
    if result.failures:
        raise RuntimeError(f"{len(result.failures)} held-out samples failed: {result.failures[:2]}")
    return {k: round(v, 2) for k, v in sorted(result.metrics.items())}, dict(result.predictions)
