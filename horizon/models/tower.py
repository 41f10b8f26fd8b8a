"""Probes of a checkpoint's own vision tower: what VisionZip reads (horizon/methods/visionzip.py), per family.

* LLaVA-1.5 (CLIP): at the encoder layer that produces the features LLaVA selects (``vision_feature_layer``, -2:
  layer 22 of 24), the CLS query's softmax attention to each patch, **summed over heads**, and the patches' keys
  (``k_proj`` of the layer's normed input, bias included), **head mean**, as VisionZip's patched attention stores
  them (dvlab-research/VisionZip @3151f6d, ``visionzip/utils.py`` L22-24, ``visionzip/clip_encoder.py`` L42-53);
  the features are that layer's patch states (CLS dropped, as LLaVA's ``default`` strategy does); the projector is
  ``multi_modal_projector``.
* Qwen2.5-VL has no CLS and no VisionZip port (the reference is LLaVA-only). horizon's stated port: at the tower's
  last full-attention block, the attention each patch **receives**, averaged over heads and over every query patch
  of its image (the VisionZip paper's rule for encoders without CLS), summed over the 2x2 patches the merger joins
  into one LLM token; keys head-mean (rope applied, as the block attends with them), averaged over those patches;
  the features are the tower's last states of the token's patches (the merger's input), flattened, and the
  projector is the patch merger itself.

* Qwen3-VL (horizon's port of the same rule): every block of its tower attends in full within an image and there is
  no window order, so the probe reads the attention received at the **last** block (the one whose output the
  merger projects), head mean, averaged over the image's query patches and summed over each token's 2x2 patches;
  keys head-mean (rope applied), averaged over them; the features are the last block's states of the token's
  patches, flattened, and the projector is the tower's merger. DeepStack's levels (earlier blocks) are not read.

All run the tower once more on the prompt's pixels (the stock outer model runs it again in the prefill).
"""

from __future__ import annotations

from typing import Any

import torch

from horizon.methods.view import Tower


@torch.inference_mode()
def llava_tower(model: Any, inputs: dict[str, torch.Tensor]) -> Tower:
    """The CLIP tower's probe of a LLaVA prompt's visual tokens (one image per sample)."""
    config = model.config
    layer_index = config.vision_feature_layer
    if not isinstance(layer_index, int) or config.vision_feature_select_strategy != "default":
        raise ValueError(
            f"VisionZip's LLaVA probe reads one feature layer with CLS dropped; this checkpoint has "
            f"vision_feature_layer={layer_index!r}, strategy {config.vision_feature_select_strategy!r} (allowed: an "
            "int and 'default')"
        )
    tower = model.model.vision_tower
    out = tower(inputs["pixel_values"], output_hidden_states=True, return_dict=True)
    states = out.hidden_states  # embeddings, then each layer's output
    n_layers = len(states) - 1
    producing = layer_index % (n_layers + 1) - 1  # the encoder layer whose output is states[layer_index]
    if producing < 0:
        raise ValueError(f"vision_feature_layer {layer_index} selects the embeddings; VisionZip needs a layer")
    layer = getattr(tower, "vision_model", tower).encoder.layers[producing]  # CLIPVisionModel or its transformer
    x = layer.layer_norm1(states[producing])  # (B, 1 + N, Dv)
    attn = layer.self_attn
    B, S, _ = x.shape
    heads = attn.num_heads
    q = attn.q_proj(x[:, :1]).view(B, 1, heads, -1).transpose(1, 2).float()  # (B, H, 1, hd)
    k = attn.k_proj(x).view(B, S, heads, -1).transpose(1, 2).float()  # (B, H, S, hd)
    cls = ((q * attn.scale) @ k.transpose(-1, -2)).softmax(-1)[:, :, 0, 1:]  # (B, H, N)
    features = states[layer_index][:, 1:]  # (B, N, Dv)
    return Tower(cls.sum(1), k.mean(1)[:, 1:], features, model.model.multi_modal_projector)


