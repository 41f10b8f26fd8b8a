"""Find and load a checkpoint from local disk, strictly offline.

A model is named by a preset (``llava-1.5-7b``, ``tiny-llava``, ...) or given as a folder. A real
preset's checkpoint is looked up, in order, at an explicit path, under ``$HORIZON_MODELS`` (as
``<preset>``, ``<repo name>`` or ``<org>/<repo name>``), then in the Hugging Face cache
(``HF_HUB_CACHE`` / ``HF_HOME``), never on the network. Tiny presets are built on first use into
``$HORIZON_CACHE`` and then loaded through the same code.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from horizon.hub import download_command
from horizon.models.adapter import Adapter
from horizon.models.checkpoint import BadCheckpointError as BadCheckpointError  # re-exported for callers
from horizon.models.checkpoint import check_checkpoint, find_damaged_weights
from horizon.models.llava import LlavaAdapter
from horizon.models.presets import MODELS, ModelPreset
from horizon.models.qwen2_5_vl import QwenAdapter
from horizon.models.qwen3_vl import Qwen3VLAdapter, Qwen3VLMoeAdapter
from horizon.models.settings import ATTENTION, DEVICES, DTYPE_NAMES
from horizon.models.tiny import cache_root, ensure_tiny
from horizon.registry import Registry

DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in DTYPE_NAMES}
BUNDLED = Path(__file__).resolve().parents[1] / "organism" / "weights"  # the organisms' shipped checkpoints
_DEVICE = re.compile(r"cpu|cuda(?::[0-9]+)?")


class CheckpointNotFoundError(FileNotFoundError):
    """No local checkpoint for a preset; the message names every place looked and how to provide it."""


# one adapter per checkpoint model_type (horizon/models/checkpoint.py MODEL_TYPES); a family's dense model_type is its
# name, so a family finds its adapter too (Qwen3-VL's MoE sizes share the family and have their own model_type)
ADAPTERS: Registry[Adapter] = Registry("model type")
for _adapter in (LlavaAdapter(), QwenAdapter(), Qwen3VLAdapter(), Qwen3VLMoeAdapter()):
    ADAPTERS.add(_adapter.model_type, _adapter)


def adapter_for(model_type: str) -> Adapter:
    """The registered adapter of a checkpoint's ``model_type`` or of a family (its dense model_type; a preset's own is
    ``preset.model_type``); an unknown one names the supported ones."""
    return ADAPTERS.get(model_type)


def _is_checkpoint(folder: Path) -> bool:
    return (folder / "config.json").is_file()


def candidate_paths(preset: ModelPreset, env: Mapping[str, str]) -> list[Path]:
    """The ``$HORIZON_MODELS`` folders where ``preset`` may live, in search order."""
    root = env.get("HORIZON_MODELS")
    if not root or preset.repo_id is None:
        return []
    org, repo = preset.repo_id.split("/")
    return [Path(root) / preset.name, Path(root) / repo, Path(root) / org / repo]


def _hf_cache(repo_id: str, env: Mapping[str, str]) -> tuple[Path | None, str]:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache_dir = env.get("HF_HUB_CACHE") or (
        str(Path(env["HF_HOME"]) / "hub") if env.get("HF_HOME") else constants.HF_HUB_CACHE
    )
    try:
        return Path(snapshot_download(repo_id, local_files_only=True, cache_dir=cache_dir)), cache_dir
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None, cache_dir


def resolve_checkpoint(
    model: str, *, path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[ModelPreset | None, Path]:
    """(preset or None, checkpoint folder) for a preset name or a folder; raises if not on disk."""
    env = os.environ if env is None else env
    if path is not None:
        folder = Path(path).expanduser()
        if not _is_checkpoint(folder):
            raise CheckpointNotFoundError(f"{folder} is not a checkpoint folder (no config.json)")
        return (MODELS.get(model) if model in MODELS else None), folder
    if model not in MODELS:
        folder = Path(model).expanduser()
        if _is_checkpoint(folder):
            return None, folder
        raise ValueError(MODELS.unknown_message(model) + "; or give a checkpoint folder")
    preset = MODELS.get(model)
    if preset.tiny:
        return preset, ensure_tiny(preset, cache_root(dict(env)))
    if preset.bundled:
        return preset, bundled_checkpoint(preset, env)
    looked = []
    for folder in candidate_paths(preset, env):
        if _is_checkpoint(folder):
            return preset, folder
        looked.append(str(folder))
    if not env.get("HORIZON_MODELS"):
        looked.append("$HORIZON_MODELS (not set)")
    found, cache_dir = _hf_cache(str(preset.repo_id), env)
    if found is not None and _is_checkpoint(found):
        return preset, found
    looked.append(f"Hugging Face cache {cache_dir} ({preset.repo_id})")
    raise CheckpointNotFoundError(
        f"no local checkpoint for model {preset.name!r}; looked in: " + "; ".join(looked) + ". "
        f"Provide it by downloading {preset.repo_id} on a machine with network access "
        f"(`{download_command(str(preset.repo_id), '$HORIZON_MODELS/' + preset.name)}`) and copying it there, "
        "or into the Hugging Face cache, or pass its folder with --path."
    )


def bundled_checkpoint(preset: ModelPreset, env: Mapping[str, str]) -> Path:
    """A bundled organism: ``$HORIZON_MODELS/<name>`` when there (a retrained copy), else the shipped weights."""
    looked = []
    if env.get("HORIZON_MODELS"):
        own = Path(env["HORIZON_MODELS"]) / preset.name
        if _is_checkpoint(own):
            return own
        looked.append(str(own))
    shipped = BUNDLED / preset.name
    if _is_checkpoint(shipped) and (shipped / "heldout.json").is_file():  # shipped by `horizon organism ship`
        return shipped
    looked.append(f"{shipped} (needs config.json and heldout.json)")
    raise CheckpointNotFoundError(
        f"no checkpoint for the organism {preset.name!r}; looked in: " + "; ".join(looked) + ". "
        f"It ships with the package; to rebuild it run `horizon organism train {preset.name} --out RUN` (the exact "
        f"command is on its model card) and `horizon organism ship RUN --dest $HORIZON_MODELS/{preset.name}`."
    )


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded once and used for many prompts and schedules."""

    name: str
    path: Path
    preset: ModelPreset | None
    adapter: Adapter
    model: Any
    processor: Any
    dtype: str
    attn_implementation: str
    device: str

    @property
    def decoder(self) -> Any:
        return self.adapter.decoder(self.model)

    @property
    def n_layers(self) -> int:
        return len(self.decoder.layers)


