"""The method contract's checks on one :class:`~horizon.contract.probe.Probe` (one method, one loaded model): each
returns a :class:`~horizon.doctor.checks.Check`, one line, and is run under :func:`~horizon.doctor.checks.guarded`, so
an exception (a selection the engine refuses, a crash in the method) is a failed line and the next check still runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch

from horizon.contract.probe import Probe
from horizon.doctor.build import with_attention
from horizon.doctor.checks import OVERLAP, QUESTIONS, TOLERANCE, Check
from horizon.engine.output import Output
from horizon.schedule import Keep, Schedule
from horizon.speed.methods import bench_methods

KEEP = Keep(0.25)  # the budget of the determinism, batch and attention checks
SEED = 7  # the seed those checks run under (others: the seeds compared against it)
# view fields holding attention probabilities (the engine recomputes their rows from q/k: never an attention map)
ATTENTION_FIELDS = frozenset({"prev_last_query_attention", "last_query_attention", "prev_attention"})
UNTRACKED = "plain attributes (hidden, visual_rows, visual_index, pad, rows) are not tracked"


def _kept(out: Output) -> tuple[tuple[tuple[int, ...], ...], ...]:
    return tuple(stage.kept_index for stage in out.stages)


def _overlap(a: Sequence[int], b: Sequence[int]) -> float:
    """The share of the larger of ``a`` and ``b`` that both keep, as multisets (-1, a new token, may come more than
    once); two empty sets (a stage that withdraws every token) agree."""
    if not a and not b:
        return 1.0
    return sum((Counter(a) & Counter(b)).values()) / max(len(a), len(b))


def _relative(got: torch.Tensor, want: torch.Tensor) -> float:
    """Largest |got - want| relative to the largest |want|."""
    return float((got.float() - want.float()).abs().max()) / (float(want.abs().max()) or 1.0)


def _kept_problem(probe: Probe, out: Output, want: int) -> str | None:
    """What is wrong with one stage's record against a plan of ``want`` kept tokens, or None."""
    (stage,) = out.stages
    lens = sorted({len(row) for row in stage.kept_index})
    if stage.kept != want or lens != [want]:
        return f"kept {lens} (the engine planned {stage.kept}), promised {want}"
    for row in stage.kept_index:
        old = [i for i in row if i >= 0]
        if len(old) != len(row) and not probe.method.merges:
            return "made new tokens (-1) without declaring merges=True"
        if old != sorted(set(old)) or any(i >= out.n_visual for i in old):
            return f"indices not sorted, unique and in 0..{out.n_visual - 1}"
    seen = set(out.visual_per_layer[stage.layer :])
    if seen != {want + stage.merged}:
        return f"layers from {stage.layer} see {sorted(seen)} visual tokens, not {want} (+{stage.merged} merged)"
    return None


def exact_budgets(probe: Probe, fractions: Sequence[float], counts: Sequence[int]) -> Check:
    """Each budget keeps exactly what its plan promises: a fraction the count the method meets (``meetable``), an
    absolute count as written; an absolute count the method declares it cannot meet (``keeps``) may be refused."""
    nv, grid, m = probe.n_visual(), probe.grid(), probe.method
    keeps = [Keep(0)] if probe.withdraws else [*(Keep(f) for f in fractions), *(Keep(c, absolute=True) for c in counts)]
    good, bad = [], []
    for keep in keeps:
        want = probe.planned(keep)
        meets = m.meetable(want, nv, grid)
        try:
            out = probe.run(keep)
        except Exception as err:  # noqa: BLE001 - a refusal is a failed budget unless the method declares it
            if keep.absolute and m.keeps is not None and meets != want:
                good.append(f"{keep} refused (meets {meets})")
            else:
                bad.append(f"{keep}: {type(err).__name__}: {err}")
            continue
        problem = _kept_problem(probe, out, want)
        if problem:
            bad.append(f"{keep}: {problem}")
        else:
            good.append(f"{keep}->{want}")
    detail = "; ".join(bad) if bad else f"of {nv} visual tokens {', '.join(good)}: exact, sorted, unique, in range"
    return Check(f"exact budgets [{probe.model}]", not bad, detail)


def keep_all_identity(probe: Probe) -> Check:
    """Keeping every visual token keeps them all, in order, and gives the unpruned run's first-token logits."""
    name = f"keep-all is the identity [{probe.model}]"
    if probe.withdraws:
        return Check(name, True, "not applicable: the method withdraws every visual token")
    out = probe.run(Keep(1.0))
    full = probe.run(Keep(1.0), schedule=Schedule())
    nv = out.n_visual
    everything = out.stages[0].kept_index == ((*range(nv),),)
    equal = torch.equal(out.step_logits[0], full.step_logits[0])
    kept = f"kept all {nv}" if everything else f"kept {len(out.stages[0].kept_index[0])} of {nv} (not 0..{nv - 1})"
    logits = "torch.equal" if equal else f"differ by {_relative(out.step_logits[0], full.step_logits[0]):.2e}"
    return Check(name, everything and equal, f"{kept}; first-token logits vs the unpruned run: {logits}")


