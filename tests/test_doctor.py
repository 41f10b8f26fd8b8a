"""``horizon doctor`` (horizon/doctor/): its builds are the real architectures, its checks fail on planted faults,
and a crashing check is a failed line, never the end of the run."""

from __future__ import annotations

import json

import pytest
import torch

from horizon.cli import main
from horizon.doctor.build import build_random
from horizon.efficiency.budget import throughputs
from horizon.models.presets import MODELS, vision_of
from horizon.models.tiny import model_parts

QUICK = ("doctor", "--models", "tiny-qwen2.5-vl", "--attn", "sdpa", "--no-numbers")


@pytest.mark.parametrize(("name", "params"), [("llava-1.5-7b", 7_063_427_072), ("qwen2.5-vl-7b", 8_292_166_656)])
def test_the_7b_builds_have_the_real_checkpoints_parameter_counts(name, params):
    """On the meta device (no memory): the decoder from the preset, the vision tower from presets.REAL_VISION, the counts of
    llava-hf/llava-1.5-7b-hf and Qwen/Qwen2.5-VL-7B-Instruct."""
    preset = MODELS.get(name)
    cls, config, _ = model_parts(preset, vision_of(preset))
    with torch.device("meta"):
        net = cls._from_config(config, dtype=torch.bfloat16)
    assert sum(p.numel() for p in net.parameters()) == params
    assert len(net.model.language_model.layers) == preset.arch.layers


def test_a_meta_build_is_materialised_whole_and_deterministic():
    a = build_random(MODELS.get("tiny-llava"), device="cpu", dtype="float32", attn="sdpa")
    b = build_random(MODELS.get("tiny-llava"), device="cpu", dtype="float32", attn="sdpa")
    state_a, state_b = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)  # the fixed seed, not uninitialised memory
    assert all(torch.isfinite(v).all() for v in state_a.values() if v.is_floating_point())
    assert a.processor.tokenizer.padding_side == "left"


def test_doctor_passes_on_this_machine_and_writes_its_record(capsys, tmp_path):
    code = main([*QUICK, "--json", str(tmp_path / "d.json")])
    out = capsys.readouterr().out
    assert code == 0 and "every check passed" in out
    record = json.loads((tmp_path / "d.json").read_text())
    checks = record["models"]["tiny-qwen2.5-vl"]["checks"]
    assert len(checks) == 10 and all(c["passed"] for c in checks) and record["dtype"] == "float32"


def test_a_right_padded_processor_fails_the_batch_checks(capsys, monkeypatch):
    """The fault the doctor found in its own first run: a built processor padded on the right."""
    import horizon.doctor.build

    monkeypatch.setattr(horizon.doctor.build, "left_padded", lambda processor: processor)
    code = main(list(QUICK))
    out = capsys.readouterr().out
    assert code == 1 and "check(s) failed" in out
    assert "FAIL  padded batch of 4 = single runs [sdpa" in out
    assert "FAIL  pruned = reference [sdpa, paper:llava-64:dart+random, batch 4]" in out
    assert "PASS  keep-all = stock logits [sdpa, batch 1]" in out  # the rest still runs and passes


def test_a_crashing_check_is_a_failed_line_and_the_others_still_run(capsys, monkeypatch):
    import horizon.doctor

    def broken(loaded):  # noqa: ANN001, ANN202
        raise RuntimeError("planted")

    monkeypatch.setattr(horizon.doctor, "every_method", broken)
    code = main(list(QUICK))
    out = capsys.readouterr().out
    assert code == 1 and "FAIL  every method runs [sdpa]: raised RuntimeError: planted" in out
    assert "PASS  padded batch of 4 = single runs" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--models", "organism-llava"), "organism-llava is an organism"),
        (("--attn", "flash_attention_2"), "flash_attention_2"),
        (("--repeats", "0"), "--repeats"),
        (("--repeats", "2"), "--repeats 2: a timing ratio is printed with its spread over the repeats, which needs at "
                             "least 3"),  # fmt: skip
        (("--dtype", "float64"), "float64"),
    ],
)
def test_bad_doctor_options_are_refused_before_building(capsys, monkeypatch, args, message):
    import horizon.doctor.build

    monkeypatch.setattr(horizon.doctor.build, "build_random", lambda *a, **k: pytest.fail("built before refusing"))
    assert main(["doctor", *args]) == 2
    assert message in capsys.readouterr().err


