"""Many schedules on one prompt with the shared prefix computed once (design §3, prefix reuse).

Layers before a schedule's first stage see every token, so they are the same for all schedules: one
unpruned prefill keeps a snapshot of the state entering each first-stage layer (references only) and the
keys/values of every layer; each schedule then resumes at its layer with a cache holding the prefix layers
and decodes greedily as :func:`horizon.engine.run.run` does. The outputs equal separate runs
(tests/test_sweep.py). ``prefill_s`` of a resumed schedule times only its own layers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from transformers.cache_utils import DynamicCache

from horizon.engine.loop import PrunedDecoder, Snapshot
from horizon.engine.plan import RunPlan
from horizon.engine.run import Output, greedy, stop_ids, sync_device, visual_indices
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
    model, adapter, dec = loaded.model, loaded.adapter, loaded.decoder

    def plan_of(schedule: Schedule) -> RunPlan:
        return RunPlan.build(schedule, prompt.visual_mask, n_layers=loaded.n_layers, mrope=adapter.mrope, seed=seed,
                             information=information)  # fmt: skip

    plans = [plan_of(s) for s in schedules]
    eos = stop_ids(loaded, stop_at_eos)
    adapter.reset(model)
    results: dict[int, Output] = {}
    with PrunedDecoder(dec, mrope=adapter.mrope) as pruner:
        pruner.snapshot_layers = frozenset(p.schedule.stages[0].layer for p in plans if p.schedule.stages)
        full = plan_of(Schedule())
        pruner.begin(full)
        sync_device(loaded.device)
        t0 = time.perf_counter()
        out = model(**prompt.inputs, use_cache=True, logits_to_keep=1)
        sync_device(loaded.device)
        full_s = time.perf_counter() - t0
        prefix_kv = [(layer.keys, layer.values) for layer in out.past_key_values.layers]  # decoding replaces these
        snapshots = dict(pruner.snapshots)
        unpruned = [k for k, p in enumerate(plans) if not p.schedule.stages]
        logits = out.logits[:, -1].float()
        if unpruned:  # the prefix run is the unpruned schedule: decode it in place
            results[unpruned[0]] = greedy(loaded, pruner, full, prompt, logits, out.past_key_values, max_new_tokens,
                                          eos, full_s)  # fmt: skip
        else:
            pruner.finish()
    for k, plan in enumerate(plans):
        if k in results:
            continue
        if not plan.schedule.stages:
            results[k] = results[unpruned[0]]
            continue
        results[k] = _resume(
            loaded, prompt, plan, snapshots[plan.schedule.stages[0].layer], prefix_kv, max_new_tokens, eos
        )
    return [results[k] for k in range(len(plans))]


def _resume(
    loaded: LoadedModel,
    prompt: Prompt,
    plan: RunPlan,
    snapshot: Snapshot,
    prefix_kv: list[tuple[torch.Tensor, torch.Tensor]],
    max_new_tokens: int,
    eos: torch.Tensor,
) -> Output:
    cache = DynamicCache(config=loaded.decoder.config)
    for j in range(snapshot.layer):  # the shared prefix layers' keys and values
        cache.layers[j].update(*prefix_kv[j])  # type: ignore[union-attr]
    with PrunedDecoder(loaded.decoder, mrope=loaded.adapter.mrope) as pruner:
        sync_device(loaded.device)
        t0 = time.perf_counter()
        h = pruner.resume(plan, snapshot, cache, prompt.inputs["attention_mask"])  # (B, S', D) normed
        logits = loaded.model.lm_head(h[:, -1:])[:, -1].float()  # (B, V)
        sync_device(loaded.device)
        return greedy(loaded, pruner, plan, prompt, logits, cache, max_new_tokens, eos, time.perf_counter() - t0)


@torch.inference_mode()
def unpruned_snapshots(
    loaded: LoadedModel, prompt: Prompt, layers: Iterable[int], *, use_cache: bool = False
) -> tuple[Any, dict[int, Snapshot]]:
    """One unpruned forward keeping the state entering each of ``layers``: (the model's output, the states)."""
    model, adapter = loaded.model, loaded.adapter
    plan = RunPlan.build(Schedule(), prompt.visual_mask, n_layers=loaded.n_layers, mrope=adapter.mrope, seed=0)
    adapter.reset(model)
    with PrunedDecoder(loaded.decoder, mrope=adapter.mrope) as pruner:
        pruner.snapshot_layers = frozenset(layers)
        pruner.begin(plan)
        out = model(**prompt.inputs, use_cache=use_cache, logits_to_keep=1)
        pruner.finish()
    return out, dict(pruner.snapshots)


@torch.inference_mode()
def select_many(
    loaded: LoadedModel, prompt: Prompt, schedules: Sequence[Schedule], *, seed: int = 0
) -> list[tuple[tuple[int, ...], ...]]:
    """What each single-stage schedule keeps (per sample, original visual indices; -1 merged), from one unpruned
    prefill and no pruned layer at all: the selections a full run would make (tests/test_sweep.py)."""
    if any(len(s.stages) != 1 for s in schedules):
        raise ValueError("select_many takes single-stage schedules")
    plans = [RunPlan.build(s, prompt.visual_mask, n_layers=loaded.n_layers, mrope=loaded.adapter.mrope, seed=seed)
             for s in schedules]  # fmt: skip
    _, snapshots = unpruned_snapshots(loaded, prompt, {p.schedule.stages[0].layer for p in plans})
    out = []
    with PrunedDecoder(loaded.decoder, mrope=loaded.adapter.mrope) as pruner:
        for plan in plans:
            kept = pruner.select_at(plan, snapshots[plan.schedule.stages[0].layer])  # (B, keep) prompt rows
            out.append(tuple(tuple(int(i) for i in row) for row in visual_indices(prompt.visual_mask, kept)))
    return out
