"""An independent reference for pruned runs: the stock decoder layers over the full sequence, with a
per-layer additive mask hiding the dropped visual keys. It shares no code with horizon.engine: it
reads only the kept visual indices per stage from an Output and recomputes everything else.
"""

from __future__ import annotations

import math

import torch

from horizon.engine.output import Output
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel


def capture_decoder_inputs(loaded: LoadedModel, prompt: Prompt) -> dict:
    """Run the stock model once and capture what its outer forward hands the text decoder."""
    captured: dict = {}

    def hook(module, args, kwargs):  # noqa: ANN001
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
    """Logits (B, V) at the prompt end and after each of the first ``steps - 1`` generated tokens."""
    dec, model = loaded.decoder, loaded.model
    cap = capture_decoder_inputs(loaded, prompt)
    emb = cap["inputs_embeds"]  # (B, S, D)
    B, S, _ = emb.shape
    pos = cap.get("position_ids")
    if pos is None:
        pos = torch.arange(S).expand(B, S)[None]  # (1, B, S)
    elif pos.ndim == 2:
        pos = pos[None]
    elif pos.shape[0] == 4:
        pos = pos[1:]
    pad = cap.get("attention_mask")
    pad = torch.ones(B, S, dtype=torch.bool) if pad is None else pad.bool()
    visible = visible_per_layer(output, prompt, len(dec.layers))
    reindex_at = {s.layer: s.positions == "reindex" for s in output.stages}
    gen = torch.tensor(output.token_ids[0] if B == 1 else [list(t) for t in output.token_ids])
    gen = gen.view(B, -1)
    results = []
    with torch.inference_mode():
        for t in range(steps):
            tokens = gen[:, :t]  # (B, t)
            h = torch.cat([emb, dec.embed_tokens(tokens)], 1)  # (B, S+t, D)
            T = S + t
            seq_pad = torch.cat([pad, torch.ones(B, t, dtype=torch.bool)], 1)
            reindexed_from: torch.Tensor | None = None
            for i, layer in enumerate(dec.layers):
                keys = torch.cat([visible[i], torch.ones(B, t, dtype=torch.bool)], 1) & seq_pad  # (B, T)
                if reindex_at.get(i):
                    reindexed_from = keys.clone()
                layer_pos = _positions(pos, t, reindexed_from)  # (R, B, T)
                cos, sin = dec.rotary_emb(h, layer_pos if mrope else layer_pos[0])
                allowed = torch.ones(T, T, dtype=torch.bool).tril()[None] & keys[:, None, :]  # (B, T, T)
                allowed |= torch.eye(T, dtype=torch.bool)[None]
                mask = torch.zeros(B, 1, T, T, dtype=h.dtype).masked_fill(~allowed[:, None], torch.finfo(h.dtype).min)
                h = layer(h, attention_mask=mask, position_embeddings=(cos, sin), position_ids=None)
            logits = model.lm_head(dec.norm(h[:, -1:]))[:, -1].float()
            results.append(logits)
    return results


def _positions(pos: torch.Tensor, t: int, reindexed_from: torch.Tensor | None) -> torch.Tensor:
    """Original positions continued by t decoded tokens, or ranks among the visible tokens."""
    R, B, S = pos.shape
    last = pos[..., -1:]
    decoded = last + 1 + torch.arange(t)  # (R, B, t)
    full = torch.cat([pos, decoded], -1)
    if reindexed_from is None:
        return full
    ranks = (reindexed_from.long().cumsum(-1) - 1).clamp(min=0)  # (B, T)
    return ranks[None].expand(R, B, S + t) + pos[..., :1]


def released_dart_keep(
    keys: torch.Tensor,
    last_layer_state: torch.Tensor,
    image_token_start_index: int,
    image_token_length: int,
    save_num: int,
    pivot_image_token: int = 4,
    pivot_text_token: int = 4,
) -> list[int]:
    """DART's ``get_retained_image_token`` as released (YahongWang1/Information-Horizon@75909b2,
    llava/model/language_model/modeling_llama_self.py l.604-663), re-written from that code for one unpadded
    sample: ``keys`` (KV, S, hd) post-rope keys of layer K-1, ``last_layer_state`` (S, D) its output through the
    final norm -> the sorted kept visual indices (0..image_token_length-1). Shares no code with horizon."""
    TOKEN_TOPK = math.ceil(save_num // (pivot_image_token + pivot_text_token))
    any_states = keys.permute(1, 0, 2).reshape(keys.shape[1], -1)  # (S, KV*hd): all heads concatenated
    k_image = any_states[image_token_start_index : image_token_start_index + image_token_length]
    k_query = any_states[image_token_start_index + image_token_length :]
    image_l1 = torch.norm(k_image, p=1, dim=-1)
    query_l1 = torch.norm(k_query, p=1, dim=-1)
    image_indices = (image_l1.topk(pivot_image_token).indices + image_token_start_index).tolist()
    query_indices = (query_l1.topk(pivot_text_token).indices + image_token_start_index + image_token_length).tolist()
    indices_set = set(image_indices + query_indices)
    valid_indices = set(range(image_token_start_index, image_token_start_index + image_token_length)) - set(
        image_indices
    )
    valid_indices_list = list(valid_indices)
    for item in list(indices_set):
        valid_vectors = last_layer_state[valid_indices_list, :]
        cos_sim = -torch.nn.functional.cosine_similarity(last_layer_state[item, :], valid_vectors, dim=-1)
        top_k_indices = cos_sim.topk(TOKEN_TOPK).indices
        top_k_real_indices = [valid_indices_list[i] for i in top_k_indices]
        indices_set.update(top_k_real_indices)
        valid_indices.difference_update(top_k_real_indices)
        valid_indices_list = list(valid_indices)
    indices_set.difference_update(query_indices)
    return sorted(i - image_token_start_index for i in indices_set)
