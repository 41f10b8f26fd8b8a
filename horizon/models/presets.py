"""Model presets: real checkpoints (resolved from local disk only) and the embedded tiny models.

A preset records the architecture numbers so analytic costs need no weights, and for Qwen2.5-VL the
min/max pixels that fix the visual-token count. Numbers are from each checkpoint's ``config.json``
(Hugging Face repos named in ``repo_id``); Qwen's pixel range is lmms-eval's default for Qwen2.5-VL
(docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from horizon.registry import Registry

Family = Literal["llava", "qwen2_5_vl", "qwen3_vl"]
FAMILIES: tuple[str, ...] = ("llava", "qwen2_5_vl", "qwen3_vl")
FAMILY_NAMES: dict[str, str] = {"llava": "LLaVA", "qwen2_5_vl": "Qwen2.5-VL", "qwen3_vl": "Qwen3-VL"}  # in prose
MOE_FAMILIES: tuple[str, ...] = ("qwen3_vl",)  # the families with mixture-of-experts sizes (model_type <family>_moe)


@dataclass(frozen=True, slots=True, kw_only=True)
class Architecture:
    """Text-decoder geometry (what FLOPs and KV-cache sizes depend on)."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    head_size: int | None = None  # the config's head_dim where it is not hidden / heads (Qwen3-VL-4B: 128, not 80)
    # mixture of experts (Qwen3-VL-MoE's text_config; 0 experts: a dense decoder). A layer i is sparse unless i is in
    # dense_layers (mlp_only_layers) or (i + 1) % sparse_step (decoder_sparse_step) != 0; a dense one has the
    # gated MLP of width `intermediate`, a sparse one a router over `experts` and `experts_per_token` experts of width
    # `moe_intermediate` (transformers' Qwen3VLMoeTextDecoderLayer)
    experts: int = 0
    experts_per_token: int = 0
    moe_intermediate: int = 0
    sparse_step: int = 1
    dense_layers: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("layers", "hidden", "intermediate", "heads", "kv_heads", "vocab"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.heads % self.kv_heads or (self.head_size is None and self.hidden % self.heads):
            raise ValueError(f"hidden {self.hidden}, heads {self.heads}, kv_heads {self.kv_heads} do not divide")
        if self.head_size is not None and self.head_size <= 0:
            raise ValueError(f"head_size must be > 0, got {self.head_size}")
        self._check_experts()

    def _check_experts(self) -> None:
        if self.experts < 0:
            raise ValueError(f"experts must be >= 0 (0: a dense decoder), got {self.experts}")
        if self.experts == 0:
            given = {n: getattr(self, n) for n in ("experts_per_token", "moe_intermediate") if getattr(self, n)}
            if given or self.sparse_step != 1 or self.dense_layers:
                extra = given or {"sparse_step": self.sparse_step, "dense_layers": self.dense_layers}
                raise ValueError(f"a dense decoder (experts 0) takes no MoE settings, got {extra}")
            return
        if not 1 <= self.experts_per_token <= self.experts:
            raise ValueError(f"experts_per_token must be 1 to experts ({self.experts}), got {self.experts_per_token}")
        if self.moe_intermediate <= 0:
            raise ValueError(f"moe_intermediate must be > 0 with {self.experts} experts, got {self.moe_intermediate}")
        if self.sparse_step < 1:
            raise ValueError(f"sparse_step must be >= 1, got {self.sparse_step}")
        bad = [i for i in self.dense_layers if not 0 <= i < self.layers]
        if bad or list(self.dense_layers) != sorted(set(self.dense_layers)):
            last = self.layers - 1
            raise ValueError(f"dense_layers must be distinct sorted layers 0 to {last}, got {self.dense_layers}")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads if self.head_size is None else self.head_size

    @property
    def moe(self) -> bool:
        """A mixture-of-experts decoder (some layer is sparse)."""
        return any(self.sparse(i) for i in range(self.layers))

    def sparse(self, layer: int) -> bool:
        """Layer ``layer`` routes each token to experts (transformers' rule: not in mlp_only_layers, and
        (layer + 1) % decoder_sparse_step == 0)."""
        if not 0 <= layer < self.layers:
            raise ValueError(f"layer {layer} is not a layer of this {self.layers}-layer decoder")
        return self.experts > 0 and layer not in self.dense_layers and (layer + 1) % self.sparse_step == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class VisionTower:
    """A vision encoder's widths (the text decoder's are the preset's :class:`Architecture`); Qwen's window
    attention also needs its window and the blocks that attend in full."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    projection: int = 32  # CLIP's projection_dim (unused by LLaVA, which reads a hidden layer)
    window: int = 56  # Qwen2.5-VL: window attention's window in pixels
    full_attention: tuple[int, ...] = (1,)  # Qwen2.5-VL: the blocks with full attention
    patch: int = 14  # pixels per patch side (Qwen3-VL: 16)
    deepstack: tuple[int, ...] = ()  # Qwen3-VL: the blocks whose merged outputs join decoder layers 0, 1, 2, ...


# the real checkpoints' vision towers (their config.json): LLaVA-1.5's CLIP ViT-L/14-336 and Qwen2.5-VL-7B's ViT
REAL_VISION: dict[str, VisionTower] = {
    "llava": VisionTower(hidden=1024, intermediate=4096, layers=24, heads=16, projection=768),
    "qwen2_5_vl": VisionTower(
        hidden=1280, intermediate=3420, layers=32, heads=16, window=112, full_attention=(7, 15, 23, 31)
    ),  # fmt: skip
}
TINY_VISION = VisionTower(hidden=32, intermediate=64, layers=2, heads=2)  # the tiny models' and stand-ins' towers
# Qwen3-VL's tiny tower: three blocks, each a DeepStack level as the real towers have three (patch 16, as theirs)
TINY_QWEN3_VISION = VisionTower(hidden=32, intermediate=64, layers=3, heads=2, patch=16, deepstack=(0, 1, 2))
# Qwen3-VL's real towers (their config.json vision_config): the 2B's and 4B's, and the 8B's
QWEN3_VL_SMALL_VISION = VisionTower(hidden=1024, intermediate=4096, layers=24, heads=16, patch=16, deepstack=(5, 11, 17))
# the 8B's, 30B-A3B's and 235B-A22B's (its out_hidden_size, the decoder's width, comes from the preset's Architecture)
QWEN3_VL_VISION = VisionTower(hidden=1152, intermediate=4304, layers=27, heads=16, patch=16, deepstack=(8, 16, 24))


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPreset:
    name: str
    family: Family
    arch: Architecture
    repo_id: str | None = None  # Hugging Face repo of a real checkpoint; None for tiny models
    visual_tokens: int | None = None  # fixed count (LLaVA); None when it depends on the image (Qwen)
    min_pixels: int | None = None  # Qwen2.5-VL: the pixel range that fixes the visual-token count
    max_pixels: int | None = None
    guide: str | None = None  # default SGL guide: a smaller preset of the family with the same image geometry
    bundled: bool = False  # weights shipped in the package (horizon/organism/weights/<name>), trained here
    stands_in_for: str | None = None  # a stand-in: the real preset whose family and geometry it has (random weights)
    vision: VisionTower | None = None  # the real tower where a family's sizes differ (Qwen3-VL); None: the family's
    source: str = ""  # where the geometry was read, where it is not the repo's own config.json at hand

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family {self.family!r} is not one of {', '.join(FAMILIES)}")
        if (self.min_pixels is None) != (self.max_pixels is None):
            raise ValueError("give both min_pixels and max_pixels, or neither")
        if self.bundled and self.repo_id is not None:
            raise ValueError(f"{self.name}: a bundled model has no repo_id")
        if self.guide == self.name:
            raise ValueError(f"{self.name} cannot guide itself")
        if self.min_pixels is not None and self.max_pixels is not None and self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels {self.min_pixels} > max_pixels {self.max_pixels}")
        if self.stands_in_for is not None and (self.repo_id is not None or self.bundled):
            raise ValueError(f"{self.name}: a stand-in is built locally (no repo_id, not bundled)")
        if self.arch.experts and self.family not in MOE_FAMILIES:
            moe = ", ".join(MOE_FAMILIES)
            raise ValueError(f"{self.name}: a {self.family_name} decoder has no experts (MoE families: {moe})")

    @property
    def real(self) -> bool:
        """A real checkpoint, resolved from local disk only (what a stand-in stands in for)."""
        return self.repo_id is not None

    @property
    def tiny(self) -> bool:
        """Built from its config with random weights on first use (no checkpoint anywhere)."""
        return self.repo_id is None and not self.bundled

    @property
    def family_name(self) -> str:
        """The family as prose names it ("LLaVA", "Qwen2.5-VL")."""
        return FAMILY_NAMES[self.family]

    @property
    def model_type(self) -> str:
        """The ``model_type`` of its checkpoint's config.json: the family's, ``qwen3_vl_moe`` for Qwen3-VL's MoE sizes."""
        return f"{self.family}_moe" if self.arch.experts else self.family


def vision_of(preset: ModelPreset) -> VisionTower:
    """The real vision tower of a real checkpoint (its own, or its family's), the tiny one otherwise (tiny models,
    stand-ins; Qwen3-VL's has its DeepStack levels)."""
    if preset.real:
        return preset.vision or REAL_VISION[preset.family]
    return TINY_QWEN3_VISION if preset.family == "qwen3_vl" else TINY_VISION


MODELS: Registry[ModelPreset] = Registry("model")

_QWEN_PIXELS: dict[str, Any] = {"min_pixels": 256 * 28 * 28, "max_pixels": 1605632}  # lmms-eval Qwen2.5-VL defaults
# lmms-eval 0.7.3's Qwen3-VL wrapper (lmms_eval/models/simple/qwen3_vl.py L86-87): the same range, 32-pixel tokens
_QWEN3_PIXELS: dict[str, Any] = {"min_pixels": 256 * 28 * 28, "max_pixels": 1605632}
# Qwen3-VL's geometry: the official config.json was not reachable from this machine; each preset names the copies
# it was read from (docs/models.md "Qwen3-VL")
_QWEN3_SOURCE = "Qwen/{} config.json as transcribed in {}"

for _preset in (
    # llava-hf/llava-1.5-7b-hf config.json (text_config: Vicuna-7B)
    ModelPreset(
        name="llava-1.5-7b",
        family="llava",
        repo_id="llava-hf/llava-1.5-7b-hf",
        visual_tokens=576,
        arch=Architecture(layers=32, hidden=4096, intermediate=11008, heads=32, kv_heads=32, vocab=32064),
    ),
    # llava-hf/llava-1.5-13b-hf config.json (text_config: Vicuna-13B)
    ModelPreset(
        name="llava-1.5-13b",
        family="llava",
        repo_id="llava-hf/llava-1.5-13b-hf",
        visual_tokens=576,
        guide="llava-1.5-7b",
        arch=Architecture(layers=40, hidden=5120, intermediate=13824, heads=40, kv_heads=40, vocab=32064),
    ),
    # Qwen/Qwen2.5-VL-3B-Instruct config.json
    ModelPreset(
        name="qwen2.5-vl-3b",
        family="qwen2_5_vl",
        repo_id="Qwen/Qwen2.5-VL-3B-Instruct",
        **_QWEN_PIXELS,
        arch=Architecture(layers=36, hidden=2048, intermediate=11008, heads=16, kv_heads=2, vocab=151936),
    ),
    # Qwen/Qwen2.5-VL-7B-Instruct config.json
    ModelPreset(
        name="qwen2.5-vl-7b",
        family="qwen2_5_vl",
        repo_id="Qwen/Qwen2.5-VL-7B-Instruct",
        **_QWEN_PIXELS,
        guide="qwen2.5-vl-3b",
        arch=Architecture(layers=28, hidden=3584, intermediate=18944, heads=28, kv_heads=4, vocab=152064),
    ),
    ModelPreset(
        name="qwen3-vl-2b",
        family="qwen3_vl",
        repo_id="Qwen/Qwen3-VL-2B-Instruct",
        **_QWEN3_PIXELS,
        vision=QWEN3_VL_SMALL_VISION,
        source=_QWEN3_SOURCE.format("Qwen3-VL-2B-Instruct", "NVIDIA TensorRT model-connect's Qwen-VL plugin test "
                                    "(the file at revision 89644892e4d85e24eaac8bacfd4f463576704203)"),  # fmt: skip
        arch=Architecture(layers=28, hidden=2048, intermediate=6144, heads=16, kv_heads=8, vocab=151936, head_size=128),
    ),
    ModelPreset(
        name="qwen3-vl-4b",
        family="qwen3_vl",
        repo_id="Qwen/Qwen3-VL-4B-Instruct",
        **_QWEN3_PIXELS,
        guide="qwen3-vl-2b",
        vision=QWEN3_VL_SMALL_VISION,
        source=_QWEN3_SOURCE.format("Qwen3-VL-4B-Instruct", "DiffSynth's WanMLLMEncoder (a verbatim copy, transformers "
                                    "4.57.0.dev0); ollama dhiltgen/qwen3-vl:4b-instruct's metadata agrees"),  # fmt: skip
        arch=Architecture(layers=36, hidden=2560, intermediate=9728, heads=32, kv_heads=8, vocab=151936, head_size=128),
    ),
    ModelPreset(
        name="qwen3-vl-8b",
        family="qwen3_vl",
        repo_id="Qwen/Qwen3-VL-8B-Instruct",
        **_QWEN3_PIXELS,
        guide="qwen3-vl-2b",
        vision=QWEN3_VL_VISION,
        source=_QWEN3_SOURCE.format("Qwen3-VL-8B-Instruct", "ollama.com/library/qwen3-vl:8b-instruct-q8_0's metadata "
                                    "and the fine-tune huggingface.co/Steinate/Cortex's text_config"),  # fmt: skip
        arch=Architecture(layers=36, hidden=4096, intermediate=12288, heads=32, kv_heads=8, vocab=151936, head_size=128),
    ),
    # mixture of experts: every decoder layer sparse (decoder_sparse_step 1, mlp_only_layers []), no shared expert
    ModelPreset(
        name="qwen3-vl-30b-a3b",
        family="qwen3_vl",
        repo_id="Qwen/Qwen3-VL-30B-A3B-Instruct",
        **_QWEN3_PIXELS,
        vision=QWEN3_VL_VISION,
        source=_QWEN3_SOURCE.format("Qwen3-VL-30B-A3B-Instruct", "swedishembedded/brain's crates/qwen3vlmoe/src/config.rs "
                                    "(a copy of the file at its revision 1fc78ad; the file at revision "
                                    "fb3ab37b68e428f32b6300ab6b15bd5810b5799f); haod0ng/Agentic-MLLM-RL's "
                                    "scripts/models/qwen3-vl-30B-A3B.sh agrees on the decoder"),  # fmt: skip
        arch=Architecture(layers=48, hidden=2048, intermediate=6144, heads=32, kv_heads=4, vocab=151936, head_size=128,
                          experts=128, experts_per_token=8, moe_intermediate=768),  # fmt: skip
    ),
    ModelPreset(
        name="qwen3-vl-235b-a22b",
        family="qwen3_vl",
        repo_id="Qwen/Qwen3-VL-235B-A22B-Instruct",
        **_QWEN3_PIXELS,
        vision=QWEN3_VL_VISION,
        source=_QWEN3_SOURCE.format("Qwen3-VL-235B-A22B-Instruct", "InternLM/xtuner's Qwen3VLMoE235BA22Config "
                                    "(xtuner/v1/model/compose/qwen3_vl/qwen3_vl_config.py at revision "
                                    "062ecf47282753bb484d02de9674df5098eebe24, its decoder Qwen3MoE235BA22Config in "
                                    "xtuner/v1/model/moe/qwen3.py): a framework's config classes, not a verbatim "
                                    "config.json"),  # fmt: skip
        arch=Architecture(layers=94, hidden=4096, intermediate=12288, heads=64, kv_heads=4, vocab=151936, head_size=128,
                          experts=128, experts_per_token=8, moe_intermediate=1536),  # fmt: skip
    ),
    # Embedded tiny models (horizon/models/tiny.py): real classes, random weights, real geometry
    # (LLaVA: 24x24 = 576 image tokens and 32 layers; Qwen: dynamic resolution, M-RoPE, 28 layers).
    ModelPreset(
        name="tiny-llava",
        family="llava",
        visual_tokens=576,
        arch=Architecture(layers=32, hidden=64, intermediate=128, heads=4, kv_heads=4, vocab=512),
    ),
    ModelPreset(
        name="tiny-qwen2.5-vl",
        family="qwen2_5_vl",
        min_pixels=56 * 56,
        max_pixels=28 * 28 * 256,
        arch=Architecture(layers=28, hidden=64, intermediate=128, heads=4, kv_heads=2, vocab=512),
    ),
    ModelPreset(  # Qwen3-VL-8B's depth, interleaved M-RoPE, 32-pixel tokens and three DeepStack levels
        name="tiny-qwen3-vl",
        family="qwen3_vl",
        min_pixels=32 * 32 * 4,
        max_pixels=32 * 32 * 256,
        arch=Architecture(layers=36, hidden=64, intermediate=128, heads=4, kv_heads=2, vocab=512),
    ),
    ModelPreset(  # Qwen3-VL-30B-A3B's routing layout (every layer sparse, top-k of the experts) at tiny widths; 28 layers
        name="tiny-qwen3-vl-moe",  # (the tests' schedules reach layer 27; the stand-in has the real 48)
        family="qwen3_vl",
        min_pixels=32 * 32 * 4,
        max_pixels=32 * 32 * 256,
        arch=Architecture(layers=28, hidden=64, intermediate=128, heads=4, kv_heads=2, vocab=512, experts=4,
                          experts_per_token=2, moe_intermediate=32),  # fmt: skip
    ),
    # The model organisms (horizon/organism/): trained here on synth, weights shipped in the package (16-bit).
    # 144 visual tokens, 8 decoder layers; Qwen's images are resized to 336 px (24x24 patches -> 12x12 merged).
    ModelPreset(
        name="organism-llava",
        family="llava",
        visual_tokens=144,
        bundled=True,
        arch=Architecture(layers=8, hidden=192, intermediate=512, heads=4, kv_heads=4, vocab=61),
    ),
    ModelPreset(
        name="organism-qwen2.5-vl",
        family="qwen2_5_vl",
        min_pixels=336 * 336,
        max_pixels=336 * 336,
        bundled=True,
        arch=Architecture(layers=8, hidden=192, intermediate=512, heads=4, kv_heads=2, vocab=63),
    ),
    ModelPreset(  # organism-qwen2.5-vl's decoder as Qwen3-VL (DeepStack): the DeepStack pair (horizon/organism/build.py)
        name="organism-qwen3-vl",
        family="qwen3_vl",
        min_pixels=384 * 384,
        max_pixels=384 * 384,
        bundled=True,
        arch=Architecture(layers=8, hidden=192, intermediate=512, heads=4, kv_heads=2, vocab=63),
    ),
    ModelPreset(  # organism-llava's architecture after the first stage of its recipe: the capacity finding's weak end
        name="organism-llava-weak",
        family="llava",
        visual_tokens=144,
        bundled=True,
        arch=Architecture(layers=8, hidden=192, intermediate=512, heads=4, kv_heads=4, vocab=61),
    ),
):
    MODELS.add(_preset.name, _preset)

STAND_IN_PREFIX = "stand-in-"  # a stand-in's name; its figure files in a report start with it too
STAND_IN_NEW_TOKENS = 8  # a stand-in case generates at most this many tokens (random weights rarely stop on their own)
STAND_IN_STUDY = (4, 2)  # a stand-in's information study: at most 4 layers (first to last) and 2 samples (one MME pair)
# the stand-ins' widths (the tiny models'): random weights, so only depth, visual geometry and the head layout matter
_STAND_IN_WIDTH: dict[str, Any] = {"hidden": 64, "intermediate": 128, "heads": 4, "vocab": 512}
# a MoE checkpoint's stand-in routes too: few small experts, the real routing layout (which layers are sparse)
_STAND_IN_EXPERTS: dict[str, int] = {"experts": 8, "experts_per_token": 2, "moe_intermediate": 32}


def stand_in_study_layers(n_layers: int) -> tuple[int, ...]:
    """The layers a stand-in's every-layer information study measures: ``STAND_IN_STUDY[0]`` evenly spaced ones,
    the first and the last included (the whole path at each; every layer would take minutes on a CPU)."""
    k = min(STAND_IN_STUDY[0], n_layers)
    return tuple(sorted({round(i * (n_layers - 1) / max(k - 1, 1)) for i in range(k)}))


def stand_in_name(model: str) -> str:
    """The name of real preset ``model``'s stand-in (``llava-1.5-7b`` -> ``stand-in-llava-1.5-7b``)."""
    return STAND_IN_PREFIX + model


def stand_in_of(real: ModelPreset) -> ModelPreset:
    """``real``'s stand-in (docs/stand-ins.md): the same family, decoder depth and visual geometry (LLaVA's fixed
    count; Qwen's pixel range, so the count depends on the image as the real model's does), the same attention
    layout (multi-head, or grouped-query) and, for a MoE checkpoint, experts on the same layers, at the tiny models'
    widths, with random weights built locally."""
    if not real.real:
        raise ValueError(f"{real.name} is not a real checkpoint: only real checkpoints have stand-ins")
    kv_heads = _STAND_IN_WIDTH["heads"] if real.arch.kv_heads == real.arch.heads else 2
    moe: dict[str, Any] = {}
    if real.arch.experts:
        moe = dict(_STAND_IN_EXPERTS, sparse_step=real.arch.sparse_step, dense_layers=real.arch.dense_layers)
    arch = Architecture(layers=real.arch.layers, kv_heads=kv_heads, **_STAND_IN_WIDTH, **moe)
    return ModelPreset(name=stand_in_name(real.name), family=real.family, arch=arch, visual_tokens=real.visual_tokens,
                       min_pixels=real.min_pixels, max_pixels=real.max_pixels, stands_in_for=real.name)  # fmt: skip


for _real in [p for _, p in MODELS.items() if p.real]:
    MODELS.add(stand_in_name(_real.name), stand_in_of(_real))
