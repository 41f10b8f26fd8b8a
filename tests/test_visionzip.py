"""VisionZip (horizon/methods/visionzip.py) and the vision-tower probes it reads (horizon/models/tower.py): by hand,
against the released reduction re-written in tests/reference.py, the probes against the towers' own outputs, and a
visionzip@0 run against the stock LLM fed the reduced sequence."""

from __future__ import annotations

import pytest
import torch

from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.methods import METHODS
from horizon.methods.view import Tower
from horizon.methods.visionzip import split
from horizon.schedule import parse_schedule
from tests.reference import released_visionzip
from tests.viewkit import make_view


def _view(patches: torch.Tensor, tower: Tower, layer: int = 0):
    """A view over [one system row, the patches, two text rows] with the given tower probe."""
    D = patches.shape[1]
    hidden = torch.cat([torch.zeros(1, D), patches, torch.ones(2, D)])
    view = make_view(hidden, list(range(1, 1 + len(patches))), layer=layer)
    view.__dict__["tower"] = tower
    return view


def _final(selection, patches: torch.Tensor) -> torch.Tensor:
    """The kept tokens' states after the stage, in row order."""
    kept = selection.keep[0]
    own = patches[kept]
    return torch.where(selection.replaced[0][:, None], selection.values[0], own)


def test_split_is_the_readme_s_54_to_10():
    assert [split(k) for k in (64, 128, 192, 18, 1)] == [(54, 10), (108, 20), (162, 30), (15, 3), (1, 0)]


def test_dominant_and_contextual_by_hand():
    # six patches in the plane; the tower attends most to 1, 5, 4, 2 (dominant, keep 5 = 4 + 1)
    patches = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [3.0, 1.0], [0.0, 5.0], [1.0, 1.0]])
    attention = torch.tensor([[0.1, 0.5, 0.2, 0.05, 0.3, 0.4]])
    keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.9, 0.1], [0.0, 1.0], [0.0, 1.0]]])
    project = torch.nn.Linear(2, 2)
    tower = Tower(attention, keys, patches[None], project)
    sel = METHODS.get("visionzip").select(_view(patches, tower), 5, [torch.Generator()])
    # the rest is [0, 3]: one target at stride 2 -> patch 0; patch 3 joins it: projected x0 + x3
    assert sel.keep.tolist() == [[0, 1, 2, 4, 5]] and sel.replaced.tolist() == [[True, False, False, False, False]]
    with torch.no_grad():
        assert torch.allclose(sel.values[0, 0], project(torch.tensor([4.0, 1.0])))
    # a budget of 1-3 tokens has no contextual token: the dominant ones alone, nothing merged
    small = METHODS.get("visionzip").select(_view(patches, tower), 2, [torch.Generator()])
    assert small.tolist() == [[1, 5]]
    # at a deeper layer the same groups merge the hidden states entering it (no projector)
    deep = METHODS.get("visionzip").select(_view(patches, tower, layer=3), 5, [torch.Generator()])
    assert deep.keep.tolist() == [[0, 1, 2, 4, 5]] and torch.allclose(deep.values[0, 0], torch.tensor([4.0, 1.0]))


@pytest.mark.parametrize("seed", range(4))
def test_matches_the_released_reduction(seed):
    g = torch.Generator().manual_seed(seed)
    n, heads, D, keep = 36, 3, 5, 12  # a 6 x 6 grid; keep 12 = 10 dominant + 2 contextual
    attentions = torch.randn(1, heads, n + 1, n + 1, generator=g).softmax(-1)
    metric = torch.randn(1, n + 1, 4, generator=g)
    hidden = torch.randn(1, n + 1, D, generator=g)  # row 0: CLS
    d, c = split(keep)
    tower = Tower(attentions[:, :, 0, 1:].sum(1), metric[:, 1:], hidden[:, 1:], lambda x: x)
    sel = METHODS.get("visionzip").select(_view(hidden[0, 1:], tower), keep, [torch.Generator()])
    final = _final(sel, hidden[0, 1:])
    ref = released_visionzip(attentions, metric, hidden, d, c)[0]  # CLS, d dominant patches, c contextual
    dominant = set(attentions[0, :, 0, 1:].sum(0).topk(d).indices.tolist())
    is_dominant = torch.tensor([i in dominant for i in sel.keep[0].tolist()])
    assert int(is_dominant.sum()) == d and len(sel.keep[0]) == keep
    assert torch.allclose(final[is_dominant], ref[1 : 1 + d], atol=1e-6)  # both in raster order
    assert torch.allclose(final[~is_dominant], ref[1 + d :], atol=1e-6)  # targets ascend as the reference's do