def _run_capturing(visual: Any, block: Any, pixels: torch.Tensor, grid: torch.Tensor) -> dict[str, Any]:
    """Run the Qwen tower ``visual`` on ``pixels`` once, keeping what ``block``'s attention receives (``x``, ``cu``
    its image segments, ``rope``) and the merger's input (``last``)."""
    captured: dict[str, Any] = {}

    def at_attention(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        captured["x"] = args[0] if args else kwargs["hidden_states"]
        captured["cu"] = kwargs.get("cu_seqlens", args[1] if len(args) > 1 else None)
        captured["rope"] = kwargs["position_embeddings"]

    def at_merger(module: Any, args: tuple[Any, ...]) -> None:
        captured["last"] = args[0]

    hooks = [block.attn.register_forward_pre_hook(at_attention, with_kwargs=True),
             visual.merger.register_forward_pre_hook(at_merger)]  # fmt: skip
    try:
        visual(pixels.type(visual.dtype), grid_thw=grid)
    finally:
        for hook in hooks:
            hook.remove()
    return captured


@torch.inference_mode()
def _received(attn: Any, x: torch.Tensor, cu: torch.Tensor, rope: Any, rotate: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The attention each patch receives at ``attn`` (head mean, averaged over its image's query patches) and its
    keys (rope applied), per head: ((n,), (H, n, hd)); ``rotate`` is the family's vision rope."""
    n = x.shape[0]
    q, k, _ = attn.qkv(x).reshape(n, 3, attn.num_heads, -1).permute(1, 0, 2, 3).unbind(0)  # (n, H, hd) each
    q, k = rotate(q, k, *rope)
    q, k = q.float().transpose(0, 1), k.float().transpose(0, 1)  # (H, n, hd)
    received = torch.zeros(n, device=x.device)
    bounds = cu.tolist()
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):  # one image (a full-attention segment)
        for h in range(q.shape[0]):  # one head at a time: an image's (n_i, n_i) map per head
            weights = ((q[h, start:end] * attn.scaling) @ k[h, start:end].T).softmax(-1)  # (n_i, n_i)
            received[start:end] += weights.mean(0) / q.shape[0]
    return received, k


@torch.inference_mode()
def qwen3_tower(model: Any, inputs: dict[str, torch.Tensor]) -> Tower:
    """The Qwen3-VL tower's probe (horizon's port, module docstring) of a prompt's visual tokens."""
    from transformers.models.qwen3_vl.modeling_qwen3_vl import apply_rotary_pos_emb_vision

    visual = model.model.visual
    grid = inputs["image_grid_thw"]  # (B, 3)
    captured = _run_capturing(visual, visual.blocks[-1], inputs["pixel_values"], grid)
    received, k = _received(visual.blocks[-1].attn, captured["x"], captured["cu"], captured["rope"],
                            apply_rotary_pos_emb_vision)  # fmt: skip
    unit = visual.spatial_merge_size**2
    n = received.shape[0]
    counts = (grid.prod(-1) // unit).tolist()
    if len(set(counts)) != 1:
        raise ValueError(f"the batch's images give different visual-token counts {counts}; probe them one at a time")
    B, G = len(counts), counts[0]
    attention = received.view(n // unit, unit).sum(1)  # (B*G,): patches come merge unit by merge unit
    keys = k.mean(0).view(n // unit, unit, -1).mean(1)
    features = captured["last"].reshape(n // unit, -1)

    def project(f: torch.Tensor) -> torch.Tensor:
        m = f.shape[1]
        return visual.merger(f.reshape(f.shape[0] * m * unit, -1)).view(f.shape[0], m, -1)

    return Tower(attention.view(B, G), keys.view(B, G, -1), features.view(B, G, -1), project)


def qwen_tower(model: Any, inputs: dict[str, torch.Tensor]) -> Tower:
    """The Qwen2.5-VL tower's probe (horizon's port, module docstring) of a prompt's visual tokens."""
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import apply_rotary_pos_emb_vision

    try:
        from transformers.vision_utils import get_vision_window_index
    except ImportError as err:  # transformers < 5.23 keeps it elsewhere
        raise ImportError(f"VisionZip's Qwen2.5-VL probe needs transformers.vision_utils (>= 5.23): {err}") from err
    visual = model.model.visual
    grid = inputs["image_grid_thw"]  # (B, 3)
    full = max(visual.fullatt_block_indexes)
    captured = _run_capturing(visual, visual.blocks[full], inputs["pixel_values"], grid)
    x = captured["x"]
    n = x.shape[0]
    received, k = _received(visual.blocks[full].attn, x, captured["cu"], captured["rope"], apply_rotary_pos_emb_vision)
    unit = visual.spatial_merge_unit
    window_index, _ = get_vision_window_index(grid, spatial_merge_size=visual.spatial_merge_size,
                                              window_size=visual.window_size, patch_size=visual.patch_size)  # fmt: skip
    order = torch.argsort(window_index.to(x.device))  # LLM token t is merged group order[t] of the window order

    def per_token(t: torch.Tensor) -> torch.Tensor:  # (n, ...) window order -> (groups, unit, ...) LLM order
        return t.reshape(n // unit, unit, *t.shape[1:])[order]

    attention = per_token(received).sum(1)  # (G,)
    keys = per_token(k.mean(0)).mean(1)  # (G, hd)
    features = per_token(captured["last"]).flatten(1)  # (G, unit * Dv)
    counts = (grid.prod(-1) // unit).tolist()
    if len(set(counts)) != 1:
        raise ValueError(f"the batch's images give different visual-token counts {counts}; probe them one at a time")
    B, G = len(counts), counts[0]

    def project(f: torch.Tensor) -> torch.Tensor:
        m = f.shape[1]
        return visual.merger(f.reshape(f.shape[0] * m * unit, -1)).view(f.shape[0], m, -1)

    return Tower(attention.view(B, G), keys.view(B, G, -1), features.view(B, G, -1), project)
