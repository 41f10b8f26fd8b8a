"""Broken checkpoints and bad devices end in one clear error naming the file or value, never a library traceback.

Each damaged checkpoint is a copy of a tiny model's folder with one file broken. Every error is a
``ValueError`` (``BadCheckpointError``), which ``horizon`` prints as ``horizon: error: ...`` with exit 2.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from horizon.cli import main
from horizon.models import loading
from horizon.models.loading import BUNDLED, BadCheckpointError, check_device, check_options, load_model
from horizon.models.presets import MODELS
from horizon.models.tiny import ensure_tiny

FAMILIES = {"tiny-llava": "llava", "tiny-qwen2.5-vl": "qwen2_5_vl"}


@pytest.fixture(scope="module")
def tiny_dirs(horizon_cache: Path) -> dict[str, Path]:
    return {name: ensure_tiny(MODELS.get(name), horizon_cache) for name in FAMILIES}


def copy_of(tiny_dirs: dict[str, Path], tmp_path: Path, name: str = "tiny-llava") -> Path:
    target = tmp_path / name
    shutil.copytree(tiny_dirs[name], target)
    return target


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# 1. damaged weights -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: truncate(p),  # a copy cut short: the header promises more bytes than there are
        lambda p: truncate(p, 0.0001),  # cut inside the header
        lambda p: p.write_bytes(b"<html>404 Not Found</html>" * 4),  # an error page saved as the file
        lambda p: p.write_bytes(b""),
    ],
    ids=["truncated", "truncated-header", "garbage", "empty"],
)
@pytest.mark.parametrize("name", list(FAMILIES))
def test_damaged_weights_name_the_file(tiny_dirs, tmp_path, name, damage):
    folder = copy_of(tiny_dirs, tmp_path, name)
    damage(folder / "model.safetensors")
    with pytest.raises(ValueError) as err:
        load_model(str(folder))
    msg = str(err.value)
    assert isinstance(err.value, BadCheckpointError)
    assert f"{folder / 'model.safetensors'} is damaged" in msg
    assert "truncated or not a safetensors file" in msg and "re-download" in msg


def test_damaged_weights_under_a_preset_say_how_to_download(tiny_dirs, tmp_path):
    folder = copy_of(tiny_dirs, tmp_path)
    truncate(folder / "model.safetensors")
    with pytest.raises(ValueError, match=r"is damaged .*hf download llava-hf/llava-1\.5-7b-hf"):
        load_model("llava-1.5-7b", path=folder)


@pytest.fixture(scope="module")
def sharded(tiny_dirs, tmp_path_factory) -> Path:
    """tiny-llava saved in three safetensors shards with an index, as real checkpoints are."""
    folder = tmp_path_factory.mktemp("sharded") / "tiny-llava"
    shutil.copytree(tiny_dirs["tiny-llava"], folder)
    (folder / "model.safetensors").unlink()
    load_model(str(tiny_dirs["tiny-llava"])).model.save_pretrained(folder, max_shard_size="2MB")
    assert len(list(folder.glob("model-*-of-*.safetensors"))) > 1
    return folder


def sharded_copy(sharded: Path, tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "sharded"
    shutil.copytree(sharded, folder)
    return folder, sorted(folder.glob("model-*-of-*.safetensors"))[1]


def test_intact_sharded_checkpoint_loads(sharded):
    assert load_model(str(sharded)).n_layers == 32


@pytest.mark.parametrize("keep", [0.5, 0.0001])
def test_damaged_shard_is_named(sharded, tmp_path, keep):
    folder, shard = sharded_copy(sharded, tmp_path)
    truncate(shard, keep)
    with pytest.raises(ValueError, match=f"{re.escape(str(shard))} is damaged .*truncated or not a safetensors file"):
        load_model(str(folder))


def test_missing_shard_is_named(sharded, tmp_path):
    folder, shard = sharded_copy(sharded, tmp_path)
    shard.unlink()
    with pytest.raises(
        ValueError, match=f"{re.escape(str(folder))} is missing weight shards listed in .*: {shard.name}"
    ):
        load_model(str(folder))


def test_damaged_shard_index_is_named(sharded, tmp_path):
    folder, _ = sharded_copy(sharded, tmp_path)
    (folder / "model.safetensors.index.json").write_text('{"weight_map": ')
    with pytest.raises(
        ValueError, match=f"{re.escape(str(folder / 'model.safetensors.index.json'))} is damaged: not valid JSON"
    ):
        load_model(str(folder))


def test_no_weights_at_all(tiny_dirs, tmp_path):
    folder = copy_of(tiny_dirs, tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ValueError, match=f"{re.escape(str(folder))} has no weights: expected model.safetensors, or "):
        load_model(str(folder))


def test_damage_seen_only_while_loading_is_named_too(tiny_dirs, tmp_path, monkeypatch):
    """Without the header check first, the SafetensorError from from_pretrained is caught at the load point."""
    folder = copy_of(tiny_dirs, tmp_path)
    truncate(folder / "model.safetensors")
    monkeypatch.setattr(loading, "check_checkpoint", lambda folder, preset: "llava")
    with pytest.raises(BadCheckpointError, match=f"{re.escape(str(folder / 'model.safetensors'))} is damaged") as err:
        load_model(str(folder))
    assert type(err.value.__cause__).__name__ == "SafetensorError"


# 2. config.json -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"model_type": "llava",', "is damaged: not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "is damaged: not JSON text"),
        (b"", "is damaged: not valid JSON"),
        (b'["llava"]', "is damaged: it holds a JSON list, not an object"),
        (b'"llava"', "is damaged: it holds a JSON str, not an object"),
        (b'{"architectures": ["LlavaForConditionalGeneration"]}', 'has no "model_type"'),
        (b'{"model_type": "bert"}', "model_type 'bert' is not supported \\(supported: llava, qwen2_5_vl, qwen3_vl, qwen3_vl_moe\\)"),
        (b'{"model_type": ["llava"]}', "model_type \\['llava'\\] is not supported"),
    ],
    ids=["not-json", "binary", "empty", "list", "string", "no-model-type", "other-model-type", "model-type-list"],
)
def test_bad_config_names_the_file(tiny_dirs, tmp_path, content, message):
    folder = copy_of(tiny_dirs, tmp_path)
    (folder / "config.json").write_bytes(content)
    with pytest.raises(ValueError, match=f"^{re.escape(str(folder / 'config.json'))}:? {message}"):
        load_model(str(folder))


@pytest.mark.parametrize("name", ["tokenizer_config.json", "tokenizer.json", "processor_config.json"])
def test_damaged_side_files_are_named(tiny_dirs, tmp_path, name):
    folder = copy_of(tiny_dirs, tmp_path, "tiny-qwen2.5-vl")
    truncate(folder / name)
    with pytest.raises(ValueError, match=f"^{re.escape(str(folder / name))} is damaged: not valid JSON"):
        load_model(str(folder))


# 3. missing tokenizer / processor files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize(
    ("remove", "message"),
    [
        (["tokenizer.json"], "has no complete tokenizer: expected tokenizer_config.json and tokenizer.json .*; "
                             "missing tokenizer.json\\."),
        (["tokenizer_config.json"], "has no complete tokenizer: .*; missing tokenizer_config.json\\."),
        (["tokenizer.json", "tokenizer_config.json"], "has no complete tokenizer: .*; missing tokenizer_config.json and tokenizer.json\\."),
        (["processor_config.json"], 'has no image processor config: expected preprocessor_config.json, or '
                                    'processor_config.json with an "image_processor" entry'),
        (["chat_template.jinja"], "has no chat template: expected chat_template.jinja or chat_template.json"),
    ],
    ids=["tokenizer", "tokenizer-config", "both", "processor", "chat-template"],
)  # fmt: skip
def test_missing_tokenizer_or_processor_files_say_which(tiny_dirs, tmp_path, name, remove, message):
    folder = copy_of(tiny_dirs, tmp_path, name)
    for file in remove:
        (folder / file).unlink()
    with pytest.raises(ValueError, match=f"^{re.escape(str(folder))} {message}") as err:
        load_model(str(folder))
    assert "sentencepiece" not in str(err.value)


def test_processor_config_without_image_processor(tiny_dirs, tmp_path):
    """The old layout keeps the image processor in preprocessor_config.json; neither there means none."""
    folder = copy_of(tiny_dirs, tmp_path)
    (folder / "processor_config.json").write_text(json.dumps({"processor_class": "LlavaProcessor"}))
    with pytest.raises(ValueError, match=f"^{re.escape(str(folder))} has no image processor config"):
        load_model(str(folder))


# 4. a preset given a checkpoint of another family -------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "tiny", "folder_type"),
    [("qwen2.5-vl-7b", "tiny-llava", "llava"), ("llava-1.5-13b", "tiny-qwen2.5-vl", "qwen2_5_vl")],
)
def test_preset_refuses_a_checkpoint_of_another_family(tiny_dirs, preset, tiny, folder_type):
    family = MODELS.get(preset).family
    with pytest.raises(ValueError) as err:
        load_model(preset, path=tiny_dirs[tiny])
    msg = str(err.value)
    assert f"{tiny_dirs[tiny]} holds a {folder_type} checkpoint (model_type {folder_type!r} in its config.json)" in msg
    assert f"the preset {preset!r} is a {family} model" in msg


def test_preset_refuses_another_family_found_under_horizon_models(tiny_dirs, tmp_path):
    shutil.copytree(tiny_dirs["tiny-llava"], tmp_path / "qwen2.5-vl-3b")
    with pytest.raises(ValueError, match="the preset 'qwen2.5-vl-3b' is a qwen2_5_vl model"):
        load_model("qwen2.5-vl-3b", env={"HORIZON_MODELS": str(tmp_path)})


def test_intact_checkpoints_pass_the_checks(tiny_dirs):
    from horizon.models.checkpoint import check_checkpoint

    for name, family in FAMILIES.items():
        assert check_checkpoint(tiny_dirs[name], MODELS.get(name)) == family
    for name in ("organism-llava", "organism-qwen2.5-vl"):
        assert check_checkpoint(BUNDLED / name, MODELS.get(name)) == MODELS.get(name).family


# 5. the device string -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["gpu", "meta", "cuda:x", "", "CPU", "cuda:", "cuda:-1", " cpu", "cpu:0", "mps"])
def test_bad_device_names_the_value_and_the_allowed_forms(device, monkeypatch):
    def no_cuda() -> bool:
        raise AssertionError("a bad device string must be refused without asking CUDA")

    monkeypatch.setattr(torch.cuda, "is_available", no_cuda)
    with pytest.raises(
        ValueError, match=f"^device {re.escape(repr(device))} is not a device .*: give cpu, cuda, or cuda:N"
    ):
        check_options("float32", "sdpa", device)


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "cuda:12"])
def test_good_device_strings(device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: (_ for _ in ()).throw(AssertionError("no CUDA here")))
    check_device(device)  # a pure string check


def test_cuda_index_beyond_the_visible_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_options("float32", "sdpa", "cuda:1")
    with pytest.raises(ValueError, match="device 'cuda:2' asked for, but this process sees 2 CUDA device"):
        check_options("float32", "sdpa", "cuda:2")


# end to end: the command prints one line and exits 2 ----------------------------------------------------------


def test_cli_damaged_checkpoint_exits_2_with_the_file(tiny_dirs, tmp_path, capsys):
    folder = copy_of(tiny_dirs, tmp_path)
    truncate(folder / "model.safetensors")
    assert main(["run", "--model", str(folder), "--max-new-tokens", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"horizon: error: {folder / 'model.safetensors'} is damaged")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_wrong_family_and_bad_device_exit_2(tiny_dirs, capsys):
    assert main(["run", "--model", "qwen2.5-vl-7b", "--path", str(tiny_dirs["tiny-llava"])]) == 2
    assert "the preset 'qwen2.5-vl-7b' is a qwen2_5_vl model" in capsys.readouterr().err
    assert main(["run", "--model", str(tiny_dirs["tiny-llava"]), "--device", "gpu"]) == 2
    assert capsys.readouterr().err.startswith("horizon: error: device 'gpu' is not a device")
