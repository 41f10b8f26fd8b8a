"""The method registry and what a method declares about itself.

A method is one pure selection function: given a :class:`~horizon.methods.view.TokenView` (the contract; the engine implements it) at the pruning
point, how many visual tokens to keep and one ``torch.Generator`` per sample (seeded from the sample's seed
and the stage, so results do not depend on batch composition), it returns the sorted, unique indices (into the view's current
visual tokens) of the ones to keep, shape ``(B, keep)``. It never sees the model. It declares the view
fields it reads (``needs``), its rope-position convention, whether it works with flash-attention, the
earliest layer it can prune at, and its reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from horizon.methods.mix import check_mix
from horizon.methods.view import VIEW_FIELDS, TokenView
from horizon.registry import Registry
from horizon.schedule import POSITIONS, Positions, Schedule


@dataclass(frozen=True)
class Selection:
    """A method's answer: kept visual indices; optionally new merged tokens to insert after them; optionally new
    states for some kept tokens (a pooled window or a merged group that takes a kept token's place and position);
    optionally how every output visual token was formed from the view's visual tokens (``mix``,
    horizon/methods/mix.py), which the engine uses to merge a new token's pending DeepStack levels the same way
    (without it a new token receives no DeepStack injection)."""

    keep: torch.Tensor  # (B, keep) sorted unique indices into the view's surviving visual tokens
    merged: torch.Tensor | None = None  # (B, m, D) hidden states inserted after the last kept visual token
    values: torch.Tensor | None = None  # (B, keep, D) the kept tokens' new states where ``replaced``
    replaced: torch.Tensor | None = None  # (B, keep) bool: kept tokens whose state ``values`` replaces (new tokens)
    # (B, keep + m, N_visual) float: per output visual token (kept in order, then merged), the weights over the view's
    # visual tokens that formed it (one-hot for a kept token left unchanged)
    mix: torch.Tensor | None = None


# select(view, keep, generators) -> (B, keep) indices or a Selection; generators: one per sample
SelectFn = Callable[[TokenView, int, Sequence[torch.Generator]], "torch.Tensor | Selection"]

@dataclass(frozen=True, slots=True)
class Method:
    name: str
    select: SelectFn
    needs: frozenset[str]
    positions: Positions
    flash_compatible: bool
    reference: str
    min_layer: int = 0  # methods reading the previous layer (prev_*) need layer >= 1
    min_keep: int = 0  # the fewest visual tokens a stage of it may keep (SparseVLM recycles into one: 1)
    stochastic: bool = False  # draws from the generators (Random): its results depend on the seed
    # (wanted, n_visual, grid or None) -> the nearest keep it meets on that visual grid (rows, cols); None: any
    keeps: Callable[[int, int, tuple[int, int] | None], int] | None = None
    merges: bool = False  # may return new tokens (merged, pooled: -1 in the records); others only select

    def meetable(self, keep: int, n_visual: int, grid: tuple[int, int] | None = None) -> int:
        """The keep nearest to ``keep`` (of ``n_visual``, laid out as ``grid`` rows x columns when known) that a stage
        of this method can meet (most: any keep)."""
        return keep if self.keeps is None else self.keeps(keep, n_visual, grid)

    def __post_init__(self) -> None:
        unknown = self.needs - VIEW_FIELDS
        if unknown:
            raise ValueError(f"method {self.name!r} needs unknown view fields {sorted(unknown)}")
        if self.positions not in POSITIONS:
            raise ValueError(f"method {self.name!r}: positions {self.positions!r} not in {POSITIONS}")
        if any(f.startswith("prev_") for f in self.needs) and self.min_layer < 1:
            raise ValueError(f"method {self.name!r} reads the previous layer, so min_layer must be >= 1")


METHODS: Registry[Method] = Registry("method")


def register_method(
    name: str,
    *,
    needs: frozenset[str] = frozenset(),
    positions: Positions = "original",
    flash_compatible: bool = True,
    reference: str,
    min_layer: int = 0,
    min_keep: int = 0,
    stochastic: bool = False,
    keeps: Callable[[int, int, tuple[int, int] | None], int] | None = None,
    merges: bool = False,
) -> Callable[[SelectFn], SelectFn]:
    """Register ``fn`` as method ``name``; returns ``fn`` unchanged."""

    def deco(fn: SelectFn) -> SelectFn:
        METHODS.add(
            name,
            Method(name, fn, frozenset(needs), positions, flash_compatible, reference, min_layer, min_keep, stochastic,
                   keeps, merges),
        )
        return fn

    return deco


def stochastic(schedule: Schedule) -> bool:
    """Whether ``schedule`` has a stage whose method draws from the generators (its results depend on the seed)."""
    return any(METHODS.get(st.method).stochastic for st in schedule.stages)


def check_selection(method: str, result: torch.Tensor | Selection, batch: int, keep: int, n_visual: int) -> Selection:
    """Validate a method's output; returns it as a Selection with an int64 ``(B, keep)`` tensor."""
    merged = result.merged if isinstance(result, Selection) else None
    selected = result.keep if isinstance(result, Selection) else result
    values = result.values if isinstance(result, Selection) else None
    replaced = result.replaced if isinstance(result, Selection) else None
    if (values is None) != (replaced is None):
        raise RuntimeError(f"method {method!r} returned values without replaced (or replaced without values)")
    if values is not None and replaced is not None and (
        values.ndim != 3 or values.shape[:2] != (batch, keep) or replaced.shape != (batch, keep)
        or replaced.dtype != torch.bool
    ):
        raise RuntimeError(
            f"method {method!r} returned values {tuple(values.shape)} and replaced {tuple(replaced.shape)} "
            f"({replaced.dtype}), expected ({batch}, {keep}, D) and a ({batch}, {keep}) bool mask"
        )
    if merged is not None and (merged.ndim != 3 or merged.shape[0] != batch):
        raise RuntimeError(
            f"method {method!r} returned merged tokens of shape {tuple(merged.shape)}, expected (B, m, D)"
        )
    if selected.shape != (batch, keep):
        raise RuntimeError(f"method {method!r} returned shape {tuple(selected.shape)}, expected ({batch}, {keep})")
    selected = selected.long()
    if keep and (selected.min() < 0 or selected.max() >= n_visual):
        raise RuntimeError(f"method {method!r} returned indices outside 0..{n_visual - 1}")
    if keep > 1 and not bool((selected[:, 1:] > selected[:, :-1]).all()):
        raise RuntimeError(f"method {method!r} returned indices that are not sorted and unique")
    mix = result.mix if isinstance(result, Selection) else None
    if mix is not None:
        check_mix(method, mix, selected, replaced, 0 if merged is None else merged.shape[1], n_visual)
    return Selection(selected, merged, values, replaced, mix)
