"""What one pruned run needs before it starts (:class:`RunPlan`) and what it recorded (:class:`Trace`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from horizon.methods import METHODS, Method
from horizon.methods.view import Tower
from horizon.schedule import Positions, Schedule, Stage


class PlanError(ValueError):
    """A schedule that this prompt cannot satisfy (it keeps more visual tokens than the prompt has, the prompt
    ends with a visual token, a batch mixes visual-token counts, an oracle or guide input has the wrong shape):
    a failure of this sample under this schedule, not of the engine."""


def check_methods(schedule: Schedule) -> tuple[Method, ...]:
    """The registered method of each stage; raises with a suggestion for an unknown name."""
    return tuple(METHODS.get(stage.method) for stage in schedule.stages)


def stages_needing(schedule: Schedule, need: str) -> list[str]:
    """The stages of ``schedule`` whose method needs view field ``need`` (e.g. ``guide_importance``)."""
    return [str(s) for s, m in zip(schedule.stages, check_methods(schedule), strict=True) if need in m.needs]


def check_schedule(
    schedule: Schedule, *, n_layers: int, mrope: bool, model: str | None = None, n_visual: int | None = None
) -> tuple[Method, ...]:
    """What one model decides about ``schedule`` before any prompt, checked once (the CLI calls it before
    loading samples, :meth:`RunPlan.build` for every prompt): known methods, every stage inside the decoder's
    layers ``0..n_layers-1`` and at or after its method's first layer, a position convention the model's rope
    has, and, for a model with a fixed visual-token count ``n_visual`` (LLaVA), keeps that count can meet.
    ``model`` names the model in the messages. Returns the stages' methods."""
    methods = check_methods(schedule)
    schedule.check_depth(n_layers, model)
    for stage, method in zip(schedule.stages, methods, strict=True):
        if stage.layer < method.min_layer:
            raise ValueError(
                f"{stage}: {method.name} reads the layer before the pruning layer, "
                f"so it prunes at layer >= {method.min_layer}"
            )
        stage_positions(stage, method, mrope)
        kept = stage.keep.count(n_visual) if n_visual is not None else None
        if (stage.keep.value == 0 or kept == 0) and method.min_keep > 0:
            raise ValueError(f"{stage}: {method.name} keeps at least {method.min_keep} visual token(s); "
                             f"use vtw@{stage.layer} to drop them all")  # fmt: skip
    if n_visual is not None:
        try:
            schedule.counts(n_visual)
        except ValueError as err:
            raise ValueError(f"{err} ({model or 'the model'} sees {n_visual} visual tokens per image)") from None
    return methods


def stage_positions(stage: Stage, method: Method, mrope: bool) -> Positions:
    """The rope-position convention ``stage`` runs under; a re-indexed one on M-RoPE (Qwen) is refused."""
    # a method's re-indexing convention is LLaVA's (1-D RoPE); on Qwen every port keeps the
    # original M-RoPE positions unless a stage asks for /reindex explicitly (refused below)
    pos = stage.positions or ("original" if mrope else method.positions)
    if pos == "reindex" and mrope:
        raise ValueError(
            f"{stage}: re-indexed positions are defined for 1-D RoPE (LLaVA) only; Qwen2.5-VL "
            "keeps its original 3-D M-RoPE positions (write /original or drop the option)"
        )
    return pos


@dataclass(frozen=True)
class RunPlan:
    """A schedule resolved against one prompt: methods, counts and position conventions per stage."""

    schedule: Schedule
    methods: tuple[Method, ...]
    counts: tuple[int, ...]
    positions: tuple[Positions, ...]
    visual_mask: torch.Tensor  # (B, S) bool: visual rows of the prompt
    n_visual: int
    seeds: tuple[int, ...]  # one per sample
    guide_importance: torch.Tensor | None = None  # (B, Nv) for methods that need a guide (SGL)
    information: Mapping[int, torch.Tensor] | None = None  # layer -> (B, Nv) for the oracle
    grid: torch.Tensor | None = None  # (B, 2) the visual-token grid's rows and columns (pooling)
    tower: Tower | None = None  # the vision tower's probe of the visual tokens (VisionZip)

    @classmethod
    def build(
        cls,
        schedule: Schedule,
        visual_mask: torch.Tensor,
        *,
        n_layers: int,
        mrope: bool,
        seed: int | Sequence[int],
        guide_importance: torch.Tensor | None = None,
        information: Mapping[int, torch.Tensor] | None = None,
        grid: torch.Tensor | None = None,
        tower: Tower | None = None,
    ) -> RunPlan:
        """Resolve and check ``schedule`` for a prompt whose visual rows are ``visual_mask`` (B, S)."""
        if visual_mask.ndim != 2 or visual_mask.dtype != torch.bool:
            raise ValueError("visual_mask must be a (B, S) bool tensor")
        per_row = visual_mask.sum(1)
        if bool((per_row != per_row[0]).any()):
            raise PlanError(
                f"samples in a batch have different visual-token counts {per_row.tolist()}; "
                "batch only prompts with equal visual counts, or run them one at a time"
            )
        if schedule.stages and bool(visual_mask[:, -1].any()):
            raise PlanError("the last prompt token is visual; the prompt must end with text")
        n_visual = int(per_row[0])
        methods = check_schedule(schedule, n_layers=n_layers, mrope=mrope)
        try:
            counts = schedule.counts(n_visual)
        except ValueError as err:  # this prompt has fewer visual tokens than the schedule keeps
            raise PlanError(str(err)) from None
        counts = _met(schedule, methods, counts, n_visual, grid)
        positions = [stage_positions(s, m, mrope) for s, m in zip(schedule.stages, methods, strict=True)]
        needs_guide = stages_needing(schedule, "guide_importance")
        if needs_guide and guide_importance is None:
            raise ValueError(
                f"{', '.join(needs_guide)} needs a guide model: compute horizon.engine.guide.guide_importance("
                "guide, images, questions) and pass it as guide_importance= (CLI: --guide MODEL)"
            )
        if guide_importance is not None and tuple(guide_importance.shape) != (visual_mask.shape[0], n_visual):
            raise PlanError(
                f"guide importance has shape {tuple(guide_importance.shape)} but the prompt has "
                f"{visual_mask.shape[0]} x {n_visual} visual tokens; the guide must see the same image geometry"
            )
        _check_information(schedule, methods, information, (visual_mask.shape[0], n_visual))
        _check_grid_and_tower(schedule, grid, tower, (visual_mask.shape[0], n_visual))
        seeds = (seed,) * visual_mask.shape[0] if isinstance(seed, int) else tuple(seed)
        if len(seeds) != visual_mask.shape[0] or not all(isinstance(s, int) and s >= 0 for s in seeds):
            raise ValueError(f"seed must be an int >= 0 or one per sample ({visual_mask.shape[0]}), got {seed!r}")
        return cls(schedule, methods, counts, tuple(positions), visual_mask, n_visual, seeds, guide_importance,
                   information, grid, tower)  # fmt: skip

    def generators(self, stage: int) -> list[torch.Generator]:
        """One generator per sample for stage ``stage``, seeded from (sample seed, stage)."""
        return [torch.Generator().manual_seed(seed * 1_000_003 + stage) for seed in self.seeds]


