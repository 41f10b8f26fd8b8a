"""Random-weight models of a preset's architecture, constructed on the meta device and materialised where they run.

``horizon doctor`` needs no weights: at 7B scale it builds LLaVA-1.5-7B's and Qwen2.5-VL-7B's architectures (the
real decoder and vision-tower widths) directly on the GPU in 16-bit, in seconds and without holding the model in
host memory; on CPU it builds the tiny presets the same way. Random weights exercise every kernel and time like the
real ones; their answers carry no meaning.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from horizon.models.adapter import left_padded
from horizon.models.loading import DTYPES, LoadedModel, adapter_for, check_options
from horizon.models.presets import ModelPreset, vision_of
from horizon.models.tiny import model_parts

SEED = 0  # the weights' seed (a fixed one: two builds of a preset on one device are the same model)


def build_random(preset: ModelPreset, *, device: str, dtype: str, attn: str) -> LoadedModel:
    """``preset``'s architecture with random weights, on ``device`` in ``dtype`` under attention ``attn``:
    constructed on the meta device (no memory), materialised on ``device`` (``to_empty``) and initialised there by
    the model's own initialisers under :data:`SEED` (the caller's random state is left as it was)."""
    check_options(dtype, attn, device)
    cls, config, processor = model_parts(preset, vision_of(preset))
    with torch.device("meta"):
        net = cls._from_config(config, attn_implementation=attn, dtype=DTYPES[dtype])
    net = net.to_empty(device=device)
    cuda = device.startswith("cuda")
    index = torch.device(device).index or 0
    with torch.random.fork_rng(devices=[index] if cuda else [], device_type="cuda"):
        torch.manual_seed(SEED)
        net.init_weights()  # parameters, and the buffers to_empty left uninitialised (rotary inv_freq, ids)
    name = f"random-{preset.name}"
    adapter = adapter_for(preset.model_type)
    return LoadedModel(name, Path(name), preset, adapter, net.eval(), left_padded(processor), dtype, attn, device)


def with_attention(loaded: LoadedModel, attn: str) -> LoadedModel:
    """The same weights under attention implementation ``attn`` (switched in place on the model)."""
    check_options(loaded.dtype, attn, loaded.device)
    loaded.model.set_attn_implementation(attn)
    return replace(loaded, attn_implementation=attn)
