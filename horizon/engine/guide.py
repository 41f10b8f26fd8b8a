"""Guide importance for SGL: how much attention a small model of the same family pays to each visual token.

Following SGL (Zhao et al., github.com/NUS-HPC-AI-Lab/SGL, ``modeling_internvl_chat.py``): the guide model
answers the prompt greedily; a visual token's importance is the attention it receives summed over **all
layers, all heads and all query rows** after the last visual token to the end of the prompt (SGL's
``get_attention_rank`` sums rows ``[visual_end + 1:]``), plus every generated token's row. horizon runs the guide once over prompt + answer and recomputes those rows
from q/k at every layer (causal attention of a row does not depend on later rows, so this equals the
incremental decode), so the guide may use SDPA. The guide must give the same visual-token count as the
model it guides (the reference asserts this too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image

from horizon.engine.run import prepare, run
from horizon.engine.views import query_attention
from horizon.models.loading import LoadedModel
from horizon.schedule import Schedule


@torch.inference_mode()
def guide_importance(
    guide: LoadedModel, images: Sequence[Image.Image], questions: Sequence[str], *, new_tokens: int = 8
) -> torch.Tensor:
    """Importance (B, Nv) of each visual token of the prompt, from ``guide``'s attention."""
    prompt = prepare(guide, images, questions)
    answer = run(guide, prompt, Schedule(), max_new_tokens=new_tokens)
    B = prompt.batch
    n_gen = max(len(t) for t in answer.token_ids)
    gen = torch.full((B, n_gen), guide.processor.tokenizer.pad_token_id or 0, dtype=torch.long)
    gen_mask = torch.zeros(B, n_gen, dtype=torch.long)
    for b, toks in enumerate(answer.token_ids):
        gen[b, : len(toks)] = torch.tensor(toks, dtype=torch.long)
        gen_mask[b, : len(toks)] = 1
    inputs = _extend(prompt.inputs, gen.to(guide.device), gen_mask.to(guide.device))
    captured: dict[str, Any] = {}
    hook = guide.decoder.register_forward_pre_hook(lambda m, a, kw: captured.update(kw), with_kwargs=True)
    try:
        guide.adapter.reset(guide.model)
        out = guide.model(**inputs, output_hidden_states=True, use_cache=False, logits_to_keep=1)
    finally:
        hook.remove()
    return _attention_received(guide, out.hidden_states, captured, prompt.visual_mask, inputs["attention_mask"])


def _extend(inputs: dict[str, torch.Tensor], gen: torch.Tensor, gen_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """The prompt's model inputs with the generated tokens appended (as text)."""
    out = dict(inputs)
    out["input_ids"] = torch.cat([inputs["input_ids"], gen], 1)
    out["attention_mask"] = torch.cat([inputs["attention_mask"], gen_mask.to(inputs["attention_mask"].dtype)], 1)
    if "mm_token_type_ids" in inputs:
        out["mm_token_type_ids"] = torch.cat(
            [inputs["mm_token_type_ids"], torch.zeros_like(gen).to(inputs["mm_token_type_ids"].dtype)], 1
        )
    if "position_ids" in inputs:
        pad = out["attention_mask"].long()
        out["position_ids"] = (pad.cumsum(-1) - 1).masked_fill(pad == 0, 0)
    return out


def _attention_received(
    guide: LoadedModel,
    hidden_states: Sequence[torch.Tensor],
    captured: dict[str, Any],
    visual_mask: torch.Tensor,
    attention_mask: torch.Tensor,
) -> torch.Tensor:
    dec = guide.decoder
    h0 = hidden_states[0]  # (B, T, D)
    B, T, _ = h0.shape
    pos = captured.get("position_ids")
    if pos is None:
        pos = torch.arange(T, device=h0.device).expand(B, T)
    pos = guide.adapter.rope_positions(pos)
    cos, sin = dec.rotary_emb(h0, pos)
    pad = attention_mask.bool()  # (B, T)
    visual = torch.zeros(B, T, dtype=torch.bool, device=h0.device)
    visual[:, : visual_mask.shape[1]] = visual_mask.to(h0.device)
    last_visual = torch.stack([row.nonzero().max() for row in visual])  # (B,)
    first = int(last_visual.min()) + 1
    rows = torch.arange(first, T, device=h0.device).expand(B, T - first)  # (B, Q)
    counted = (rows > last_visual[:, None]) & pad.gather(1, rows)  # (B, Q) rows after the image, as SGL sums
    total = torch.zeros(B, T, device=h0.device)
    heads = dec.config.num_attention_heads
    for layer, h in zip(dec.layers, hidden_states, strict=False):  # hidden_states[l] enters layer l
        attn = query_attention(layer, h, cos, sin, pad, rows) * heads  # (B, Q, T) summed over heads
        total += (attn * counted[..., None]).sum(1)
    return torch.stack([total[b][visual[b]] for b in range(B)]).cpu()  # (B, Nv)
