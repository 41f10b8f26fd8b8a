"""The doctor's correctness checks on one built model: each returns a :class:`Check` (a pass/fail line and what was
measured), never raises for a failed comparison, so one broken kernel does not hide the others.

* keep-all pruning equals the stock model's logits exactly (``torch.equal``), at batch 1 and a padded batch;
* pruned prefill and cached decoding equal the independent reference (horizon/doctor/reference.py) within
  :data:`TOLERANCE` of the dtype (relative to the reference's largest logit);
* every method and every paper preset runs, keeping what its plan says;
* FastV's and PDrop's selections under the checked attention equal the ones read off stock eager attention maps,
  and SparseVLM's selections and merges are those it makes under eager;
* a padded batch equals its samples run one at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from horizon.doctor.build import with_attention
from horizon.doctor.reference import reference_logits
from horizon.engine.guide import guide_importance
from horizon.engine.loop import PrunedDecoder
from horizon.engine.output import Output
from horizon.engine.plan import RunPlan
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.information import answer_token, oracle_information
from horizon.methods import METHODS
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.paper_presets import PAPER_BUDGETS, PAPER_PRESETS, resolve_schedule
from horizon.schedule import WITHDRAW_ALL_METHODS, Keep, Schedule, Stage, parse_schedule

# the largest |engine - reference| allowed, as a fraction of the reference's largest |logit|: float32 is the
# tests' 1e-5; a 16-bit run takes other kernels and summation orders through every layer
TOLERANCE = {"float32": 1e-5, "bfloat16": 5e-2, "float16": 1e-2}
# three Table 4/5 settings the reference can follow (it keeps and drops tokens; SparseVLM's merged ones it cannot)
REFERENCE_PRESETS = ("paper:llava-64:dart+random", "paper:llava-192:fastv+vtw", "paper:llava-64:pdrop")
REFERENCE_STEPS = 4  # the prefill and three cached decoding steps
# the least share of one selection another must keep: equal in float32; in 16-bit a near-tie at the cut-off may
# fall either way (other kernels, other roundings)
OVERLAP = {"float32": 1.0, "bfloat16": 0.95, "float16": 0.95}
QUESTIONS = (
    "What is written on the sign?",
    "Is the sign red? Answer yes or no please.",
    "Describe the picture.",
    "What colour is the largest shape in the image, and where is it?",
)  # four lengths: a batch of them is left-padded


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str
    skipped: bool = False  # nothing to check on this model (said why in ``detail``); never a failure

    def line(self) -> str:
        return f"{'SKIP' if self.skipped else 'PASS' if self.passed else 'FAIL'}  {self.name}: {self.detail}"


def prompt_of(loaded: LoadedModel, batch: int = 1) -> Prompt:
    """The doctor's prompt: the demo image (448x336: 576 tokens for LLaVA, Qwen's count from its pixels) and
    ``batch`` questions of different lengths."""
    if not 1 <= batch <= len(QUESTIONS):
        raise ValueError(f"batch must be 1..{len(QUESTIONS)}, got {batch}")
    return prepare(loaded, [demo_image()] * batch, list(QUESTIONS[:batch]))


def guarded(name: str, fn: Callable[[], Check]) -> Check:
    """``fn()``, or a failed check naming the exception it raised."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - a crash is a failed check, reported with the others
        return Check(name, False, f"raised {type(err).__name__}: {err}")


def keep_all_exact(loaded: LoadedModel, batch: int) -> Check:
    """Stock logits vs keep-all stages through the engine (three stages keeping every token), ``torch.equal``."""
    prompt = prompt_of(loaded, batch)
    schedule = parse_schedule(f"random@0:1+random@{loaded.n_layers // 2}:1+random@{loaded.n_layers - 1}:1")
    with torch.inference_mode():
        loaded.adapter.reset(loaded.model)
        stock = loaded.model(**prompt.inputs, use_cache=False).logits
        plan = RunPlan.build(schedule, prompt.visual_mask, n_layers=loaded.n_layers, mrope=loaded.adapter.mrope, seed=0)
        loaded.adapter.reset(loaded.model)
        with PrunedDecoder.of(loaded) as pruner:
            pruner.begin(plan)
            pruned = loaded.model(**prompt.inputs, use_cache=False).logits
            pruner.finish()
    equal = torch.equal(stock, pruned)
    worst = float((stock.float() - pruned.float()).abs().max())
    return Check(f"keep-all = stock logits [{loaded.attn_implementation}, batch {batch}]", equal,
                 "torch.equal" if equal else f"differ by up to {worst:.3g}")  # fmt: skip


def _worst(out: Output, ref: Sequence[torch.Tensor]) -> float:
    """Largest |engine - reference| over the steps, relative to the reference's largest |logit|."""
    ref = [want.float().cpu() for want in ref]  # the engine hands its logits back on the CPU
    diffs = [float((got.float() - want).abs().max()) for got, want in zip(out.step_logits, ref, strict=True)]
    scale = max(float(want.abs().max()) for want in ref) or 1.0
    return max(diffs) / scale


