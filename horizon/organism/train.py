"""Training the model organisms on ``synth`` (issue 7): resumable, CPU-sized, from scratch (the data and targets:
``horizon/organism/data.py``).

Two levers make a 5 M-parameter VLM learn fine-grained tasks in hours on 2 cores (see
docs/organisms.md for what one answer token per image did not learn):

* **dense supervision**: a sequence holds one scene and all six of its questions as a multi-turn chat (the
  family's own chat template, each question in the benchmark's prompt form, order shuffled so every task
  also comes first, as at evaluation); the loss covers every answer token.
* **a visual auxiliary loss**: linear heads on the projected visual tokens (what the decoder receives)
  predict, per token, what its grid cell holds (object kind, object colour, digit), the background
  colour and the cell's row and column. A first stage trains the vision tower with it alone (no decoder: cheap); the joint stage keeps
  it at ``aux_weight``. The heads are not part of the shipped model.

Scenes come from ``synth.make_scene`` with training seeds (``train-<seed>-<index>``), never the held-out
rows' (``synth-<seed>-<i>``). A checkpoint (model, heads, optimizer, step) is written atomically every
``checkpoint_every`` steps and on exit; training resumes from it. Everything else is a pure function of
the configuration and the step, so a resumed run sees the same batches as an uninterrupted one.

A further stage (``init``: a finished run's folder) starts from that run's weights. Options for it: ``dense``
chats (every question a scene supports, ``data.dense_questions``) and lookup supervision (``lookup.lookup_losses``) at
each cell question's column number (and, with ``lookup_exists``, each exists question's kind word): a pointing
loss (``point_weight``: head 0 of layer ``point_layer`` attends from there to what it names: the cell's 9 visual
tokens; for exists the matching shapes' tokens, or the first token when none), a probe (``probe_weight``: linear
heads read the cell's object kind, colour and digit, or exists' yes / no, from that token's state after the layer)
and a copy loss (``copy_weight``: head 0 of the next layer attends from the question's answer position to that
token). Pointing alone, and pointing with the probe, did not raise the answers' accuracy; the copy loss did (the
model cards' *Training* and *Notes*).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from horizon.benchmarks import synth
from horizon.benchmarks.synth import VALIDATION_SEED
from horizon.models.loading import adapter_for
from horizon.models.presets import MODELS
from horizon.organism.build import BUILDERS
from horizon.organism.config import TrainConfig
from horizon.organism.data import HEADS, OBJECT_HEADS, SIDE, generation_suffix, make_batch
from horizon.organism.lookup import lookup_losses


# -- model pieces ---------------------------------------------------------------------------------------------
class VisualHeads(torch.nn.Module):
    """Per-visual-token linear probes (training only)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.heads = torch.nn.ModuleDict({name: torch.nn.Linear(hidden, n) for name, n in HEADS.items()})

    def loss(self, feats: torch.Tensor, cells: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean over the heads of the cross-entropy; ``feats`` (B, 144, H), ``cells`` (B, 144, len(HEADS)).

        Most tokens show an empty cell, so the object heads (kind, colour, digit) add the cross-entropy over the
        tokens of occupied cells: without it the tower learnt to say "none" and never told digits apart (a
        trial: 9 % digit accuracy on digit tokens after 1,000 steps). Accuracies reported on those tokens."""
        total = feats.new_zeros(())
        acc: dict[str, float] = {}
        occupied = cells[..., 0] != 0
        for k, (name, head) in enumerate(self.heads.items()):
            logits, target = head(feats), cells[..., k]
            total = total + F.cross_entropy(logits.flatten(0, 1), target.flatten())
            hit = logits.argmax(-1) == target
            if name in OBJECT_HEADS and occupied.any():
                total = total + F.cross_entropy(logits[occupied], target[occupied])
                hit = hit[occupied & (target != 0)] if name == "digit" else hit[occupied]
            acc[name] = float(hit.float().mean()) if hit.numel() else float("nan")
        return total / len(self.heads), acc


class _Capture:
    """Keeps the projected visual tokens of a full forward (the family adapter's hook on them)."""

    def __init__(self) -> None:
        self.value: torch.Tensor | None = None

    def __call__(self, value: torch.Tensor) -> None:
        self.value = value


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Pre-training: linear warmup, then constant. Joint stage (a fresh decoder): warmup again, then cosine decay
    to ``min_lr_ratio`` x over its steps."""
    if step < cfg.pretrain_steps:
        return cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup))
    k = step - cfg.pretrain_steps
    if k < cfg.warmup:
        return cfg.lr * (k + 1) / cfg.warmup
    frac = (k - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


# -- evaluation: the benchmark's own prompts, first generated token ----------------------------------------------
@torch.no_grad()
def evaluate(
    model: Any, processor: Any, family: str, rows: Sequence[dict[str, Any]], batch: int = 24
) -> dict[str, float]:
    """Accuracy (percent) overall, per family and per task: greedy first token == the one-word answer.

    The adapters' prompts; equal to ``horizon eval`` on these rows because every answer is one token.
    """
    preds = processor.tokenizer.convert_ids_to_tokens(
        answer_logits(model, processor, family, rows, batch).argmax(-1).tolist()
    )
    hits: dict[str, list[float]] = {}
    for r, p in zip(rows, preds, strict=True):
        for key in ("accuracy", f"accuracy_{r['family']}", f"accuracy_{r['task']}"):
            hits.setdefault(key, []).append(float(p == r["answer"]))
    return {k: round(100 * sum(v) / len(v), 2) for k, v in sorted(hits.items())}


@torch.no_grad()
def answer_logits(
    model: Any, processor: Any, family: str, rows: Sequence[dict[str, Any]], batch: int = 24
) -> torch.Tensor:
    """(N, vocab) logits of the first answer token for each row's benchmark prompt, in batches left-padded as the
    adapters load the processor (so the last position is every prompt's own)."""
    import io

    adapter = adapter_for(family)
    was, tok = model.training, processor.tokenizer
    side, tok.padding_side = tok.padding_side, "left"
    model.eval()
    out = []
    try:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            images = [Image.open(io.BytesIO(r["image"]["bytes"])).convert("RGB") for r in chunk]
            prompt = adapter.prepare(
                model, processor, images, [str(r["question"]) + synth.PROMPT_SUFFIX for r in chunk]
            )
            out.append(model(**prompt.inputs).logits[:, -1].float())
    finally:
        model.train(was)
        tok.padding_side = side
    return torch.cat(out)


# -- the loop -------------------------------------------------------------------------------------------------
def _save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def initial_weights(run: Path, organism: str) -> dict[str, Any]:
    """The model and head weights of a finished run of ``organism`` (``--init``), checked."""
    path = run / "checkpoint.pt"
    if not path.is_file():
        raise FileNotFoundError(f"--init {run}: no checkpoint.pt there (a run folder of `horizon organism train`)")
    saved = torch.load(path, weights_only=False)
    cfg, step = saved["config"], saved["state"]["step"]
    if cfg["organism"] != organism:
        raise ValueError(f"--init {run} is a run of {cfg['organism']}, not {organism}")
    if step < cfg["pretrain_steps"] + cfg["steps"]:
        raise ValueError(f"--init {run} is unfinished (step {step} of {cfg['pretrain_steps'] + cfg['steps']})")
    return saved


def train(
    cfg: TrainConfig, out: Path, log: Callable[[str], None] = print, stop_after: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Train (or resume) ``cfg.organism`` into ``out``; returns the final summary (also ``out/train.json``).

    ``stop_after`` ends this call after that many steps (a checkpoint is written), for smoke runs and tests.
    ``progress(step, total)`` is called once before the first step and after each (steps done, steps in all).
    """
    torch.set_num_threads(cfg.threads)
    out.mkdir(parents=True, exist_ok=True)
    family = MODELS.get(cfg.organism).family
    model, processor = BUILDERS[cfg.organism](cfg.seed)
    hidden = model.config.text_config.hidden_size
    torch.manual_seed(cfg.seed)
    heads = VisualHeads(hidden)
    cell_probe = torch.nn.ModuleDict(  # created only when used: the torch RNG stream stays as before otherwise
        {name: torch.nn.Linear(hidden, HEADS[name]) for name in OBJECT_HEADS} if cfg.probe_weight > 0 else {}
    )
    if cfg.probe_weight > 0 and cfg.lookup_exists:
        cell_probe["exists"] = torch.nn.Linear(hidden, 2)
    params = [*model.parameters(), *heads.parameters(), *cell_probe.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    ckpt = out / "checkpoint.pt"
    state: dict[str, Any] = {"step": 0, "seconds": 0.0, "evals": []}
    if cfg.init:
        start = initial_weights(Path(cfg.init), cfg.organism)
        model.load_state_dict(start["model"])
        heads.load_state_dict(start["heads"])
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=False)
        if saved["config"] != asdict(cfg):
            raise ValueError(f"{ckpt} was written with another configuration: {saved['config']} (now {asdict(cfg)})")
        model.load_state_dict(saved["model"])
        heads.load_state_dict(saved["heads"])
        if "probe" in saved:
            cell_probe.load_state_dict(saved["probe"])
        opt.load_state_dict(saved["optimizer"])
        state = saved["state"]
        log(f"resumed at step {state['step']} ({state['seconds'] / 60:.1f} min trained)")

    def checkpoint() -> None:
        extra = {"probe": cell_probe.state_dict()} if cfg.probe_weight > 0 else {}
        _save_atomic({"config": asdict(cfg), "model": model.state_dict(), "heads": heads.state_dict(),
                      "optimizer": opt.state_dict(), "state": state, **extra}, ckpt)  # fmt: skip

    suffix = generation_suffix(processor)
    pointing = cfg.point_weight > 0 or cfg.probe_weight > 0 or cfg.copy_weight > 0
    attending = cfg.point_weight > 0 or cfg.copy_weight > 0
    if pointing:
        layers = model.config.text_config.num_hidden_layers
        last = cfg.point_layer + (cfg.copy_weight > 0)
        if not 0 <= last < layers:
            raise ValueError(f"point_layer {cfg.point_layer} is past the decoder's {layers} layers"
                             + (" (the copy head is at point_layer + 1)" if cfg.copy_weight > 0 else ""))  # fmt: skip
        if attending:
            model.set_attn_implementation("eager")  # attention weights of the pointing / copy heads
        lookup_ids = tuple(processor.tokenizer.convert_tokens_to_ids(["column", "Is"]))
    held_out = synth.rows(cfg.eval_rows, seed=VALIDATION_SEED) if cfg.eval_rows else []
    cap = _Capture()
    handle = adapter_for(family).hook_image_features(model, cap)
    model.train()
    total = cfg.pretrain_steps + cfg.steps
    done_here = 0
    consistent = True
    tell = progress or (lambda _step, _total: None)
    tell(state["step"], total)
    try:
        while state["step"] < total:
            if stop_after is not None and done_here >= stop_after:
                break
            step = state["step"]
            consistent = False  # weights, optimizer and state mid-update until this step (and its eval) is done
            t0 = time.perf_counter()
            for g in opt.param_groups:
                g["lr"] = lr_at(cfg, step)
            batch = make_batch(processor, suffix, cfg.seed, step, cfg.batch, cfg.dense, cfg.exists_first)
            if step < cfg.pretrain_steps:
                feats = adapter_for(family).image_features(model, batch.inputs)
                aux, acc = heads.loss(feats, batch.cells)
                loss, lm = aux, float("nan")
            else:
                cap.value = None
                fwd = model(**batch.inputs, output_attentions=attending,
                            output_hidden_states=cfg.probe_weight > 0)  # fmt: skip
                pred, target = fwd.logits[:, :-1], batch.labels[:, 1:]
                lm_loss = F.cross_entropy(pred.flatten(0, 1), target.flatten(), ignore_index=-100)
                if cap.value is None:
                    raise RuntimeError("the visual-token hook saw no forward: the model class changed?")
                aux, acc = heads.loss(cap.value.reshape(cfg.batch, SIDE * SIDE, -1), batch.cells)
                loss, lm = lm_loss + cfg.aux_weight * aux, float(lm_loss.detach())
                if pointing:
                    point, probed, copied = lookup_losses(cfg, model, cell_probe, fwd, batch, lookup_ids, acc)
                    loss = loss + cfg.point_weight * point + cfg.probe_weight * probed + cfg.copy_weight * copied
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            opt.step()
            state["step"] = step + 1
            state["seconds"] += time.perf_counter() - t0
            done_here += 1
            if state["step"] % 20 == 0 or state["step"] == 1:
                probes = " ".join(f"{k} {v:.2f}" for k, v in acc.items())
                log(f"step {state['step']}/{total} lm {lm:.3f} aux {float(aux.detach()):.3f} ({probes}) "
                    f"lr {lr_at(cfg, step):.2e} {state['seconds'] / 60:.1f} min")  # fmt: skip
            if (
                held_out
                and step >= cfg.pretrain_steps
                and (state["step"] % cfg.eval_every == 0 or state["step"] == total)
            ):
                scores = evaluate(model, processor, family, held_out)
                state["evals"].append({"step": state["step"], "minutes": round(state["seconds"] / 60, 1), **scores})
                log("eval " + json.dumps(state["evals"][-1]))
            consistent = True
            tell(state["step"], total)
            if state["step"] % cfg.checkpoint_every == 0:
                checkpoint()
    finally:
        handle.remove()
        if consistent:  # an interruption mid-step keeps the last checkpoint: resume repeats that step exactly
            checkpoint()
    summary = {"config": asdict(cfg), "step": state["step"], "minutes": round(state["seconds"] / 60, 1),
               "evals": state["evals"], "torch": torch.__version__}  # fmt: skip
    (out / "train.json").write_text(json.dumps(summary, indent=1) + "\n")
    if state["step"] >= total:
        if attending:
            model.set_attn_implementation("sdpa")
        export(model, processor, out / "model")
    return summary


def export(model: Any, processor: Any, folder: Path, dtype: torch.dtype = torch.float16) -> Path:
    """The shipped form: safetensors in 16-bit with the processor (loaded by the ordinary adapters)."""
    folder.mkdir(parents=True, exist_ok=True)
    model = model.to(dtype).eval()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    model.to(torch.float32)
    return folder