def deterministic(probe: Probe, seeds: Sequence[int]) -> Check:
    """The same seed keeps the same set (and logits); other seeds keep another set at least once if the method
    declares ``stochastic``, never if it does not."""
    base, again = probe.run(KEEP, seed=SEED), probe.run(KEEP, seed=SEED)
    same = _kept(base) == _kept(again) and torch.equal(base.step_logits[0], again.step_logits[0])
    differ = sum(_kept(probe.run(KEEP, seed=s)) != _kept(base) for s in seeds)
    stochastic = probe.method.stochastic
    ok = same and (differ > 0 if stochastic else differ == 0)
    declared = "declares stochastic" if stochastic else "not stochastic"
    others = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    detail = (f"seed {SEED} twice: {'same' if same else 'DIFFERENT'} kept set; {declared}: {others} kept another set "
              f"{differ} of {len(seeds)} times")  # fmt: skip
    return Check(f"deterministic for a seed [{probe.model}]", ok, detail)


def batch_equals_singles(probe: Probe) -> Check:
    """A left-padded batch of four prompts vs each alone: the same kept sets (in 16-bit :data:`OVERLAP` of them) and
    first-token logits within the dtype's :data:`TOLERANCE`."""
    together = probe.run(KEEP, questions=QUESTIONS)
    overlap, worst = 1.0, 0.0
    for b, question in enumerate(QUESTIONS):
        alone = probe.run(KEEP, questions=[question])
        for s, a in zip(together.stages, alone.stages, strict=True):
            overlap = min(overlap, _overlap(s.kept_index[b], a.kept_index[0]))
        worst = max(worst, _relative(together.step_logits[0][b], alone.step_logits[0][0]))
    tol, need = TOLERANCE[probe.loaded.dtype], OVERLAP[probe.loaded.dtype]
    return Check(f"padded batch of {len(QUESTIONS)} = single runs [{probe.model}]", overlap >= need and worst <= tol,
                 f"kept sets overlap {overlap:.1%} (need {need:.0%}), first-token logits differ by {worst:.2e} of the "
                 f"largest (tolerance {tol:g})")  # fmt: skip


def reads_declared(probe: Probe) -> Check:
    """Every view field read in this model's runs (the checks before this one) is one the method declares."""
    if not probe.runs:  # every run before failed: read what one run reads
        probe.run(KEEP)
    needs, read = probe.method.needs, probe.reads
    undeclared = sorted(read - needs)
    unread = sorted(needs - read)
    detail = (f"read {', '.join(sorted(read)) or 'no tracked field'} over {probe.runs} runs"
              + (f"; UNDECLARED: {', '.join(undeclared)}" if undeclared else "; all declared")
              + (f"; declared, not read: {', '.join(unread)}" if unread else "") + f" ({UNTRACKED})")  # fmt: skip
    return Check(f"reads only what it declares [{probe.model}]", not undeclared, detail)


def sdpa_equals_eager(probe: Probe) -> Check:
    """Under the model's attention (SDPA) the method runs with no attention map (the engine recomputes the attention
    rows a method declares from q/k), and it keeps the same set as under eager attention."""
    loaded = probe.loaded
    attn = loaded.attn_implementation
    ours = probe.run(KEEP)
    read = sorted(set().union(*(s.inputs_used for s in ours.stages)) & ATTENTION_FIELDS)
    undeclared = sorted(set(read) - probe.method.needs)
    eager = with_attention(loaded, "eager")
    try:
        theirs = probe.run(KEEP, loaded=eager)
    finally:
        with_attention(loaded, attn)
    overlap = min((_overlap(a.kept_index[0], b.kept_index[0]) for a, b in zip(ours.stages, theirs.stages, strict=True)),
                  default=1.0)  # fmt: skip
    need = OVERLAP[loaded.dtype]
    reads = "reads no attention"
    if read:
        declared = f"UNDECLARED: {', '.join(undeclared)}" if undeclared else "declared"
        reads = f"reads {', '.join(read)} (recomputed from q/k; {declared})"
    return Check(f"{attn} = eager attention [{probe.model}]", overlap >= need and not undeclared,
                 f"runs under {attn} with no attention map, {reads}; kept set overlaps eager's {overlap:.1%} "
                 f"(need {need:.0%})")  # fmt: skip


def selection_time(method: str, geometry: str, repeats: int) -> Check:
    """The selection's time on ``geometry``'s real-sized inputs against one decoder layer of that width
    (``horizon bench methods`` for this method only); passes unless the selection fails."""
    (t,) = bench_methods(geometry, methods=[method], repeats=repeats)
    return Check(f"selection time [{geometry} geometry]", True,
                 f"selection_ms {t.selection_ms:.2f}, layer_ms {t.layer_ms:.1f} (one decoder layer, {t.tokens} "
                 f"tokens, {t.layer_tflops:.3f} TFLOPs), share {t.share:.2%} (median of {repeats}, CPU)")  # fmt: skip
