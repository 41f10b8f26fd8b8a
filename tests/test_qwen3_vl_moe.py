"""Qwen3-VL's mixture-of-experts sizes: the Architecture's MoE fields and their refusals, the FLOPs formula against
counts that share nothing with it (torch's own FLOP counter on a tiny MoE decoder with dense and sparse layers, and
the real 30B-A3B's parameter shapes on the meta device), the presets' geometry (the meta build has the checkpoint's
published parameter count), loading through the MoE adapter, and the pruned loop on a tiny MoE model. The engine's
equivalence proofs run on ``tiny-qwen3-vl-moe`` through tests/test_engine_equivalence.py and
tests/test_methods_contract.py."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from horizon.efficiency.flops import kv_cache_bytes, layer_flops, map_flops, prefill_flops
from horizon.models.presets import MODELS, QWEN3_VL_VISION, Architecture, ModelPreset, stand_in_name, vision_of
from horizon.models.tiny import model_parts, text_decoder

MOE = dict(layers=4, hidden=64, intermediate=96, heads=4, kv_heads=2, vocab=32, experts=6, experts_per_token=2,
           moe_intermediate=16)  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"experts": -1}, "experts must be >= 0"),
        ({"experts_per_token": 0}, "experts_per_token must be 1 to experts \\(6\\), got 0"),
        ({"experts_per_token": 7}, "experts_per_token must be 1 to experts \\(6\\), got 7"),
        ({"moe_intermediate": 0}, "moe_intermediate must be > 0 with 6 experts, got 0"),
        ({"sparse_step": 0}, "sparse_step must be >= 1, got 0"),
        ({"dense_layers": (4,)}, "dense_layers must be distinct sorted layers 0 to 3, got \\(4,\\)"),
        ({"dense_layers": (2, 1)}, "dense_layers must be distinct sorted layers 0 to 3, got \\(2, 1\\)"),
        ({"experts": 0}, "a dense decoder \\(experts 0\\) takes no MoE settings, got .*experts_per_token"),
    ],
)
def test_bad_moe_settings_are_refused_naming_the_value(changes, message):
    with pytest.raises(ValueError, match=message):
        Architecture(**{**MOE, **changes})


def test_moe_needs_a_family_with_experts():
    with pytest.raises(ValueError, match="a LLaVA decoder has no experts"):
        ModelPreset(name="x", family="llava", visual_tokens=576, arch=Architecture(**MOE))
    assert ModelPreset(name="y", family="qwen3_vl", arch=Architecture(**MOE)).model_type == "qwen3_vl_moe"
    assert MODELS.get("qwen3-vl-8b").model_type == "qwen3_vl" and not MODELS.get("qwen3-vl-8b").arch.moe


def _tiny_decoder(arch: Architecture) -> torch.nn.Module:
    """transformers' own MoE text model at ``arch``, eager attention and eager experts (plain matmuls, which
    FlopCounterMode counts; its default grouped_mm kernel is not counted by torch)."""
    preset = ModelPreset(name="flops", family="qwen3_vl", arch=arch)
    dec = text_decoder(preset, arch.layers)
    dec.config._attn_implementation = "eager"
    dec.config._experts_implementation = "eager"
    return dec


@pytest.mark.parametrize("layout", [{}, {"dense_layers": (1,)}, {"sparse_step": 2}, {"sparse_step": 2, "dense_layers": (1,)}],
                         ids=["all-sparse", "mlp-only-layer", "every-second", "both"])  # fmt: skip
def test_layer_flops_equal_torchs_count_of_a_real_moe_decoder(layout):
    """FlopCounterMode counts the matmuls transformers' Qwen3VLMoeTextModel runs (only the experts each token was
    routed to run: its expert loop gathers their rows). Per decoder layer it equals the formula exactly."""
    arch = Architecture(**MOE, **layout)
    dec = _tiny_decoder(arch)
    from transformers.models.qwen3_vl_moe.modeling_qwen3_vl_moe import Qwen3VLMoeTextSparseMoeBlock

    assert [isinstance(layer.mlp, Qwen3VLMoeTextSparseMoeBlock) for layer in dec.layers] == [
        arch.sparse(i) for i in range(arch.layers)
    ]  # the same rule picks the sparse layers
    n = 7
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        dec(inputs_embeds=torch.randn(1, n, arch.hidden), use_cache=False)
    counts = counter.get_flop_counts()
    for i in range(arch.layers):
        measured = sum(counts[f"{type(dec).__name__}.layers.{i}"].values())
        assert measured == layer_flops(arch, n, i), f"layer {i}"
    if layout:  # dense and sparse layers cost differently, so a layer must be named
        assert len({layer_flops(arch, n, i) for i in range(arch.layers)}) == 2
        with pytest.raises(ValueError, match="mixes dense and sparse"):
            layer_flops(arch, n)


def test_moe_layer_flops_hand_computed():
    arch = Architecture(layers=2, hidden=4, intermediate=8, heads=2, kv_heads=1, vocab=10, experts=5,
                        experts_per_token=2, moe_intermediate=3)  # fmt: skip
    # n=3, D=4, q=4, kv=2: projections 96+96+96, attention 4·9·4 = 144 (the dense test's);
    # router 2·3·4·5 = 120; experts 2·3·3·4·3·2 = 432 (not the dense MLP's 6·3·4·8 = 576)
    assert layer_flops(arch, 3) == 96 + 96 + 96 + 144 + 120 + 432
    dense = dataclasses.replace(arch, experts=0, experts_per_token=0, moe_intermediate=0)
    assert layer_flops(dense, 3) == 96 + 96 + 96 + 144 + 576
    assert kv_cache_bytes(arch, [3, 1]) == kv_cache_bytes(dense, [3, 1])  # experts hold no keys or values
    with pytest.raises(ValueError, match="layer 2 is not a layer of this 2-layer decoder"):
        layer_flops(arch, 3, 2)


def test_map_flops_sum_each_remaining_layers_own_cost():
    arch = Architecture(**MOE, sparse_step=2)  # layers 1 and 3 sparse
    n_visual, text = 5, 3
    want = prefill_flops(arch, [text + n_visual] * 4) + (n_visual + 1) * sum(layer_flops(arch, text + 1, j)
                                                                               for j in (2, 3))  # fmt: skip
    assert map_flops(arch, n_visual, text, [2]) == want


def test_the_30b_a3b_flops_count_the_activated_weights_of_its_meta_build():
    """At the real geometry: one token's FLOPs, less attention's n² terms, are 2 x the weights it multiplies, read
    from the meta-device model's parameter shapes: every attention projection, the router, and k of the 128 experts."""
    preset = MODELS.get("qwen3-vl-30b-a3b")
    cls, config, _ = model_parts(preset, vision_of(preset))
    with torch.device("meta"):
        net = cls._from_config(config, dtype=torch.bfloat16)
    arch, active = preset.arch, 0
    for layer in net.model.language_model.layers:
        active += sum(p.numel() for p in layer.self_attn.parameters() if p.dim() == 2)  # q, k, v, o (not the norms)
        active += layer.mlp.gate.weight.numel()  # the router
        experts = layer.mlp.experts
        active += (experts.gate_up_proj.numel() + experts.down_proj.numel()) * arch.experts_per_token // arch.experts
    attention = 2 * 2 * 1 * arch.heads * arch.head_dim * arch.layers  # QKᵀ and AV of a 1-token prefill
    assert prefill_flops(arch, [1] * arch.layers) - attention == 2 * active
    assert 2.7e9 < active < 2.8e9  # the decoder's ~3B activated (A3B), embeddings and lm head aside


