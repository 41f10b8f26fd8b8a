"""DART's released selection, re-written from the authors' code for the tests (tests/test_dart_released.py).
It shares no code with horizon. The independent reference for pruned runs is horizon/doctor/reference.py."""

from __future__ import annotations

import math

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