def check_device(device: str) -> None:
    """``cpu``, ``cuda`` or ``cuda:N``; a pure string check (CUDA is not touched)."""
    if not isinstance(device, str) or _DEVICE.fullmatch(device) is None:
        raise ValueError(f"device {device!r} is not a device this harness runs on: give {DEVICES}")


def check_options(dtype: str, attn_implementation: str, device: str) -> None:
    """Refuse a bad dtype / attention implementation / device before any loading.

    Side-effect free except that a ``cuda`` device asks ``torch.cuda.is_available()`` (which starts the CUDA
    driver on a CUDA build; a pytest worker pins its GPU first). Everything else is string checks.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if attn_implementation not in ATTENTION:
        raise ValueError(f"attention implementation {attn_implementation!r} is not one of {', '.join(ATTENTION)}")
    check_device(device)
    if attn_implementation == "flash_attention_2":
        if importlib.util.find_spec("flash_attn") is None:
            raise ValueError("flash_attention_2 needs the flash-attn package (pip install 'horizon[gpu]')")
        if not device.startswith("cuda"):
            raise ValueError(f"flash_attention_2 runs on CUDA only, not on device {device!r}")
        if dtype == "float32":
            raise ValueError("flash_attention_2 needs float16 or bfloat16, not float32")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
        index = int(device.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise ValueError(
                f"device {device!r} asked for, but this process sees {count} CUDA device(s): cuda:0 to cuda:{count - 1}"
            )


def load_model(
    model: str,
    *,
    path: str | Path | None = None,
    dtype: str = "float32",
    attn_implementation: str = "sdpa",
    device: str = "cpu",
    env: Mapping[str, str] | None = None,
) -> LoadedModel:
    """Load a preset or checkpoint folder offline (``local_files_only``)."""
    check_options(dtype, attn_implementation, device)
    preset, folder = resolve_checkpoint(model, path=path, env=env)
    adapter = adapter_for(check_checkpoint(folder, preset))  # names a damaged file before the weights load
    try:
        net = adapter.model_class().from_pretrained(
            folder, dtype=DTYPES[dtype], attn_implementation=attn_implementation, local_files_only=True
        )
    except SafetensorError as err:  # damage the header check cannot see
        raise find_damaged_weights(folder, err, preset) from err
    net = net.eval().to(device)
    processor = adapter.load_processor(folder)
    name = preset.name if preset is not None else folder.name
    return LoadedModel(name, folder, preset, adapter, net, processor, dtype, attn_implementation, device)
