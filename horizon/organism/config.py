"""The organisms' names and training configuration (no torch import: the CLI reads it to build its options).

An organism is a model preset whose weights ship in the package (``bundled``, horizon/models/presets.py): its
family, depth and visual tokens live there, read here.
"""

from __future__ import annotations

from dataclasses import dataclass

from horizon.models.presets import MODELS

ORGANISMS = tuple(name for name, preset in MODELS.items() if preset.bundled)
# organism -> its weaker sibling (the capacity finding's pair): organism-llava-weak is organism-llava's architecture
# trained by the first stage of its recipe only (same depth, visual tokens and benchmark, less visual skill)
WEAKER = {"organism-llava": "organism-llava-weak"}
# organism -> its DeepStack sibling (the DeepStack pair, issue 36): organism-qwen3-vl is organism-qwen2.5-vl's decoder
# and recipe as Qwen3-VL (DeepStack, and what it requires: horizon/organism/build.py); it runs every finding's cases
DEEPSTACK = {"organism-qwen2.5-vl": "organism-qwen3-vl"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    organism: str
    steps: int = 6000  # joint steps
    pretrain_steps: int = 300  # vision-only steps with the auxiliary loss
    batch: int = 16  # scenes per step (six supervised answers each)
    lr: float = 1e-3
    warmup: int = 200
    min_lr_ratio: float = 0.1  # cosine decay to lr * this
    aux_weight: float = 0.5
    weight_decay: float = 0.01
    clip: float = 1.0
    seed: int = 0
    threads: int = 2
    checkpoint_every: int = 100
    eval_every: int = 500
    eval_rows: int = 240  # validation rows: synth.rows(eval_rows, seed=synth.VALIDATION_SEED), never the held-out ones
    dense: bool = False  # every question a scene supports per chat (data.dense_questions), not the benchmark's six
    init: str = ""  # a finished run's folder: start from its weights (a further stage; pretrain_steps usually 0)
    point_weight: float = 0.0  # > 0: attention of one head at point_layer, from a cell question, to that cell
    point_layer: int = 3
    probe_weight: float = 0.0  # > 0: linear heads read the named cell's kind/colour/digit at the column-number token
    copy_weight: float = 0.0  # > 0: head 0 of point_layer + 1, from the answer position to the query token
    exists_first: bool = False  # exists questions first in each chat (no earlier answer names the objects)
    lookup_exists: bool = False  # the pointing / probe / copy losses for exists questions too (data.exists_targets)

    def __post_init__(self) -> None:
        if self.organism not in ORGANISMS:
            raise ValueError(f"unknown organism {self.organism!r} (organisms: {', '.join(ORGANISMS)})")
        for name in ("steps", "pretrain_steps", "warmup", "eval_rows"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("batch", "threads", "checkpoint_every", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.lr < 1:
            raise ValueError(f"lr must be in (0, 1), got {self.lr}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.clip <= 0 or self.weight_decay < 0:
            raise ValueError(f"clip must be > 0 and weight_decay >= 0, got {self.clip} and {self.weight_decay}")
        if min(self.aux_weight, self.point_weight, self.probe_weight, self.copy_weight) < 0:
            raise ValueError(f"aux_weight, point_weight, probe_weight and copy_weight must be >= 0, got "
                             f"{self.aux_weight}, {self.point_weight}, {self.probe_weight}, {self.copy_weight}")  # fmt: skip
        if self.lookup_exists and not (self.point_weight or self.probe_weight or self.copy_weight):
            raise ValueError(
                "lookup_exists needs point_weight, probe_weight or copy_weight > 0 (it extends those losses)"
            )
        if self.point_layer < 0:
            raise ValueError(f"point_layer must be >= 0, got {self.point_layer}")