def test_doctor_numbers_are_ratios_of_one_run(capsys, tmp_path):
    code = main(["doctor", "--models", "tiny-qwen2.5-vl", "--attn", "sdpa", "--repeats", "3", "--json",
                 str(tmp_path / "d.json")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "engine overhead at keep-all" in out and "Table 3 on random-tiny-qwen2.5-vl" in out
    assert "lowest-highest of its 3 repeats" in out
    assert "host synchronisations (full): not counted on cpu" in out  # counted on CUDA only
    numbers = json.loads((tmp_path / "d.json").read_text())["models"]["tiny-qwen2.5-vl"]["numbers"]
    rows = {r["row"]: r for r in numbers["table3"]}
    assert rows["full"]["prefill_ratio"] == rows["full"]["flops_ratio"] == 1.0
    assert all(0 < r["flops_ratio"] < 1 and r["prefill_ratio"] > 0 for k, r in rows.items() if k != "full")
    # each ratio comes with the spread of its repeats' ratios, which holds the median ratio
    assert rows["full"]["prefill_spread"] == [1.0, 1.0]
    assert all(low <= r["prefill_ratio"] <= high for r in rows.values() for low, high in [r["prefill_spread"]])
    info = numbers["information_map"]
    assert info["layers"] == [0, 27] and info["projected_s"] > info["seconds"] > 0
    assert all(reads["per_token"] == {} for reads in numbers["host_reads"].values())  # nothing read per token
    # horizon plan reads exactly these numbers (its GPU-hours scale the unpruned row by FLOPs)
    speed = throughputs(json.loads((tmp_path / "d.json").read_text()), "d.json")["tiny-qwen2.5-vl"]
    assert speed.prefill_ms == rows["full"]["prefill_ms"] and speed.map_layers == (0, 27)
    assert speed.n_visual == numbers["prompt"]["n_visual"] > 0 and speed.text_tokens > 0


def test_a_model_without_paper_presets_for_its_depth_is_a_skip_that_says_why(tiny_model):
    """LLaVA-1.5-13B's stand-in has 40 layers; the settings are written for 32, 28 and 36 (Table 1's carried to
    Qwen3-VL-8B): nothing to run, said, not failed."""
    from horizon.doctor.checks import every_preset

    check = every_preset(tiny_model("stand-in-llava-1.5-13b"))
    assert check.skipped and check.passed and check.line().startswith("SKIP  every paper preset runs")
    assert "no paper preset is written for 40 layers" in check.detail
    for name in ("tiny-qwen2.5-vl", "tiny-qwen3-vl"):  # 28 layers: Table 4's; 36: the derived Qwen3-VL ones
        ran = every_preset(tiny_model(name))
        assert ran.passed and not ran.skipped and ran.line().startswith("PASS"), name


def test_the_qwen3_vl_8b_build_has_its_geometry():
    """On the meta device: Qwen3-VL-8B's decoder (36 layers, 32 heads of 128, 8 KV heads) and its 27-block tower
    with three DeepStack mergers at blocks 8, 16 and 24, from the preset."""
    preset = MODELS.get("qwen3-vl-8b")
    cls, config, _ = model_parts(preset, vision_of(preset))
    with torch.device("meta"):
        net = cls._from_config(config, dtype=torch.bfloat16)
    text = net.model.language_model
    assert len(text.layers) == 36 and text.layers[0].self_attn.q_proj.out_features == 32 * 128
    assert text.layers[0].self_attn.k_proj.out_features == 8 * 128 and text.embed_tokens.num_embeddings == 151936
    visual = net.model.visual
    assert len(visual.blocks) == 27 and len(visual.deepstack_merger_list) == 3
    assert list(visual.deepstack_visual_indexes) == [8, 16, 24] and visual.merger.linear_fc2.out_features == 4096
