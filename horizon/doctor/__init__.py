"""``horizon doctor``: proves a machine can run the suite, with no weights and no data.

On a GPU it builds LLaVA-1.5-7B's and Qwen2.5-VL-7B's architectures with random weights directly on the device
(horizon/doctor/build.py), runs the engine's correctness checks under every attention implementation there
(horizon/doctor/checks.py) and then measures Table 3, the engine's overhead and an information map's time
(horizon/doctor/numbers.py). On CPU the same code runs on the tiny presets (CI runs it there, so it cannot rot).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from horizon.doctor.checks import (
    REFERENCE_PRESETS,
    Check,
    batch_equals_singles,
    every_method,
    every_preset,
    guarded,
    keep_all_exact,
    matches_reference,
    selections_match_eager,
)
from horizon.models.loading import LoadedModel

# the models a doctor run builds: the 7B architectures on a GPU, the tiny presets (same geometry) on CPU
DOCTOR_MODELS = {"cuda": ("llava-1.5-7b", "qwen2.5-vl-7b"), "cpu": ("tiny-llava", "tiny-qwen2.5-vl")}


def default_models(device: str) -> tuple[str, ...]:
    return DOCTOR_MODELS["cuda" if device.startswith("cuda") else "cpu"]


def attentions(device: str, dtype: str) -> tuple[str, ...]:
    """The attention implementations this machine can check: sdpa and eager, and flash-attention-2 on CUDA in
    16-bit when flash-attn is installed."""
    fa2 = device.startswith("cuda") and dtype != "float32" and importlib.util.find_spec("flash_attn") is not None
    return ("sdpa", "eager", *(("flash_attention_2",) if fa2 else ()))


@dataclass(frozen=True, slots=True)
class Plan:
    """One doctor run: which models, on what, under which attention implementations."""

    models: tuple[str, ...]
    device: str
    dtype: str
    attns: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("a doctor run needs at least one model")
        if "sdpa" not in self.attns:
            raise ValueError(
                f"attention implementations {self.attns} must include sdpa (the numbers are taken under it)"
            )


def checks_of(loaded_for: Callable[[str], LoadedModel], attns: tuple[str, ...]) -> Iterator[Check]:
    """Every check of one model, attention implementation by attention implementation (``loaded_for(attn)``
    switches the built model to ``attn``); a crash is a failed check, and the next one still runs."""
    for attn in attns:
        for name, fn in _checks(loaded_for(attn)):
            yield guarded(name, fn)


def _checks(loaded: LoadedModel) -> list[tuple[str, Callable[[], Check]]]:
    attn, first = loaded.attn_implementation, REFERENCE_PRESETS[0]
    out: list[tuple[str, Callable[[], Check]]] = [
        (f"keep-all = stock logits [{attn}, batch {b}]", partial(keep_all_exact, loaded, b)) for b in (1, 4)
    ]
    out += [
        (f"pruned = reference [{attn}, {p}, batch 1]", partial(matches_reference, loaded, p)) for p in REFERENCE_PRESETS
    ]
    out += [
        (f"pruned = reference [{attn}, {first}, batch 4]", partial(matches_reference, loaded, first, 4)),
        (f"every method runs [{attn}]", partial(every_method, loaded)),
        (f"every paper preset runs [{attn}]", partial(every_preset, loaded)),
    ]
    if attn != "eager":
        out.append((f"selections = eager attention maps [{attn}]", partial(selections_match_eager, loaded)))
    out.append((f"padded batch of 4 = single runs [{attn}]", partial(batch_equals_singles, loaded)))
    return out
