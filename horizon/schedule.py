"""Pruning schedules: ordered stages ``method@layer:keep`` joined by ``+``.

Conventions (the paper's; docs/methods.md):

* ``layer`` K means decoder layers ``0..K-1`` see the full visual set and layers ``K..`` the reduced set;
  layer 0 prunes before the LLM, on the input embeddings.
* ``keep`` is a fraction of the *original* visual-token count (``0.44``), or an absolute count (``#64``),
  even for a later stage. A stage selects among the tokens that survived the stages before it.
* A method that withdraws every visual token (VTW) is written without a keep: ``vtw@26``.
* A keep of zero (``random@2:#0``, ``random@2:0``) is legal: no visual token survives from that layer on, the
  same tokens as ``vtw@2`` (a keep sweep's end point). The ``horizon`` commands say so when they run one; a
  method that needs a survivor (SparseVLM) refuses it when it runs.
* ``full`` (or ``none``) is the unpruned model. :func:`parse_schedule` reads an empty string as ``full`` too,
  but the ``horizon`` commands refuse an empty ``--schedule`` (an unset shell variable is likelier than a wish
  for the unpruned model): write ``full``.
* ``/original`` or ``/reindex`` after a stage overrides the method's rope-position convention.

Examples: ``dart@2:0.44+random@20:0.07``, ``vtw@21``, ``fastv@3:#64``, ``pdrop@8:0.5/reindex``.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Literal

Positions = Literal["original", "reindex"]
POSITIONS: tuple[str, ...] = ("original", "reindex")
WITHDRAW_ALL_METHODS = frozenset({"vtw"})  # methods whose stage keeps no visual token; written without keep

_STAGE_RE = re.compile(r"^(?P<method>[a-z][a-z0-9_\-]*)@(?P<layer>-?\d+)(?::(?P<keep>[^/]+))?(?:/(?P<pos>[a-z]+))?$")


@dataclass(frozen=True, slots=True)
class Keep:
    """How many visual tokens a stage keeps: a fraction of the original count, or an absolute count."""

    value: float
    absolute: bool = False

    def __post_init__(self) -> None:
        if self.absolute:
            if self.value != int(self.value) or self.value < 0:
                raise ValueError(f"keep count #{self.value} must be a whole number >= 0")
        elif not 0.0 <= self.value <= 1.0 or math.isnan(self.value):
            raise ValueError(
                f"keep {self.value} is outside [0, 1]: give a fraction of the original visual tokens, "
                "or an absolute count as '#N'"
            )

    def count(self, n_visual: int) -> int:
        """Visual tokens kept out of ``n_visual`` original ones (fractions round half up)."""
        if self.absolute:
            return int(self.value)
        return int(math.floor(self.value * n_visual + 0.5))

    def __str__(self) -> str:
        return f"#{int(self.value)}" if self.absolute else format(self.value, "g")


@dataclass(frozen=True, slots=True)
class Stage:
    """One pruning step: ``method`` decides which visual tokens survive from ``layer`` on."""

    method: str
    layer: int
    keep: Keep = field(default_factory=lambda: Keep(0.0))
    positions: Positions | None = None  # None: the method's own convention

    def __post_init__(self) -> None:
        if not self.method or not re.fullmatch(r"[a-z][a-z0-9_\-]*", self.method):
            raise ValueError(f"method name {self.method!r} must be lowercase letters, digits, '-' or '_'")
        if isinstance(self.layer, bool) or not isinstance(self.layer, int) or self.layer < 0:
            raise ValueError(f"layer {self.layer!r} must be an integer >= 0 (0 = before the LLM)")
        if not isinstance(self.keep, Keep):
            raise ValueError(f"keep must be a Keep, got {self.keep!r}")
        if self.positions is not None and self.positions not in POSITIONS:
            raise ValueError(f"positions {self.positions!r} is not one of {', '.join(POSITIONS)}")
        if self.method in WITHDRAW_ALL_METHODS and self.keep.value != 0:
            raise ValueError(f"{self.method} withdraws every visual token: write '{self.method}@{self.layer}'")

    def __str__(self) -> str:
        text = f"{self.method}@{self.layer}"
        if self.method not in WITHDRAW_ALL_METHODS:
            text += f":{self.keep}"
        if self.positions is not None:
            text += f"/{self.positions}"
        return text


@dataclass(frozen=True, slots=True)
class Schedule:
    """Ordered stages; the empty schedule is the unpruned model."""

    stages: tuple[Stage, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.stages, tuple):
            raise ValueError("stages must be a tuple of Stage")
        for before, after in itertools.pairwise(self.stages):
            if after.layer <= before.layer:
                raise ValueError(
                    f"stages out of order: {after} prunes at layer {after.layer}, not after {before} "
                    f"(layer {before.layer}); give stages in strictly increasing layer order"
                )
            if not before.keep.absolute and not after.keep.absolute and after.keep.value > before.keep.value:
                raise ValueError(
                    f"{after} keeps more than {before} before it; a later stage can only keep fewer tokens"
                )

    def __str__(self) -> str:
        return "+".join(str(s) for s in self.stages) if self.stages else "full"

    def counts(self, n_visual: int) -> tuple[int, ...]:
        """Visual tokens kept by each stage, for ``n_visual`` original ones; checks they can be met."""
        counts: list[int] = []
        alive = n_visual
        for stage in self.stages:
            n = stage.keep.count(n_visual)
            if n > alive:
                raise ValueError(
                    f"{stage} keeps {n} visual tokens but only {alive} of {n_visual} survive to layer "
                    f"{stage.layer}; keep at most {alive}"
                )
            counts.append(n)
            alive = n
        return tuple(counts)

    def check_depth(self, n_layers: int, model: str | None = None) -> None:
        """Every stage prunes inside a decoder of ``n_layers`` layers (0..n_layers-1); ``model`` names it."""
        for stage in self.stages:
            if stage.layer >= n_layers:
                raise ValueError(
                    f"{stage} prunes at layer {stage.layer}, past the model's depth: layers are 0..{n_layers - 1}"
                    + (f" ({model} has {n_layers} decoder layers)" if model else "")
                )

    def tokens_per_layer(self, n_layers: int, n_visual: int) -> tuple[int, ...]:
        """Visual tokens entering each decoder layer (the input count, as the paper's budgets count)."""
        self.check_depth(n_layers)
        counts = self.counts(n_visual)
        per_layer = []
        for layer in range(n_layers):
            n = n_visual
            for stage, c in zip(self.stages, counts, strict=True):
                if stage.layer <= layer:
                    n = c
            per_layer.append(n)
        return tuple(per_layer)

    def average_tokens(self, n_layers: int, n_visual: int) -> float:
        """Average visual tokens per layer, sum_l n_l / L (the paper's budget)."""
        return sum(self.tokens_per_layer(n_layers, n_visual)) / n_layers


def parse_stage(text: str) -> Stage:
    m = _STAGE_RE.match(text.strip())
    if m is None:
        raise ValueError(
            f"cannot parse stage {text!r}: write method@layer:keep (keep a fraction like 0.5 or a "
            "count like #64), e.g. 'dart@2:0.44' or 'vtw@21'"
        )
    method, layer = m["method"], int(m["layer"])
    keep_text, pos = m["keep"], m["pos"]
    if keep_text is None:
        if method not in WITHDRAW_ALL_METHODS:
            raise ValueError(f"stage {text!r} needs a keep: write {method}@{layer}:<fraction or #count>")
        keep = Keep(0.0)
    elif keep_text.startswith("#"):
        if not keep_text[1:].isdigit():
            raise ValueError(f"keep count {keep_text!r} in {text!r} must be '#' followed by a whole number")
        keep = Keep(float(keep_text[1:]), absolute=True)
    else:
        try:
            value = float(keep_text)
        except ValueError:
            raise ValueError(f"keep {keep_text!r} in {text!r} is not a number in [0, 1] or '#N'") from None
        keep = Keep(value)
    if pos is not None and pos not in POSITIONS:
        raise ValueError(f"positions {pos!r} in {text!r} is not one of {', '.join(POSITIONS)}")
    return Stage(method=method, layer=layer, keep=keep, positions=pos)  # type: ignore[arg-type]


def parse_schedule(text: str) -> Schedule:
    """Parse ``method@layer:keep+...``; ``full``/``none``/empty is the unpruned model.

    Named presets (``paper:...``) are resolved by :func:`horizon.paper_presets.resolve_schedule`. The
    ``horizon`` commands refuse an empty ``--schedule`` before calling this (:func:`horizon.cli.options.schedule_option`);
    a keep of zero parses (no visual token survives, as VTW), see the module docstring.
    """
    text = text.strip()
    if text in ("", "full", "none"):
        return Schedule()
    return Schedule(tuple(parse_stage(part) for part in text.split("+")))


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One point of a layer sweep: a single stage at ``layer`` keeping the fraction ``keep`` as written in the
    schedule's canonical text ("0.125"), or withdrawing every visual token (``keep`` None: ``vtw@4``)."""

    method: str
    layer: int
    keep: str | None


def sweep_point(text: str) -> SweepPoint | None:
    """``text`` as a layer sweep's point: one stage that keeps a fraction (``dart@3:0.125``) or withdraws every
    visual token (``vtw@4``), at the method's own positions; None for anything else (the unpruned model, several
    stages, a count ``#N``, a position override, a preset name, text that is not a schedule). The report's figures,
    the organisms' sections and the stand-in sample all read sweeps through this one parser."""
    try:
        schedule = parse_schedule(text)
    except ValueError:
        return None
    if len(schedule.stages) != 1:
        return None
    stage = schedule.stages[0]
    if stage.keep.absolute or stage.positions is not None:
        return None
    return SweepPoint(stage.method, stage.layer, None if stage.method in WITHDRAW_ALL_METHODS else str(stage.keep))
