"""The information study on a tiny model: prompts of different visual-token counts (Qwen), flat metrics; windows
and the paper's answer rule, a sample whose grid the window does not tile."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from PIL import Image

from horizon.benchmarks.fixtures import write_parquet
from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.samples import load_samples
from horizon.evaluation.study import StudyConfig, run_study, study_metrics
from horizon.information import PAPER_ANSWER_RULE


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


def test_window_study_with_the_paper_answer_rule(tiny_model, tmp_path):
    write_parquet("mme", tmp_path / "mme")
    bench = BENCHMARKS.get("mme")
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    samples = [replace(samples[0], image=_png(448, 448)), replace(samples[1], image=_png(420, 336))]  # 16x16, 12x15
    loaded = tiny_model("tiny-qwen2.5-vl")
    config = StudyConfig(layers=(9,), methods=(), oracle_keeps=(), withdraw=False, window=2, answer_rule="paper")
    study = run_study(loaded, bench, samples, config)
    assert study.n == 1 and study.window == 2 and study.to_dict()["window"] == 2 and study.grid == (16, 16)
    assert study.failures == (f"{samples[1].id}: window 2 does not tile the 12x15 visual grid: allowed windows "
                              "divide both sides (1, 3)",)  # fmt: skip
    assert study.rules["answer"] == PAPER_ANSWER_RULE and "2x2 windows" in study.rules["removal"]
    example = study.example[9]
    assert example[0] == example[1] == example[16] == example[17] != example[2]  # window 0 is tokens 0, 1, 16, 17


def test_study_config_refuses_bad_windows_and_rules():
    with pytest.raises(ValueError, match="window 0 must be a whole number >= 1"):
        StudyConfig(window=0)
    with pytest.raises(ValueError, match="answer rule 'best' is not one of frequent, paper"):
        StudyConfig(answer_rule="best")
    with pytest.raises(ValueError, match="defined for textvqa, textvqa-ocr, mme"):
        StudyConfig(answer_rule="paper").check_benchmark("pope")
