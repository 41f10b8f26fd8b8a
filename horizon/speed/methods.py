"""``horizon bench methods``: each method's selection time on real-sized inputs, against one decoder layer.

Geometry of the real models (no weights needed): LLaVA-1.5-7B (576 visual tokens of 4096, 32 heads) and
Qwen2.5-VL-7B (~1000 visual tokens of 3584, 28 heads / 4 KV heads). A two-layer decoder of that width is
built with random weights; a selection's time includes computing the view fields it reads (keys,
last-query or rater attention, norms), as it does inside a run. Each row compares the selection with one
decoder layer's forward over the same tokens, measured in the same run, and gives that layer's analytic
FLOPs. SGL's row excludes the guide model's own run (it is a separate, smaller model); the oracle's row
excludes measuring the information it ranks by (an analysis run on the unpruned prefix, see ``horizon bench
info``): both get random scores of the right shape. VisionZip's row likewise excludes its vision-tower probe
(horizon runs the tower once more before the prefill; the reference reads the tower's own attention maps, at the
cost of eager attention in every tower layer) and times its selection at layer 1 (merging hidden states, no
projector). The tiny models' geometry (the token counts of the real
model each mimics, at the tiny width) makes a quick run (``horizon bench methods --geometry tiny-llava``).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from horizon.efficiency.flops import layer_flops
from horizon.engine.views import LazyTokenView
from horizon.methods import METHODS
from horizon.methods.base import Method
from horizon.methods.view import Tower
from horizon.models.loading import adapter_for
from horizon.models.presets import MODELS
from horizon.models.tiny import text_decoder
from horizon.schedule import WITHDRAW_ALL_METHODS

GEOMETRY = {  # text tokens (before, after) the image; the visual count is the preset's, else IMAGE_GRID's
    "llava-1.5-7b": (35, 60),
    "qwen2.5-vl-7b": (15, 30),
    "tiny-llava": (35, 60),
    "tiny-qwen2.5-vl": (15, 30),
}
IMAGE_GRID = 32  # an image-dependent count (Qwen): a 32 x 32 grid of merged tokens (1024)
DEFAULT_GEOMETRY = ("llava-1.5-7b", "qwen2.5-vl-7b")  # what ``horizon bench methods`` times by default


@dataclass(frozen=True)
class MethodTiming:
    model: str
    method: str
    tokens: int
    selection_ms: float
    layer_ms: float
    layer_tflops: float

    @property
    def share(self) -> float:
        return self.selection_ms / self.layer_ms


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


@torch.inference_mode()
def bench_methods(
    model: str, *, keep_fraction: float = 0.25, repeats: int = 3, methods: Sequence[str] | None = None
) -> list[MethodTiming]:
    """Each registered method's selection time (``methods``: only these, in this order) against one decoder layer of
    ``model``'s geometry."""
    chosen = METHODS.items() if methods is None else [(name, METHODS.get(name)) for name in methods]
    preset = MODELS.get(model)
    if model not in GEOMETRY:
        raise ValueError(f"bench methods has no token geometry for {model!r} (geometries: {', '.join(GEOMETRY)})")
    before, after = GEOMETRY[model]
    n_visual = preset.visual_tokens or IMAGE_GRID * IMAGE_GRID
    S = before + n_visual + after
    dec = text_decoder(preset, layers=2)
    g = torch.Generator().manual_seed(0)
    h0 = torch.randn(1, S, preset.arch.hidden, generator=g)
    cos, sin = dec.rotary_emb(h0, adapter_for(preset.family).sequence_positions(torch.arange(S)[None]))
    h1 = dec.layers[0](h0, attention_mask=None, position_embeddings=(cos, sin))
    visual = torch.zeros(1, S, dtype=torch.bool)
    visual[0, before : before + n_visual] = True
    rows = torch.arange(before, before + n_visual)[None]
    guide = torch.rand(1, n_visual, generator=g)  # SGL's guide importance, per original visual token
    information = torch.rand(1, n_visual, generator=g)  # the oracle's information at this layer, likewise
    side = math.isqrt(n_visual)  # pool's grid: the geometries are square (24 x 24, 32 x 32)
    # VisionZip's tower probe, random of CLIP ViT-L's shape (its attention, 64-wide head-mean keys, 1024-wide states)
    tower = Tower(torch.rand(1, n_visual, generator=g), torch.randn(1, n_visual, 64, generator=g),
                  torch.randn(1, n_visual, 1024, generator=g), lambda x: x)  # fmt: skip

    def view() -> LazyTokenView:
        return LazyTokenView(
            decoder=dec,
            layer=1,
            hidden=h1,
            prev_hidden=h0,
            cos=cos,
            sin=sin,
            pad=None,
            visual_rows=rows,
            visual_index=rows,
            input_embeddings=h0,
            n_visual_original=n_visual,
            prompt_visual_mask=visual,
            guide=guide,
            information=information,
            grid=torch.tensor([[side, n_visual // side]]),
            tower=tower,
        )

    layer_ms = _median_ms(lambda: dec.layers[1](h1, attention_mask=None, position_embeddings=(cos, sin)), repeats)
    keep = int(keep_fraction * n_visual)

    def selection(method: Method, k: int) -> Callable[[], object]:
        return lambda: method.select(view(), k, [torch.Generator().manual_seed(0)])

    out = []
    for name, method in chosen:
        ms = _median_ms(selection(method, 0 if name in WITHDRAW_ALL_METHODS else method.meetable(keep, n_visual)), repeats)
        out.append(MethodTiming(model, name, S, ms, layer_ms, layer_flops(preset.arch, S) / 1e12))
    return out
