"""Reference selections re-written from their authors' code for the tests, sharing no code with horizon: DART's
released one (tests/test_dart_released.py), VisionZip's (tests/test_visionzip.py) and CDPruner's (tests/test_cdpruner.py).
The independent reference for pruned runs is horizon/doctor/reference.py; for one stage that makes new tokens on a
DeepStack model (Qwen3-VL), :func:`merged_stage_logits` (tests/test_deepstack_merge.py)."""

from __future__ import annotations

import math
from typing import Any

import torch


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


def released_visionzip(
    attentions: torch.Tensor, metric: torch.Tensor, hidden: torch.Tensor, dominant_num: int, contextual_num: int
) -> torch.Tensor:
    """VisionZip's token reduction as released (dvlab-research/VisionZip@3151f6d, visionzip/clip_encoder.py
    L42-83), re-written from that code: ``attentions`` (B, H, S, S) the feature layer's attention with CLS at row 0,
    ``metric`` (B, S, hd) its head-mean keys, ``hidden`` (B, S, D) its output; ``dominant_num`` the patches kept
    besides CLS (the README's ``dominant`` - 1). Returns (B, 1 + dominant_num + contextual_num, D): CLS, the dominant
    patches in order, the contextual tokens."""
    B, S, D = hidden.shape
    cls_attention_sum = attentions[:, :, 0, 1:].sum(dim=1)  # (B, S - 1)
    topk_indices = cls_attention_sum.topk(dominant_num, dim=1).indices + 1
    all_indices = torch.cat([torch.zeros((B, 1), dtype=topk_indices.dtype), topk_indices], dim=1)
    mask = torch.ones_like(hidden[:, :, 0], dtype=torch.bool).scatter_(1, all_indices, False)
    dominant_tokens = hidden.masked_select(~mask.unsqueeze(-1)).view(B, dominant_num + 1, D)
    metric_filtered = metric[mask].view(B, S - (dominant_num + 1), metric.shape[2])
    hidden_filtered = hidden.masked_select(mask.unsqueeze(-1)).view(B, S - (dominant_num + 1), D)
    metric_normalized = metric_filtered / metric_filtered.norm(dim=-1, keepdim=True)
    step = max(1, metric_normalized.shape[1] // contextual_num)
    target_indices = torch.arange(0, metric_normalized.shape[1], step)[:contextual_num]
    target_tokens = metric_normalized[:, target_indices, :]
    others = ~torch.isin(torch.arange(metric_normalized.shape[1]), target_indices)
    tokens_to_merge = metric_normalized[:, others, :]
    similarity = torch.bmm(tokens_to_merge, target_tokens.transpose(1, 2))
    assign_one_hot = torch.zeros(B, tokens_to_merge.shape[1], contextual_num, dtype=hidden.dtype)
    assign_one_hot.scatter_(2, similarity.argmax(dim=2).unsqueeze(-1), 1)
    counts = assign_one_hot.sum(dim=1).clamp(min=1).unsqueeze(-1)
    hidden_to_merge = hidden_filtered[:, others, :]
    aggregated_hidden = torch.bmm(assign_one_hot.transpose(1, 2), hidden_to_merge) / counts
    target_hidden = hidden_filtered[:, target_indices, :]
    contextual_tokens = target_hidden + aggregated_hidden
    return torch.cat([dominant_tokens, contextual_tokens], dim=1)


def released_cdpruner(
    image_features: torch.Tensor, image_embeds: torch.Tensor, text_embeds: torch.Tensor, visual_token_num: int
) -> torch.Tensor:
    """CDPruner's selection as released (Theia-4869/CDPruner@9541616, llava/model/llava_arch.py L148-185),
    re-written from that code: ``image_features`` (B, N, D) the projector output (the kernel's similarity),
    ``image_embeds`` (B, N, C) and ``text_embeds`` (M, C) the relevance's features. Returns (B, T) sorted kept
    indices."""
    image_normalized = image_features / image_features.norm(dim=-1, keepdim=True)
    image_normalized = image_normalized.float()
    similarity = torch.matmul(image_normalized, image_normalized.transpose(1, 2))
    image_embeds = image_embeds / image_embeds.norm(dim=-1, keepdim=True)
    text_embeds = text_embeds / text_embeds.norm(dim=-1, keepdim=True)
    relevance = torch.matmul(image_embeds, text_embeds.t())
    relevance = (-relevance).mean(dim=-1)
    relevance = (relevance - relevance.min() + 1e-6) / (relevance.max() - relevance.min())
    kernel = relevance.unsqueeze(2) * similarity * relevance.unsqueeze(1)
    B, N = kernel.shape[:2]
    cis = torch.zeros((visual_token_num, B, N), device=kernel.device)
    di2s = torch.diagonal(kernel, dim1=1, dim2=2).clone()
    select_idx = torch.empty((visual_token_num, B), dtype=torch.long, device=kernel.device)
    for i in range(visual_token_num):
        j = torch.argmax(di2s, dim=-1)
        select_idx[i] = j
        eis = (kernel[torch.arange(B), j] - torch.einsum("tb,tbn->bn", cis[:i, torch.arange(B), j], cis[:i])) / torch.sqrt(
            di2s[torch.arange(B), j]
        ).unsqueeze(-1)
        cis[i, :, :] = eis
        di2s -= torch.square(eis)
        di2s[torch.arange(B), j] = -float("inf")
    return torch.sort(select_idx.t()).values


def merged_stage_logits(
    decoder: Any, lm_head: Any, captured: dict[str, Any], layer: int, selection: Any, token_ids: list[int], steps: int
) -> list[torch.Tensor]:
    """Logits (1, V) float32 at the prompt end and after each of the first ``steps - 1`` of ``token_ids``, for one
    unpadded sample of a DeepStack model (Qwen3-VL) with one stage at ``layer`` that keeps ``selection.keep`` of the
    visual tokens, gives the replaced ones ``selection.values``, inserts ``selection.merged`` after the last kept
    visual token (at its positions) and keeps the original M-RoPE positions. Written by hand over the stock decoder
    layers (``captured``: what the outer model hands the text decoder), sharing no code with horizon.

    The DeepStack rule: level k is added to the visual rows after layer k; a kept token's level is its own, and a token
    the stage made (replaced or merged) gets ``sum_n mix[j, n] * level[n]`` over the original visual tokens ``n``,
    with ``selection.mix``'s row ``j`` (kept tokens in order, then the merged ones); none when ``mix`` is None."""
    emb, visual = captured["inputs_embeds"], captured["visual_pos_masks"][0]  # (1, S, D), (S,)
    pos = captured["position_ids"]
    pos = (pos[1:] if pos.shape[0] == 4 else pos)[:, 0]  # (3, S): t, h, w
    levels = torch.stack([lv.double() for lv in captured.get("deepstack_visual_embeds") or []])  # (K, Nv, D)
    S = emb.shape[1]
    results = []
    with torch.inference_mode():
        for t in range(steps):
            x = torch.cat([emb, decoder.embed_tokens(torch.tensor([token_ids[:t]], dtype=torch.long))], 1)[0]  # (T, D)
            p = torch.cat([pos, pos[:, -1:] + 1 + torch.arange(t)], 1)  # (3, T): decoded tokens continue
            is_visual = torch.cat([visual, torch.zeros(t, dtype=torch.bool)])
            inject = levels.new_zeros(levels.shape[0], S + t, levels.shape[2])  # (K, T, D) per row, zero on text
            inject[:, is_visual] = levels
            for i, block in enumerate(decoder.layers):
                if i == layer:
                    x, p, is_visual, inject = _stage(x, p, is_visual, inject, selection)
                T = x.shape[0]
                cos, sin = decoder.rotary_emb(x[None], p[:, None])
                mask = torch.full((T, T), torch.finfo(x.dtype).min).triu(1)[None, None]
                x = block(x[None], attention_mask=mask, position_embeddings=(cos, sin), position_ids=None)[0]
                if i < levels.shape[0]:
                    x = x.clone()
                    x[is_visual] += inject[i, is_visual].to(x.dtype)
            results.append(lm_head(decoder.norm(x[None, -1:]))[:, -1].float())
    return results


def _stage(
    x: torch.Tensor, p: torch.Tensor, is_visual: torch.Tensor, inject: torch.Tensor, selection: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The rows after the stage (states (T, D), positions (3, T), visual flags (T,), levels (K, T, D)): the text rows
    and the kept visual rows in order (replaced states and levels where the stage replaced them), then the merged
    tokens right after the last kept visual row, at its position."""
    v_rows = is_visual.nonzero().squeeze(-1)  # (Nv,) the original visual rows (one stage: the view's)
    view_levels = inject[:, v_rows]  # (K, Nv, D)
    keep = selection.keep[0].tolist()
    k, m = len(keep), 0 if selection.merged is None else selection.merged.shape[1]
    made = view_levels.new_zeros(inject.shape[0], k + m, inject.shape[2])  # (K, k + m, D) the stage's tokens' levels
    if selection.mix is not None:
        made = torch.einsum("jn,knd->kjd", selection.mix[0].double(), view_levels)
    replaced = [False] * k if selection.replaced is None else selection.replaced[0].tolist()
    kept_at = {int(v_rows[n]): j for j, n in enumerate(keep)}  # prompt row -> output visual token
    order = [r for r in range(x.shape[0]) if not bool(is_visual[r]) or r in kept_at]
    x, p, is_visual, inject = x[order].clone(), p[:, order], is_visual[order], inject[:, order].clone()
    for n, r in enumerate(order):
        if r in kept_at and replaced[kept_at[r]]:
            x[n] = selection.values[0, kept_at[r]]
            inject[:, n] = made[:, kept_at[r]]
    if not m:
        return x, p, is_visual, inject
    after = max(n for n, r in enumerate(order) if r in kept_at) + 1
    return (
        torch.cat([x[:after], selection.merged[0].to(x.dtype), x[after:]]),
        torch.cat([p[:, :after], p[:, after - 1 : after].expand(-1, m), p[:, after:]], 1),
        torch.cat([is_visual[:after], torch.ones(m, dtype=torch.bool), is_visual[after:]]),
        torch.cat([inject[:, :after], made[:, k:], inject[:, after:]], 1),
    )
