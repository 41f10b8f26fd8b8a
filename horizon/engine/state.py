"""The state of one pruned run inside the decoder loop: its segments of layers, the snapshots it keeps and what
it has seen (horizon/engine/loop.py owns and updates it)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from horizon.engine.plan import RunPlan, Trace
from horizon.engine.sequence import Sequence


@dataclass
class Segment:
    """Consecutive layers holding the same prompt rows (one KV length, one position shift)."""

    start: int
    prompt_pad: torch.Tensor  # (B, S_i) the 2-D mask of the prompt rows in these layers' caches
    shift: torch.Tensor  # (R, B) original position minus the position used


@dataclass
class Snapshot:
    """The state entering layer ``layer`` of a prefill, for resuming other schedules from there."""

    layer: int
    seq: Sequence
    shift: torch.Tensor
    prev_h: torch.Tensor | None
    embeddings: torch.Tensor
    n_visual: int
    # DeepStack (Qwen3-VL): per level k, (B, S_prompt, D) the feature added to the prompt's visual rows after layer k
    # (zero on text rows); empty for a family without it
    deepstack: tuple[torch.Tensor, ...] = ()


class RunState:
    def __init__(self, plan: RunPlan, snapshot_layers: frozenset[int] = frozenset()) -> None:
        self.plan = plan
        self.snapshot_layers = snapshot_layers  # layers whose entering state the prefill keeps
        self.snapshots: dict[int, Snapshot] = {}
        self.seen = 0
        self.trace = Trace(n_visual=plan.n_visual)
        self.segments: list[Segment] = []
        self.prompt_pad: torch.Tensor | None = None  # (B, S) the prompt's 2-D mask
        # whether any prompt row is padding, read once per run on the host: decoding an unpadded prompt passes no
        # padding mask, so no decoded token makes the host wait for the device to inspect one
        self.padded = True
        self.next_pos: torch.Tensor | None = None  # (R, B, 1) next original position