def matches_reference(loaded: LoadedModel, preset: str, batch: int = 1) -> Check:
    """``preset``'s prefill and :data:`REFERENCE_STEPS` - 1 cached steps vs the reference (computed under sdpa
    when the run used flash-attention-2, whose kernels take no 4-D mask)."""
    prompt = prompt_of(loaded, batch)
    out = run(loaded, prompt, resolve_schedule(preset), max_new_tokens=REFERENCE_STEPS, seed=3, stop_at_eos=False)
    attn = loaded.attn_implementation
    ref_model = with_attention(loaded, "sdpa") if attn == "flash_attention_2" else loaded
    try:
        ref = reference_logits(ref_model, prompt, out, steps=REFERENCE_STEPS, mrope=loaded.adapter.mrope)
    finally:
        if ref_model is not loaded:
            with_attention(loaded, attn)
    worst, tol = _worst(out, ref), TOLERANCE[loaded.dtype]
    return Check(f"pruned = reference [{attn}, {preset}, batch {batch}]", worst <= tol,
                 f"max |diff| {worst:.2e} of the largest logit (tolerance {tol:g}, {loaded.dtype})")  # fmt: skip


def _one_stage(loaded: LoadedModel, method: str, prompt: Prompt) -> Output:
    m = METHODS.get(method)
    layer = max(m.min_layer, 2)
    image, question = demo_image(), QUESTIONS[0]
    guide = guide_importance(loaded, [image], [question], new_tokens=2) if "guide_importance" in m.needs else None
    information = None
    if "information" in m.needs:  # the oracle: the model's own information for a fixed answer token
        information = oracle_information(loaded, prompt, answer_token(loaded.processor, question, "STOP"), [layer])
    grid = None if prompt.grid is None else (int(prompt.grid[0, 0]), int(prompt.grid[0, 1]))
    keep = Keep(0) if method in WITHDRAW_ALL_METHODS else Keep(m.meetable(Keep(0.25).count(prompt.n_visual),
                                                                          prompt.n_visual, grid), absolute=True)  # fmt: skip
    schedule = Schedule((Stage(method, layer, keep),))
    return run(loaded, prompt, schedule, max_new_tokens=2, guide_importance=guide, information=information)


def every_method(loaded: LoadedModel) -> Check:
    """Each registered method in one stage (a quarter of the visual tokens, or none for withdraw-all) runs and keeps
    the count it meets."""
    prompt = prompt_of(loaded)
    bad = []
    for method in METHODS.names():
        try:
            out = _one_stage(loaded, method, prompt)
            (stage,) = out.stages
            if any(len(row) != stage.kept for row in stage.kept_index):
                bad.append(f"{method}: kept {[len(r) for r in stage.kept_index]}, planned {stage.kept}")
        except Exception as err:  # noqa: BLE001 - reported with the others
            bad.append(f"{method}: {type(err).__name__}: {err}")
    n = len(METHODS.names())
    return Check(f"every method runs [{loaded.attn_implementation}]", not bad,
                 f"{n} of {n}" if not bad else "; ".join(bad))  # fmt: skip


def presets_for(loaded: LoadedModel) -> list[str]:
    """The paper presets written for ``loaded``'s depth (their table's geometry, ``PAPER_BUDGETS``)."""
    return [n for n in PAPER_PRESETS.names() if PAPER_BUDGETS[n.rpartition(":")[0]][0] == loaded.n_layers]


def every_preset(loaded: LoadedModel) -> Check:
    """Each paper preset for the model's depth runs, and each stage keeps the count its schedule plans (SparseVLM's
    merged tokens come on top)."""
    prompt = prompt_of(loaded)
    bad, chosen = [], presets_for(loaded)
    if not chosen:
        depths = sorted({PAPER_BUDGETS[n.rpartition(":")[0]][0] for n in PAPER_PRESETS.names()})
        return Check(f"every paper preset runs [{loaded.attn_implementation}]", True,
                     f"no paper preset is written for {loaded.n_layers} layers (the paper's settings are for "
                     f"{' and '.join(map(str, depths))} layers): nothing to run", skipped=True)  # fmt: skip
    for name in chosen:
        schedule = PAPER_PRESETS.get(name)
        try:
            out = run(loaded, prompt, schedule, max_new_tokens=2)
            planned = schedule.tokens_per_layer(loaded.n_layers, prompt.n_visual)
            for stage in out.stages:
                rows = {len(row) for row in stage.kept_index}
                seen = out.visual_per_layer[stage.layer]
                if rows != {stage.kept} or stage.kept != planned[stage.layer] or seen != stage.kept + stage.merged:
                    bad.append(f"{name}: layer {stage.layer} kept {sorted(rows)} (+{stage.merged} merged, {seen} "
                               f"seen), planned {planned[stage.layer]}")  # fmt: skip
        except Exception as err:  # noqa: BLE001 - reported with the others
            bad.append(f"{name}: {type(err).__name__}: {err}")
    return Check(f"every paper preset runs [{loaded.attn_implementation}]", bool(chosen) and not bad,
                 f"{len(chosen)} of {len(chosen)} for {loaded.n_layers} layers" if not bad else "; ".join(bad))  # fmt: skip


