"""Many schedules on one prompt with the shared prefix computed once (design §3, prefix reuse).

Layers before a schedule's first stage see every token, so they are the same for all schedules: one
unpruned prefill keeps a snapshot of the state entering each first-stage layer (references only) and the
keys/values of every layer; each schedule then resumes at its layer with a cache holding the prefix layers
and decodes greedily as :func:`horizon.engine.run.run` does. The outputs equal separate runs
(tests/test_sweep.py). ``prefill_s`` of a resumed schedule times only its own layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

from horizon.engine.generation import Pass, stop_ids
from horizon.engine.loop import PrunedDecoder
from horizon.engine.output import Output, visual_indices
from horizon.engine.plan import RunPlan
from horizon.engine.planning import plan_for, tower_for
from horizon.engine.state import Snapshot
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.schedule import Schedule


@torch.inference_mode()
def run_many(
    loaded: LoadedModel,
    prompt: Prompt,
    schedules: Sequence[Schedule],
    *,
    max_new_tokens: int = 16,
    seed: int = 0,
    stop_at_eos: bool = True,
    information: Mapping[int, torch.Tensor] | None = None,
) -> list[Output]:
    """One output per schedule, in order; the unpruned prefix is computed once. ``information`` feeds
    oracle stages (as in :func:`horizon.engine.run.run`)."""
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")

    tower = tower_for(loaded, prompt, schedules)  # once for every schedule that reads the vision tower

    def plan_of(schedule: Schedule) -> RunPlan:
        return plan_for(loaded, prompt, schedule, seed=seed, information=information, tower=tower)

    plans = [plan_of(s) for s in schedules]
    eos = stop_ids(loaded, stop_at_eos)
    first = frozenset(p.schedule.stages[0].layer for p in plans if p.schedule.stages)
    unpruned = [k for k, p in enumerate(plans) if not p.schedule.stages]
    results: dict[int, Output] = {}
    with Pass(loaded, prompt, plan_of(Schedule()), eos=eos, snapshot_layers=first) as full:
        full.prefill()
        prefix_kv, snapshots = full.prefix_kv(), full.snapshots  # decoding replaces the cache's tensors
        if unpruned:  # the prefix pass is the unpruned schedule: decode it in place
            results.update(dict.fromkeys(unpruned, full.decode(max_new_tokens)))
    for k, plan in enumerate(plans):
        if k not in results:
            with Pass(loaded, prompt, plan, eos=eos) as one:
                snapshot = snapshots[plan.schedule.stages[0].layer]
                results[k] = one.resume(snapshot, prefix_kv).decode(max_new_tokens)
    return [results[k] for k in range(len(plans))]


@torch.inference_mode()
def unpruned_snapshots(
    loaded: LoadedModel, prompt: Prompt, layers: Iterable[int], *, use_cache: bool = False
) -> tuple[Any, dict[int, Snapshot]]:
    """One unpruned forward keeping the state entering each of ``layers``: (the model's output, the states)."""
    model, adapter = loaded.model, loaded.adapter
    plan = RunPlan.build(Schedule(), prompt.visual_mask, n_layers=loaded.n_layers, mrope=adapter.mrope, seed=0)
    adapter.reset(model)
    with PrunedDecoder.of(loaded) as pruner:
        pruner.begin(plan, snapshot_layers=frozenset(layers))
        out = model(**prompt.inputs, use_cache=use_cache, logits_to_keep=1)
        snapshots = pruner.snapshots()
        pruner.finish()
    return out, snapshots


@torch.inference_mode()
def select_many(
    loaded: LoadedModel, prompt: Prompt, schedules: Sequence[Schedule], *, seed: int = 0
) -> list[tuple[tuple[int, ...], ...]]:
    """What each single-stage schedule keeps (per sample, original visual indices; -1 merged), from one unpruned
    prefill and no pruned layer at all: the selections a full run would make (tests/test_sweep.py)."""
    if any(len(s.stages) != 1 for s in schedules):
        raise ValueError("select_many takes single-stage schedules")
    tower = tower_for(loaded, prompt, schedules)
    plans = [plan_for(loaded, prompt, s, seed=seed, tower=tower) for s in schedules]
    _, snapshots = unpruned_snapshots(loaded, prompt, {p.schedule.stages[0].layer for p in plans})
    out = []
    with PrunedDecoder.of(loaded) as pruner:
        for plan in plans:
            kept = pruner.select_at(plan, snapshots[plan.schedule.stages[0].layer])  # (B, keep) prompt rows
            out.append(tuple(tuple(int(i) for i in row) for row in visual_indices(prompt.visual_mask, kept)))
    return out