def test_the_llava_probe_reads_the_tower_s_own_attention_and_features(tiny_model):
    loaded = tiny_model("tiny-llava", "eager")
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    tower = loaded.adapter.tower(loaded.model, prompt.inputs)
    vision = loaded.model.model.vision_tower
    layer = loaded.model.config.vision_feature_layer
    with torch.inference_mode():
        out = vision(prompt.inputs["pixel_values"], output_attentions=True, output_hidden_states=True)
        features = loaded.model.model.get_image_features(
            prompt.inputs["pixel_values"], vision_feature_layer=layer, vision_feature_select_strategy="default"
        ).pooler_output[0]
        projected = tower.project(tower.features)
    producing = len(out.hidden_states) - 1 + layer  # the layer whose output LLaVA selects
    assert torch.allclose(tower.attention, out.attentions[producing][:, :, 0, 1:].sum(1), atol=1e-6)
    assert torch.allclose(projected[0], features, atol=1e-6)
    assert tower.keys.shape == (1, prompt.n_visual, vision.config.hidden_size // vision.config.num_attention_heads)


def test_the_qwen_probe_maps_the_tower_s_order_to_the_llm_s(tiny_model):
    loaded = tiny_model("tiny-qwen2.5-vl")
    prompt = prepare(loaded, [demo_image()], ["What is written?"])
    tower = loaded.adapter.tower(loaded.model, prompt.inputs)
    with torch.inference_mode():
        features = loaded.model.model.get_image_features(
            prompt.inputs["pixel_values"], image_grid_thw=prompt.inputs["image_grid_thw"]
        ).pooler_output[0]
        projected = tower.project(tower.features)
    assert torch.allclose(projected[0], features, atol=1e-5)  # the merger on the probe's features, in LLM order
    assert torch.allclose(tower.attention.sum(-1), torch.ones(1), atol=1e-5)  # a mean of softmax rows sums to 1
    assert tower.attention.shape == (1, prompt.n_visual) and bool((tower.attention > 0).all())


def test_visionzip_at_layer_0_is_the_stock_llm_on_the_reduced_sequence(tiny_model):
    from horizon.doctor.reference import capture_decoder_inputs

    loaded = tiny_model("tiny-llava", "eager")
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    keep = 64
    out = run(loaded, prompt, parse_schedule(f"visionzip@0:#{keep}"), max_new_tokens=1)
    # the released reduction on the tower's own attention, keys and features, then the projector
    vision, model = loaded.model.model.vision_tower, loaded.model.model
    layer = loaded.model.config.vision_feature_layer
    keys: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        tower_out = vision(prompt.inputs["pixel_values"], output_attentions=True, output_hidden_states=True)
        producing = len(tower_out.hidden_states) - 1 + layer
        attn_module = vision.encoder.layers[producing].self_attn
        hook = attn_module.k_proj.register_forward_hook(lambda m, a, o: keys.update(k=o))
        vision(prompt.inputs["pixel_values"])
        hook.remove()
    B, S, _ = keys["k"].shape
    metric = keys["k"].view(B, S, attn_module.num_heads, -1).mean(2)
    d, c = split(keep)
    attentions = tower_out.attentions[producing]
    ref = released_visionzip(attentions, metric, tower_out.hidden_states[layer], d, c)[0, 1:]  # CLS dropped
    dominant = attentions[0, :, 0, 1:].sum(0).topk(d).indices.sort().values
    rest = [i for i in range(S - 1) if i not in set(dominant.tolist())]
    targets = [rest[t] for t in range(0, len(rest), max(1, len(rest) // c))][:c]
    rows = torch.cat([dominant, torch.tensor(targets)])
    visual = model.multi_modal_projector(ref[rows.argsort()][None])  # (1, keep, D) in raster order
    emb = capture_decoder_inputs(loaded, prompt)["inputs_embeds"]
    mask = prompt.visual_mask[0]
    first = int(mask.nonzero().min())
    seq = torch.cat([emb[:, :first], visual, emb[:, first + int(mask.sum()) :]], 1)
    with torch.inference_mode():
        h = model.language_model(inputs_embeds=seq, position_ids=torch.arange(seq.shape[1])[None]).last_hidden_state
        logits = loaded.model.lm_head(h[:, -1]).float()
    assert torch.allclose(out.step_logits[0], logits, atol=1e-5)
    kept = {i for i in out.stages[0].kept_index[0] if i >= 0}  # a target that nothing joined stays itself
    assert set(dominant.tolist()) <= kept <= set(dominant.tolist()) | set(targets)


def test_the_qwen3_probe_reads_the_last_block_in_merge_order(tiny_model):
    """Qwen3-VL (no window order): the merger on the probe's features is the model's own image features, and the
    attention received is a mean of softmax rows over the image (it sums to 1) spread over every token."""
    loaded = tiny_model("tiny-qwen3-vl")
    prompt = prepare(loaded, [demo_image()], ["What is written?"])
    tower = loaded.adapter.tower(loaded.model, prompt.inputs)
    with torch.inference_mode():
        features = loaded.model.model.get_image_features(
            prompt.inputs["pixel_values"], image_grid_thw=prompt.inputs["image_grid_thw"]
        ).pooler_output[0]
        projected = tower.project(tower.features)
    assert torch.allclose(projected[0], features, atol=1e-5)
    assert torch.allclose(tower.attention.sum(-1), torch.ones(1), atol=1e-5)
    assert tower.attention.shape == (1, prompt.n_visual) and bool((tower.attention > 0).all())
    assert tower.keys.shape[:2] == (1, prompt.n_visual)
