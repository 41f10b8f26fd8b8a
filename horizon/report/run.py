"""Rendering one run for people (text) and machines (a JSON-ready record); pure functions."""

from __future__ import annotations

import platform
from typing import Any

import torch
import transformers
from tabulate import tabulate

import horizon
from horizon.engine.output import Output
from horizon.models.loading import LoadedModel


def layer_ranges(values: tuple[int, ...]) -> str:
    """'0-1: 576, 2-19: 288, 20-31: 0' for per-layer counts."""
    parts, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            span = f"{start}" if i - 1 == start else f"{start}-{i - 1}"
            parts.append(f"{span}: {values[start]}")
            start = i
    return ", ".join(parts)


def render_run(out: Output, loaded: LoadedModel, *, top_k: int = 5) -> str:
    tok = loaded.processor.tokenizer
    top = ", ".join(f"{t!r} {p:.4f}" for t, p in out.top_first_tokens(tok, top_k))
    lines = [
        f"model     {out.model} ({loaded.path}) · dtype {out.dtype} · attention {out.attn_implementation}"
        f" · device {loaded.device} · seed {out.seed}",
        f"schedule  {out.schedule}",
        f"prompt    {out.prompt_len} tokens, {out.n_visual} visual",
        f"answer    {out.answers[0]!r}",
        f"first token, top {top_k}: {top}",
        f"visual tokens per layer: {layer_ranges(out.visual_per_layer)} (average {out.average_visual_tokens:.1f})",
    ]
    if out.stages:
        rows = [
            (
                s.stage,
                s.method,
                s.layer,
                f"{s.kept} (+{s.merged} merged)" if s.merged else s.kept,
                s.positions,
                "yes" if s.flash_compatible else "no",
                ", ".join(s.inputs_used) or "nothing",
            )
            for s in out.stages
        ]
        lines += [
            "",
            tabulate(rows, headers=["stage", "method", "layer", "kept", "positions", "flash-attn", "inputs used"]),
        ]
    lines += [
        "",
        f"prefill {out.prefill_s * 1e3:.1f} ms, decode {out.decode_s * 1e3:.1f} ms ({len(out.token_ids[0])} tokens)",
    ]
    return "\n".join(lines)


def run_record(out: Output, loaded: LoadedModel, *, top_k: int = 5) -> dict[str, Any]:
    """Everything about the run as JSON-ready values (kept indices per stage included)."""
    return {
        "model": out.model,
        "checkpoint": str(loaded.path),
        "schedule": out.schedule,
        "dtype": out.dtype,
        "attn_implementation": out.attn_implementation,
        "device": loaded.device,
        "seed": out.seed if isinstance(out.seed, int) else list(out.seed),
        "answers": list(out.answers),
        "token_ids": [list(t) for t in out.token_ids],
        "first_token_top": [[t, p] for t, p in out.top_first_tokens(loaded.processor.tokenizer, top_k)],
        "n_visual": out.n_visual,
        "prompt_len": out.prompt_len,
        "visual_per_layer": list(out.visual_per_layer),
        "tokens_per_layer": list(out.tokens_per_layer),
        "average_visual_tokens": out.average_visual_tokens,
        "stages": [
            {
                "stage": s.stage,
                "method": s.method,
                "layer": s.layer,
                "kept": s.kept,
                "merged": s.merged,
                "positions": s.positions,
                "flash_compatible": s.flash_compatible,
                "inputs_used": list(s.inputs_used),
                "kept_index": [list(r) for r in s.kept_index],
            }
            for s in out.stages
        ],
        "prefill_s": out.prefill_s,
        "decode_s": out.decode_s,
        "versions": {
            "horizon": horizon.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
    }
