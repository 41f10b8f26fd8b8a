"""The information study on a tiny model: prompts of different visual-token counts (Qwen), flat metrics."""

from __future__ import annotations

import io
from dataclasses import replace

from PIL import Image

from horizon.benchmarks.fixtures import write_parquet
from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.samples import load_samples
from horizon.evaluation.study import StudyConfig, run_study, study_metrics


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_study_with_different_token_counts_and_its_metrics(tiny_model, tmp_path):
    write_parquet("pope", tmp_path / "pope")
    bench = BENCHMARKS.get("pope")
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    samples = [replace(samples[0], image=_png(448, 448)), replace(samples[1], image=_png(560, 336))]
    loaded = tiny_model("tiny-qwen2.5-vl")
    config = StudyConfig(layers=(0, 9, 27), methods=("random",), keeps=(0.5,), oracle_keeps=(), max_new_tokens=2)
    study = run_study(loaded, bench, samples, config)
    assert study.n == 2 and study.maps == {} and set(study.example) == {0, 9, 27}  # first sample's maps only
    assert study.n_visual == (256 + 240) / 2  # (448/28)^2 and (560/28)(336/28) merged 2x2 tokens
    metrics = study_metrics(study)
    assert metrics["horizon_layer"] == (-1 if study.horizon is None else study.horizon)
    assert {"info_mean@0", "info_var@27", "retained_random0.5@9", "withdraw@27:f1", "full:f1"} <= set(metrics)
    assert not any(k.startswith("oracle") for k in metrics)