def _top(scores: torch.Tensor, keep: int) -> tuple[int, ...]:
    return tuple(torch.sort(scores, descending=True, stable=True).indices[:keep].sort().values.tolist())


def selections_match_eager(loaded: LoadedModel) -> Check:
    """FastV (its layer-2 attention of the last query) and PDrop (its own layer's) under the model's attention vs
    the stock eager attention maps; SparseVLM's two stages (selections and merges) vs the same run under eager. In
    16-bit a near-tie may fall either way (eager rounds its probabilities to the dtype; the engine scores in float32):
    the kept sets must overlap by :data:`OVERLAP`."""
    attn = loaded.attn_implementation
    prompt = prompt_of(loaded)
    runs = {m: run(loaded, prompt, parse_schedule(f"{m}@{layer}:0.25"), max_new_tokens=1)
            for m, layer in (("fastv", 3), ("pdrop", 8))}  # fmt: skip
    sparse = parse_schedule("sparsevlm@3:0.5+sparsevlm@7:0.3")
    ours = run(loaded, prompt, sparse, max_new_tokens=1)
    eager = with_attention(loaded, "eager")
    try:
        loaded.adapter.reset(eager.model)
        with torch.inference_mode():
            maps = eager.model(**prompt.inputs, output_attentions=True).attentions  # L x (B, H, S, S)
        theirs = run(eager, prompt, sparse, max_new_tokens=1)
    finally:
        with_attention(loaded, attn)
    overlaps = {}
    for method, layer in (("fastv", 2), ("pdrop", 8)):
        stage = runs[method].stages[0]
        scores = maps[layer][0, :, -1].float().mean(0)[prompt.visual_mask[0]]
        want = set(_top(scores, stage.kept))
        overlaps[method] = len(want & set(stage.kept_index[0])) / max(len(want), 1)
    overlaps["sparsevlm"] = min(  # kept_index holds -1 once per merged token: compare as multisets
        sum((Counter(a.kept_index[0]) & Counter(b.kept_index[0])).values()) / max(len(b.kept_index[0]), 1)
        for a, b in zip(ours.stages, theirs.stages, strict=True)
    )
    need = OVERLAP[loaded.dtype]
    ok = all(v >= need for v in overlaps.values())
    detail = ", ".join(f"{m} {v:.1%}" for m, v in overlaps.items())
    return Check(f"selections = eager attention maps [{attn}]", ok, f"kept-set overlap {detail} (need {need:.0%})")


def batch_equals_singles(loaded: LoadedModel, preset: str = "paper:llava-64:dart+random") -> Check:
    """A left-padded batch of four under ``preset`` vs each sample alone: the same kept tokens at every stage (in
    16-bit, :data:`OVERLAP` of them) and logits within the dtype's tolerance."""
    batch = prompt_of(loaded, len(QUESTIONS))
    schedule = resolve_schedule(preset)
    together = run(loaded, batch, schedule, max_new_tokens=3, stop_at_eos=False)
    worst, overlap = 0.0, 1.0
    for b, question in enumerate(QUESTIONS):
        alone = run(loaded, prepare(loaded, [demo_image()], [question]), schedule, max_new_tokens=3, stop_at_eos=False)
        for s, a in zip(together.stages, alone.stages, strict=True):
            shared = sum((Counter(s.kept_index[b]) & Counter(a.kept_index[0])).values())
            overlap = min(overlap, shared / max(len(a.kept_index[0]), 1))
        steps = zip(together.step_logits, alone.step_logits, strict=True)
        for t, (got, want) in enumerate(steps):
            if list(together.token_ids[b][:t]) != list(alone.token_ids[0][:t]):
                break  # greedy decoding took another token (a 16-bit near-tie): later steps see other inputs
            scale = float(want.abs().max()) or 1.0
            worst = max(worst, float((got[b].float() - want[0].float()).abs().max()) / scale)
    tol, need = TOLERANCE[loaded.dtype], OVERLAP[loaded.dtype]
    return Check(f"padded batch of 4 = single runs [{loaded.attn_implementation}, {preset}]",
                 overlap >= need and worst <= tol,
                 f"kept tokens overlap {overlap:.1%} (need {need:.0%}), max |diff| {worst:.2e} of the largest logit "
                 f"(tolerance {tol:g})")  # fmt: skip
