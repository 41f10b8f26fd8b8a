"""A schedule's plan for one prepared prompt of a loaded model: :class:`RunPlan` with what the prompt and the model
give it (the visual grid; the vision tower's probe, computed only when a stage reads it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from horizon.engine.plan import RunPlan, stages_needing
from horizon.methods.view import Tower
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.schedule import Schedule


def tower_for(loaded: LoadedModel, prompt: Prompt, schedules: Sequence[Schedule]) -> Tower | None:
    """The vision tower's probe of ``prompt`` if a stage of ``schedules`` reads it (VisionZip), else None."""
    if not any(stages_needing(s, "tower") for s in schedules):
        return None
    return loaded.adapter.tower(loaded.model, prompt.inputs)


def plan_for(
    loaded: LoadedModel,
    prompt: Prompt,
    schedule: Schedule,
    *,
    seed: int | Sequence[int],
    guide_importance: torch.Tensor | None = None,
    information: Mapping[int, torch.Tensor] | None = None,
    tower: Tower | None = None,
) -> RunPlan:
    """``schedule`` resolved for ``prompt``; ``tower`` (from :func:`tower_for`, once per prompt) is computed here when
    the schedule needs it and none is given."""
    if tower is None:
        tower = tower_for(loaded, prompt, [schedule])
    return RunPlan.build(schedule, prompt.visual_mask, n_layers=loaded.n_layers, mrope=loaded.adapter.mrope,
                         seed=seed, guide_importance=guide_importance, information=information, grid=prompt.grid,
                         tower=tower)  # fmt: skip
