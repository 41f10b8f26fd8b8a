"""Offline checkpoint resolution and loading: presets, $HORIZON_MODELS, the HF cache, tiny builds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file

from horizon.models.loading import (
    CheckpointNotFoundError,
    check_options,
    load_model,
    resolve_checkpoint,
)
from horizon.models.presets import MODELS
from horizon.models.tiny import build_tiny, ensure_tiny


def test_missing_checkpoint_names_preset_places_and_fix(tmp_path):
    env = {"HORIZON_MODELS": str(tmp_path / "models"), "HF_HUB_CACHE": str(tmp_path / "hf")}
    with pytest.raises(CheckpointNotFoundError) as err:
        resolve_checkpoint("qwen2.5-vl-7b", env=env)
    msg = str(err.value)
    assert "'qwen2.5-vl-7b'" in msg
    for place in (
        "models/qwen2.5-vl-7b",
        "models/Qwen2.5-VL-7B-Instruct",
        "models/Qwen/Qwen2.5-VL-7B-Instruct",
        str(tmp_path / "hf"),
    ):
        assert place in msg
    assert "Qwen/Qwen2.5-VL-7B-Instruct" in msg and "--path" in msg


def test_missing_without_env_says_so(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match=r"\$HORIZON_MODELS \(not set\)"):
        resolve_checkpoint("llava-1.5-13b", env={"HF_HUB_CACHE": str(tmp_path)})


def test_unknown_model_suggests():
    with pytest.raises(ValueError, match="unknown model 'llava-1.5-7'; did you mean 'llava-1.5-7b'"):
        resolve_checkpoint("llava-1.5-7", env={})


def test_explicit_path_must_be_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="no config.json"):
        resolve_checkpoint("llava-1.5-7b", path=tmp_path, env={})


@pytest.fixture(scope="module")
def tiny_llava_dir(horizon_cache) -> Path:
    return ensure_tiny(MODELS.get("tiny-llava"), horizon_cache)


@pytest.mark.parametrize("layout", ["name", "repo", "org/repo"])
def test_found_under_horizon_models(tmp_path, tiny_llava_dir, layout):
    sub = {"name": "llava-1.5-7b", "repo": "llava-1.5-7b-hf", "org/repo": "llava-hf/llava-1.5-7b-hf"}[layout]
    target = tmp_path / sub
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(tiny_llava_dir, target)
    preset, folder = resolve_checkpoint("llava-1.5-7b", env={"HORIZON_MODELS": str(tmp_path)})
    assert preset is MODELS.get("llava-1.5-7b") and folder == target


def test_found_in_hf_cache_offline(tmp_path, tiny_llava_dir):
    repo = tmp_path / "models--llava-hf--llava-1.5-7b-hf"
    snap = repo / "snapshots" / ("a" * 40)
    shutil.copytree(tiny_llava_dir, snap)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    preset, folder = resolve_checkpoint("llava-1.5-7b", env={"HF_HUB_CACHE": str(tmp_path)})
    assert folder == snap
    loaded = load_model("llava-1.5-7b", env={"HF_HUB_CACHE": str(tmp_path)})
    assert loaded.name == "llava-1.5-7b" and loaded.n_layers == 32


def test_checkpoint_folder_by_path(tiny_llava_dir):
    loaded = load_model(str(tiny_llava_dir))
    assert loaded.preset is None and loaded.adapter.family == "llava"


def test_tiny_build_is_deterministic_and_reloads_through_the_same_code(tmp_path, tiny_llava_dir):
    preset = MODELS.get("tiny-llava")
    build_tiny(preset, tmp_path / "again")
    a, b = load_file(tiny_llava_dir / "model.safetensors"), load_file(tmp_path / "again" / "model.safetensors")
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
    assert (tiny_llava_dir / "tokenizer.json").read_text() == (tmp_path / "again" / "tokenizer.json").read_text()
    for f in ("config.json", "model.safetensors", "tokenizer.json", "processor_config.json"):
        assert (tiny_llava_dir / f).is_file()


def test_tiny_geometry(tiny_model):
    from horizon.engine.run import prepare
    from horizon.images import demo_image

    llava, qwen = tiny_model("tiny-llava"), tiny_model("tiny-qwen2.5-vl")
    assert prepare(llava, [demo_image()], ["q?"]).n_visual == 576 and llava.n_layers == 32
    assert qwen.n_layers == 28
    from PIL import Image

    small = prepare(qwen, [Image.new("RGB", (112, 112))], ["q?"])
    large = prepare(qwen, [demo_image()], ["q?"])
    assert small.n_visual == 16 and large.n_visual == 192  # dynamic resolution: (H/28)·(W/28)
    assert "mm_token_type_ids" in large.inputs


@pytest.mark.parametrize(
    ("dtype", "attn", "device", "message"),
    [
        ("float64", "sdpa", "cpu", "dtype 'float64' is not one of float32, float16, bfloat16"),
        ("float32", "flash", "cpu", "attention implementation 'flash' is not one of sdpa, eager, flash_attention_2"),
        ("float16", "flash_attention_2", "cpu", "flash"),
        ("float32", "sdpa", "cuda", "CUDA is not available"),
    ],
)
def test_bad_options(dtype, attn, device, message):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match=message):
        check_options(dtype, attn, device)


def test_sgl_guides_share_family_and_image_geometry():
    guided = [p for _, p in MODELS.items() if p.guide is not None]
    assert {p.name for p in guided} == {"llava-1.5-13b", "qwen2.5-vl-7b", "qwen3-vl-4b", "qwen3-vl-8b"}
    for preset in guided:
        guide = MODELS.get(preset.guide)
        assert guide.family == preset.family and guide.arch.hidden < preset.arch.hidden  # smaller, same family
        assert (guide.visual_tokens, guide.min_pixels, guide.max_pixels) == (
            preset.visual_tokens,
            preset.min_pixels,
            preset.max_pixels,
        )