def test_the_moe_presets_meta_builds_have_the_checkpoints_geometry():
    """On the meta device: Qwen3-VL-30B-A3B's build has the checkpoint's parameter count (31,070,754,032, as a dump of
    its safetensors prints it) and the routing of its config.json; the 235B-A22B's decoder is 94 layers of 128
    experts (top 8) of width 1536 behind the same tower."""
    preset = MODELS.get("qwen3-vl-30b-a3b")
    assert vision_of(preset) == QWEN3_VL_VISION
    cls, config, _ = model_parts(preset, vision_of(preset))
    assert cls.__name__ == "Qwen3VLMoeForConditionalGeneration" and config.model_type == "qwen3_vl_moe"
    with torch.device("meta"):
        net = cls._from_config(config, dtype=torch.bfloat16)
    assert sum(p.numel() for p in net.parameters()) == 31_070_754_032
    text = net.model.language_model
    assert len(text.layers) == 48 and text.layers[0].self_attn.k_proj.out_features == 4 * 128
    experts = text.layers[0].mlp.experts
    assert tuple(experts.gate_up_proj.shape) == (128, 2 * 768, 2048) and text.layers[0].mlp.gate.top_k == 8
    assert list(net.model.visual.deepstack_visual_indexes) == [8, 16, 24]
    big = MODELS.get("qwen3-vl-235b-a22b")
    cls, config, _ = model_parts(big, vision_of(big))
    with torch.device("meta"):
        net = cls._from_config(config, dtype=torch.bfloat16)
    layer = net.model.language_model.layers[93]
    assert tuple(layer.mlp.experts.down_proj.shape) == (128, 4096, 1536) and layer.self_attn.q_proj.out_features == 8192
    assert net.model.visual.merger.linear_fc2.out_features == 4096