def _check_information(
    schedule: Schedule, methods: tuple[Method, ...], information: Mapping[int, torch.Tensor] | None,
    shape: tuple[int, int],
) -> None:  # fmt: skip
    """Stages reading information (the oracle) need it at their layer, one value per original visual token."""
    for stage, method in zip(schedule.stages, methods, strict=True):
        if "information" not in method.needs:
            continue
        if information is None or stage.layer not in information:
            raise ValueError(
                f"{stage} ranks tokens by their information at layer {stage.layer}: compute it with "
                "horizon.information.oracle_information(loaded, prompt, answers, layers) and pass information="
            )
        if tuple(information[stage.layer].shape) != shape:
            raise PlanError(
                f"information at layer {stage.layer} has shape {tuple(information[stage.layer].shape)}, "
                f"the prompt has {shape[0]} x {shape[1]} visual tokens"
            )


def _met(
    schedule: Schedule, methods: tuple[Method, ...], counts: tuple[int, ...], n_visual: int, grid: torch.Tensor | None
) -> tuple[int, ...]:
    """Each stage's count as its method meets it: a fraction kept by a method that meets only some counts (pool: an
    h x w grid; dart-set: 4 + 8T) becomes the nearest count it meets on this prompt's grid; an absolute count stays
    as written (the method refuses it if it cannot meet it)."""
    out = []
    for stage, method, count in zip(schedule.stages, methods, counts, strict=True):
        if method.keeps is None or stage.keep.absolute:
            out.append(count)
            continue
        grids = [None] if grid is None else [(int(r), int(c)) for r, c in grid.tolist()]
        met = {method.meetable(count, n_visual, g) for g in grids}
        if len(met) > 1:
            raise PlanError(f"{stage}: the batch's visual grids {grid.tolist() if grid is not None else None} meet "
                            f"different counts {sorted(met)}; batch prompts of one image shape")  # fmt: skip
        out.append(met.pop())
    return tuple(out)


def _check_grid_and_tower(
    schedule: Schedule, grid: torch.Tensor | None, tower: Tower | None, shape: tuple[int, int]
) -> None:
    """A grid, when given, covers the visual tokens; stages reading the grid or the tower have them."""
    if grid is not None and (grid.shape != (shape[0], 2) or bool((grid.prod(-1) != shape[1]).any())):
        raise PlanError(f"visual grid {grid.tolist()} (rows x columns per sample) does not cover the prompt's "
                        f"{shape[1]} visual tokens in each of its {shape[0]} samples")  # fmt: skip
    if tower is not None and tuple(tower.attention.shape) != shape:
        raise PlanError(f"the vision-tower probe has {tuple(tower.attention.shape)} visual tokens, the prompt "
                        f"{shape[0]} x {shape[1]}")  # fmt: skip
    for need, given, how in (("grid", grid, "prepare the prompt with horizon.engine.run.prepare"),
                             ("tower", tower, "build the plan with horizon.engine.planning.plan_for")):  # fmt: skip
        stages = stages_needing(schedule, need)
        if stages and given is None:
            raise ValueError(f"{', '.join(stages)} reads the visual {need}, which this plan lacks: {how}")


@dataclass
class Trace:
    """What the engine did during one run (filled during prefill)."""

    prompt_len: int = 0
    n_visual: int = 0
    visual_per_layer: list[int] = field(default_factory=list)  # visual tokens entering each layer
    tokens_per_layer: list[int] = field(default_factory=list)  # all prompt tokens in each layer's cache
    kept: list[torch.Tensor] = field(default_factory=list)  # per stage (B, keep) original prompt indices (-1 merged)
    merged: list[int] = field(default_factory=list)  # per stage, merged tokens inserted (SparseVLM recycling)
    inputs_used: list[tuple[str, ...]] = field(default_factory=list)  # per stage, view fields read
