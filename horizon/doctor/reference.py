"""An independent reference for pruned runs: the stock decoder layers over the full sequence, with a per-layer
additive mask hiding the dropped visual keys. It shares no code with horizon.engine: it reads only the kept visual
indices per stage from an Output and recomputes everything else. The engine's tests and ``horizon doctor`` check
pruned prefill and cached decoding against it (on whatever device the model is on).

The mask is a 4-D additive one, which flash-attention-2 cannot take: run it under ``sdpa`` or ``eager``.
"""

from __future__ import annotations

from typing import Any

import torch

from horizon.engine.output import Output
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel


def capture_decoder_inputs(loaded: LoadedModel, prompt: Prompt) -> dict[str, Any]:
    """Run the stock model once and capture what its outer forward hands the text decoder."""
    captured: dict[str, Any] = {}

    def hook(module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        captured.update(kwargs)

    handle = loaded.decoder.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        loaded.adapter.reset(loaded.model)
        with torch.inference_mode():
            loaded.model(**prompt.inputs, use_cache=False, logits_to_keep=1)
    finally:
        handle.remove()
    return captured


def visible_per_layer(output: Output, prompt: Prompt, n_layers: int) -> list[torch.Tensor]:
    """(B, S) bool per layer: the prompt tokens each layer attends to."""
    vis = prompt.visual_mask
    visual_positions = [row.nonzero().squeeze(-1) for row in vis]  # per sample, prompt rows of visual tokens
    current = torch.ones_like(vis)
    out = []
    stages = {s.layer: s for s in output.stages}
    for layer in range(n_layers):
        if layer in stages:
            current = ~vis.clone()
            for b, kept in enumerate(stages[layer].kept_index):
                current[b, visual_positions[b][list(kept)]] = True
        out.append(current.clone())
    return out


def reference_logits(
    loaded: LoadedModel, prompt: Prompt, output: Output, *, steps: int, mrope: bool
) -> list[torch.Tensor]:
    """Logits (B, V), float32, at the prompt end and after each of the first ``steps - 1`` generated tokens."""
    dec, model = loaded.decoder, loaded.model
    cap = capture_decoder_inputs(loaded, prompt)
    emb = cap["inputs_embeds"]  # (B, S, D)
    B, S, _ = emb.shape
    dev = emb.device
    pos = cap.get("position_ids")
    if pos is None:
        pos = torch.arange(S, device=dev).expand(B, S)[None]  # (1, B, S)
    elif pos.ndim == 2:
        pos = pos[None]
    elif pos.shape[0] == 4:
        pos = pos[1:]
    pad = cap.get("attention_mask")
    pad = torch.ones(B, S, dtype=torch.bool, device=dev) if pad is None else pad.bool().to(dev)
    visible = [v.to(dev) for v in visible_per_layer(output, prompt, len(dec.layers))]
    # DeepStack (Qwen3-VL): level k is added to the prompt's visual rows after layer k, as the stock text model does
    # (a dropped row's copy is hidden from every key, so adding to it changes nothing visible)
    deep_rows, deep = cap.get("visual_pos_masks"), list(cap.get("deepstack_visual_embeds") or [])
    reindex_at = {s.layer: s.positions == "reindex" for s in output.stages}
    gen = torch.tensor(output.token_ids[0] if B == 1 else [list(t) for t in output.token_ids], device=dev)
    gen = gen.view(B, -1)
    results = []
    with torch.inference_mode():
        for t in range(steps):
            tokens = gen[:, :t]  # (B, t)
            h = torch.cat([emb, dec.embed_tokens(tokens)], 1)  # (B, S+t, D)
            T = S + t
            new = torch.ones(B, t, dtype=torch.bool, device=dev)
            seq_pad = torch.cat([pad, new], 1)
            reindexed_from: torch.Tensor | None = None
            for i, layer in enumerate(dec.layers):
                keys = torch.cat([visible[i], new], 1) & seq_pad  # (B, T)
                if reindex_at.get(i):
                    reindexed_from = keys.clone()
                layer_pos = _positions(pos, t, reindexed_from)  # (R, B, T)
                cos, sin = dec.rotary_emb(h, layer_pos if mrope else layer_pos[0])
                allowed = torch.ones(T, T, dtype=torch.bool, device=dev).tril()[None] & keys[:, None, :]  # (B, T, T)
                allowed |= torch.eye(T, dtype=torch.bool, device=dev)[None]
                mask = torch.zeros(B, 1, T, T, dtype=h.dtype, device=dev)
                mask = mask.masked_fill(~allowed[:, None], torch.finfo(h.dtype).min)
                h = layer(h, attention_mask=mask, position_embeddings=(cos, sin), position_ids=None)
                if i < len(deep) and deep_rows is not None:
                    prompt_rows = h[:, :S].clone()
                    prompt_rows[deep_rows.to(dev)] += deep[i].to(dev, h.dtype)
                    h = torch.cat([prompt_rows, h[:, S:]], 1)
            logits = model.lm_head(dec.norm(h[:, -1:]))[:, -1].float()
            results.append(logits)
    return results


def _positions(pos: torch.Tensor, t: int, reindexed_from: torch.Tensor | None) -> torch.Tensor:
    """Original positions continued by t decoded tokens, or ranks among the visible tokens."""
    R, B, S = pos.shape
    last = pos[..., -1:]
    decoded = last + 1 + torch.arange(t, device=pos.device)  # (R, B, t)
    full = torch.cat([pos, decoded], -1)
    if reindexed_from is None:
        return full
    ranks = (reindexed_from.long().cumsum(-1) - 1).clamp(min=0)  # (B, T)
    return ranks[None].expand(R, B, S + t) + pos[..., :1]
