"""lmms-eval entry point: ``lmms-eval eval --model horizon_llava --model_args pretrained=...,schedule=...``.

Registered through the ``lmms_eval.models`` entry-point group (pyproject.toml) as manifests pointing at
:mod:`horizon.integrations.lmms_eval_model`, which is imported only when lmms-eval loads the model. Install
with ``pip install 'horizon[lmms]'`` (see tox env ``lmms`` for a CPU-safe recipe).
"""

from __future__ import annotations

from typing import Any

MODEL_IDS = {"horizon_llava": "HorizonLlava", "horizon_qwen2_5_vl": "HorizonQwen25VL"}


def manifests() -> list[Any]:
    from lmms_eval.models.registry_v2 import ModelManifest

    return [
        ModelManifest(model_id=name, simple_class_path=f"horizon.integrations.lmms_eval_model.{cls}")
        for name, cls in MODEL_IDS.items()
    ]
