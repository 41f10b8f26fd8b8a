"""Check a checkpoint folder before loading it: every broken file is named, with what is allowed and the fix.

The libraries report a damaged checkpoint with errors that name no file (``SafetensorError: Error while
deserializing header: incomplete metadata``, a bare ``JSONDecodeError``) or point the wrong way (a missing
``tokenizer.json`` reads "install sentencepiece"). :func:`check_checkpoint` reads only the small files and
the safetensors headers (cheap, before gigabytes of weights load) and raises :class:`BadCheckpointError`, a
``ValueError`` the ``horizon`` command prints as ``horizon: error: ...``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

from horizon.hub import download_command
from horizon.models.presets import ModelPreset

# model_type -> family (Qwen3-VL's MoE sizes are the qwen3_vl family: prompts, tower and DeepStack are the same)
MODEL_TYPES: dict[str, str] = {"llava": "llava", "qwen2_5_vl": "qwen2_5_vl", "qwen3_vl": "qwen3_vl",
                               "qwen3_vl_moe": "qwen3_vl"}  # fmt: skip
SINGLE_WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
TORCH_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")  # loaded as they are, not checked here
# small JSON files transformers reads when present; a damaged one would fail with a bare JSONDecodeError
JSON_FILES = (
    "tokenizer_config.json",
    "tokenizer.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "processor_config.json",
    "preprocessor_config.json",
    "chat_template.json",
    "generation_config.json",
)
TOKENIZER_FILES = (
    "tokenizer_config.json and tokenizer.json (a slow tokenizer: tokenizer.model, or vocab.json with merges.txt)"
)
PROCESSOR_FILES = 'preprocessor_config.json, or processor_config.json with an "image_processor" entry'
TEMPLATE_FILES = 'chat_template.jinja or chat_template.json (or a "chat_template" entry in tokenizer_config.json)'


class BadCheckpointError(ValueError):
    """A checkpoint folder is there but unusable: the message names the file, what is expected and the fix."""


def fix_hint(folder: Path, preset: ModelPreset | None) -> str:
    """How to get an intact copy of the checkpoint in ``folder``."""
    if preset is not None and preset.tiny:
        return f"delete the folder {folder} and it is rebuilt on next use"
    if preset is not None and preset.bundled:
        return (
            f"reinstall horizon (the organism's weights ship in the package) or rebuild it with "
            f"`horizon organism train {preset.name}` and `horizon organism ship` (docs/organisms.md)"
        )
    if preset is not None and preset.repo_id is not None:
        return (
            f"re-download the checkpoint (`{download_command(preset.repo_id, str(folder))}` on a machine with network "
            "access) or copy it again from an intact source"
        )
    return "re-download the checkpoint or copy it again from an intact source"


def read_json(path: Path, fix: str) -> dict[str, Any]:
    """The JSON object in ``path``; a damaged file (not UTF-8, not JSON, not an object) names itself."""
    try:
        data = json.loads(path.read_bytes())
    except UnicodeDecodeError as err:
        raise BadCheckpointError(
            f"{path} is damaged: not JSON text (byte {err.object[err.start]:#04x} at offset {err.start} is not "
            f"UTF-8); {fix}"
        ) from err
    except json.JSONDecodeError as err:
        raise BadCheckpointError(
            f"{path} is damaged: not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); {fix}"
        ) from err
    if not isinstance(data, dict):
        raise BadCheckpointError(
            f"{path} is damaged: it holds a JSON {type(data).__name__}, not an object ({{...}}); {fix}"
        )
    return data


def read_config(folder: Path, preset: ModelPreset | None = None) -> tuple[dict[str, Any], str]:
    """(``config.json`` as a dict, the family its ``model_type`` names); refuses a damaged or foreign config."""
    path = folder / "config.json"
    config = read_json(path, fix_hint(folder, preset))
    model_type = config.get("model_type")
    supported = ", ".join(MODEL_TYPES)
    if model_type is None:
        raise BadCheckpointError(
            f'{path} has no "model_type": a checkpoint\'s config.json names its architecture, one of {supported} '
            f"here; {fix_hint(folder, preset)}"
        )
    if not isinstance(model_type, str) or model_type not in MODEL_TYPES:
        raise BadCheckpointError(f"{path}: model_type {model_type!r} is not supported (supported: {supported})")
    return config, MODEL_TYPES[model_type]


def check_family(folder: Path, family: str, preset: ModelPreset | None, model_type: str) -> None:
    """A preset loads only a checkpoint of its own family (``--path`` or ``$HORIZON_MODELS`` may point elsewhere), and
    of its own model_type within it (a dense Qwen3-VL folder is not a MoE preset's checkpoint, nor the reverse)."""
    if preset is None:
        return
    if preset.family == family:
        if preset.model_type != model_type:
            raise BadCheckpointError(
                f"{folder} holds a {model_type!r} checkpoint (its config.json's model_type), but the preset "
                f"{preset.name!r} is a {preset.model_type!r} model: give it a {preset.model_type} checkpoint folder "
                f"(--path), or load this folder without a preset (--model {folder})"
            )
        return
    raise BadCheckpointError(
        f"{folder} holds a {family} checkpoint (model_type {model_type!r} in its config.json), but the preset "
        f"{preset.name!r} is a {preset.family} model: give it a {preset.family} checkpoint folder (--path), or load "
        f"this folder without a preset (--model {folder})"
    )


def weight_files(folder: Path, fix: str) -> list[Path]:
    """The safetensors files transformers will load from ``folder`` (same order of preference)."""
    if (folder / SINGLE_WEIGHTS).is_file():
        return [folder / SINGLE_WEIGHTS]
    index = folder / WEIGHTS_INDEX
    if index.is_file():
        weight_map = read_json(index, fix).get("weight_map")
        if (
            not isinstance(weight_map, dict)
            or not weight_map
            or not all(isinstance(v, str) for v in weight_map.values())
        ):
            raise BadCheckpointError(f'{index} is damaged: it has no "weight_map" of tensor -> shard file; {fix}')
        shards = [folder / name for name in sorted(set(weight_map.values()))]
        missing = [p.name for p in shards if not p.is_file()]
        if missing:
            raise BadCheckpointError(
                f"{folder} is missing weight shards listed in {WEIGHTS_INDEX}: {', '.join(missing)}; "
                f"{fix} (every shard must be there)"
            )
        return shards
    if any((folder / name).is_file() for name in TORCH_WEIGHTS):
        return []
    raise BadCheckpointError(
        f"{folder} has no weights: expected {SINGLE_WEIGHTS}, or {WEIGHTS_INDEX} with its shards "
        f"(model-00001-of-0000N.safetensors, ...); {fix}"
    )


def check_safetensors(paths: Iterable[Path], fix: str) -> None:
    """Each file's header parses and its tensors cover the file exactly (safetensors' own check, no data read)."""
    for path in paths:
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except SafetensorError as err:
            raise damaged_weights(path, err, fix) from err


def damaged_weights(path: Path, err: Exception, fix: str) -> BadCheckpointError:
    return BadCheckpointError(
        f"{path} is damaged ({err}): the weights file is truncated or not a safetensors file; {fix}"
    )


def find_damaged_weights(folder: Path, err: SafetensorError, preset: ModelPreset | None) -> BadCheckpointError:
    """For a ``SafetensorError`` raised while loading: the error naming the damaged file (else the folder)."""
    fix = fix_hint(folder, preset)
    try:
        check_safetensors(weight_files(folder, fix), fix)
    except BadCheckpointError as named:
        return named
    return BadCheckpointError(f"{folder}: a weights file is damaged ({err}); {fix}")


def check_tokenizer_and_processor(folder: Path, fix: str) -> None:
    """The files the adapters' processors are built from: a tokenizer, an image processor, a chat template."""
    missing = [] if (folder / "tokenizer_config.json").is_file() else ["tokenizer_config.json"]
    if not (
        (folder / "tokenizer.json").is_file()
        or (folder / "tokenizer.model").is_file()
        or ((folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())
    ):
        missing.append("tokenizer.json")
    if missing:
        raise BadCheckpointError(
            f"{folder} has no complete tokenizer: expected {TOKENIZER_FILES}; missing {' and '.join(missing)}. "
            f"Copy the checkpoint's tokenizer files into it, or {fix}"
        )
    processor = folder / "processor_config.json"
    has_nested = processor.is_file() and "image_processor" in read_json(processor, fix)
    if not ((folder / "preprocessor_config.json").is_file() or has_nested):
        raise BadCheckpointError(
            f"{folder} has no image processor config: expected {PROCESSOR_FILES}. Copy the checkpoint's "
            f"processor files into it, or {fix}"
        )
    if not ((folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file()):
        in_configs = [folder / name for name in ("tokenizer_config.json", "processor_config.json")]
        if not any(p.is_file() and "chat_template" in read_json(p, fix) for p in in_configs):
            raise BadCheckpointError(
                f"{folder} has no chat template: expected {TEMPLATE_FILES}. Copy the checkpoint's chat "
                f"template into it, or {fix}"
            )


def check_checkpoint(folder: Path, preset: ModelPreset | None = None) -> str:
    """Check ``folder`` before loading it, cheaply (small files and safetensors headers); return its model_type (the
    adapter's key, horizon/models/loading.py; the family's name except for ``qwen3_vl_moe``).

    Raises :class:`BadCheckpointError` naming the first damaged or missing file, or a preset of another family.
    """
    config, family = read_config(folder, preset)
    check_family(folder, family, preset, str(config["model_type"]))
    fix = fix_hint(folder, preset)
    for name in JSON_FILES:
        if (folder / name).is_file():
            read_json(folder / name, fix)
    check_safetensors(weight_files(folder, fix), fix)
    check_tokenizer_and_processor(folder, fix)
    return str(config["model_type"])