def test_moe_stand_ins_route_on_the_real_layers():
    for name in ("qwen3-vl-30b-a3b", "qwen3-vl-235b-a22b"):
        real, stand = MODELS.get(name), MODELS.get(stand_in_name(name))
        assert stand.model_type == "qwen3_vl_moe" and stand.arch.layers == real.arch.layers
        assert [stand.arch.sparse(i) for i in range(stand.arch.layers)] == [
            real.arch.sparse(i) for i in range(real.arch.layers)
        ]


@pytest.fixture(scope="module")
def moe(tiny_model):
    return tiny_model("tiny-qwen3-vl-moe")


def test_the_tiny_moe_loads_through_its_own_adapter(moe):
    from horizon.models.checkpoint import check_checkpoint
    from horizon.models.loading import adapter_for
    from horizon.models.qwen3_vl import Qwen3VLMoeAdapter

    assert type(moe.model).__name__ == "Qwen3VLMoeForConditionalGeneration"
    assert isinstance(moe.adapter, Qwen3VLMoeAdapter) and moe.adapter.family == "qwen3_vl"
    assert check_checkpoint(moe.path, moe.preset) == "qwen3_vl_moe" and adapter_for("qwen3_vl_moe") is moe.adapter
    saved = json.loads((moe.path / "config.json").read_text())
    assert saved["model_type"] == "qwen3_vl_moe" and saved["text_config"]["num_local_experts"] == 4  # num_experts
    assert moe.model.config.text_config.num_experts_per_tok == 2


def test_a_moe_preset_refuses_a_dense_qwen3_vl_folder_and_the_reverse(moe, tiny_model):
    from horizon.models.checkpoint import BadCheckpointError, check_checkpoint

    dense = tiny_model("tiny-qwen3-vl")
    with pytest.raises(BadCheckpointError, match="holds a 'qwen3_vl' checkpoint .* is a 'qwen3_vl_moe' model"):
        check_checkpoint(dense.path, moe.preset)
    with pytest.raises(BadCheckpointError, match="holds a 'qwen3_vl_moe' checkpoint .* is a 'qwen3_vl' model"):
        check_checkpoint(moe.path, dense.preset)


def test_the_outer_model_reads_router_logits_from_the_pruned_loops_output(moe, monkeypatch):
    """Qwen3VLMoeForConditionalGeneration reads ``router_logits`` from its text model's output: the pruned loop
    returns transformers' MoE output class (router_logits None), and with the dense class a pruned run fails."""
    from transformers.modeling_outputs import BaseModelOutputWithPast

    from horizon.engine import loop
    from horizon.engine.run import prepare, run
    from horizon.images import demo_image
    from horizon.schedule import parse_schedule

    prompt = prepare(moe, [demo_image()], ["What is written on the sign?"])
    assert run(moe, prompt, parse_schedule("random@2:0.5"), max_new_tokens=1).step_logits[0].isfinite().all()
    monkeypatch.setattr(loop, "MoeModelOutputWithPast", BaseModelOutputWithPast)
    with pytest.raises(AttributeError, match="router_logits"):
        run(moe, prompt, parse_schedule("random@2:0.5"), max_new_tokens=1)


def test_doctor_builds_the_tiny_moe_from_its_preset_and_prunes_it():
    """``horizon doctor`` builds from the preset (its adapter is its model_type's): the build is the MoE class with
    finite weights, and a pruned run on it goes through."""
    from horizon.doctor.build import build_random
    from horizon.engine.run import prepare, run
    from horizon.images import demo_image
    from horizon.schedule import parse_schedule

    built = build_random(MODELS.get("tiny-qwen3-vl-moe"), device="cpu", dtype="float32", attn="sdpa")
    assert type(built.model).__name__ == "Qwen3VLMoeForConditionalGeneration"
    assert all(torch.isfinite(p).all() for p in built.model.parameters())
    prompt = prepare(built, [demo_image()], ["What is written on the sign?"])
    out = run(built, prompt, parse_schedule("random@1:0.5"), max_new_tokens=2, stop_at_eos=False)
    assert out.visual_per_layer[1] < out.visual_per_layer[0] and out.step_logits[1].isfinite().all()
