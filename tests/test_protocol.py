"""Protocols (horizon/protocol.py): named, validated, recorded; the paper cases run the authors' conventions."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from horizon.benchmarks.registry import BENCHMARKS
from horizon.harness.matrix import Case, all_cases, information_matrix, paper_table, protocol_refusal, under_protocol
from horizon.harness.records import Record
from horizon.methods.base import stochastic
from horizon.models.conversation import vicuna_v1
from horizon.paper_presets import (
    PAPER_BUDGETS,
    PAPER_PRESETS,
    RELEASED_PRESETS,
    RELEASED_SETTINGS,
    TABLE_SETTINGS,
    provenance,
    resolve_schedule,
)
from horizon.paper_tables import PAPER_TABLES
from horizon.protocol import DEFAULT_PROTOCOL, PAPER_PROTOCOL, PROTOCOLS, Protocol


def test_the_two_protocols_and_their_validation():
    assert PROTOCOLS.names() == ["lmms-eval", "paper"]
    paper = PROTOCOLS.get("paper")
    assert (paper.conversation, paper.families, paper.presets, paper.seeds) == ("vicuna_v1", ("llava",), "released", 3)
    lmms = PROTOCOLS.get("lmms-eval")
    assert (lmms.conversation, lmms.families, lmms.presets, lmms.seeds) == ("chat-template", (), "transcribed", 3)
    with pytest.raises(KeyError, match="unknown protocol 'papr'; did you mean 'paper'"):
        PROTOCOLS.get("papr")
    base = dict(name="x", summary="s", source="src", conversation="chat-template", families=(), presets="released")
    with pytest.raises(ValueError, match="seeds must be >= 1, got 0"):
        Protocol(**base, seeds=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="conversation 'chatml' is not one of"):
        Protocol(**{**base, "conversation": "chatml"}, seeds=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="defined for llava models only.*run it under --protocol lmms-eval"):
        paper.check_family("qwen2_5_vl", "qwen2.5-vl-7b")
    paper.check_family("llava", "llava-1.5-7b")


def test_vicuna_v1_is_llavas_conversation():
    # haotian-liu/LLaVA llava/conversation.py conv_vicuna_v1 (SeparatorStyle.TWO: system + " " + "USER: " + msg + " "
    # + "ASSISTANT:"), the message "<image>\n" + question (llava/eval/model_vqa_loader.py)
    assert vicuna_v1("Is there a dog?") == (
        "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
        "detailed, and polite answers to the user's questions. USER: <image>\nIs there a dog? ASSISTANT:"
    )


# Average visual tokens per layer of every paper preset (32 layers, 576 tokens), worked out by hand from the
# stages: tokens entering each layer, a stage at layer K changing layers K.. (layer 0: before the LLM).
RELEASED_AVERAGES = {
    "paper:llava-192:dart+random": (2 * 576 + 18 * 252 + 12 * 38) / 32,  # 192.0
    "paper:llava-64:dart+random": (576 + 19 * 60 + 12 * 27) / 32,  # 63.75
    "paper:llava-192:dart+vtw": (2 * 576 + 19 * 260) / 32,  # 190.375
    "paper:llava-64:dart+vtw": (576 + 25 * 60) / 32,  # 64.875
    "paper:llava-192:divprune+random": (20 * 284 + 12 * 38) / 32,  # 191.75
    "paper:llava-64:divprune+random": (20 * 96 + 12 * 10) / 32,  # 63.75
    "paper:llava-192:divprune+vtw": (20 * 284) / 32,  # 177.5: VTW at 20, as the script runs it
    "paper:llava-64:divprune+vtw": (21 * 98) / 32,  # 64.3125
}
TRANSCRIBED_AVERAGES = {  # Table 5's fractions, counts rounded half up on 576 (Keep.count)
    "paper:llava-192:dart": (2 * 576 + 30 * 167) / 32,
    "paper:llava-192:dart+random": (2 * 576 + 18 * 253 + 12 * 40) / 32,
    "paper:llava-192:dart+vtw": (2 * 576 + 19 * 253) / 32,
    "paper:llava-192:divprune": 190.0,
    "paper:llava-192:divprune+random": (20 * 282 + 12 * 40) / 32,
    "paper:llava-192:divprune+vtw": (21 * 282) / 32,
    "paper:llava-192:fastv": (3 * 576 + 29 * 150) / 32,
    "paper:llava-192:fastv+random": (3 * 576 + 17 * 236 + 12 * 35) / 32,
    "paper:llava-192:fastv+vtw": (3 * 576 + 18 * 236) / 32,
    "paper:llava-64:dart": (2 * 576 + 30 * 29) / 32,
    "paper:llava-64:dart+random": (576 + 19 * 58 + 12 * 29) / 32,
    "paper:llava-64:dart+vtw": (576 + 25 * 58) / 32,
    "paper:llava-64:divprune": 63.0,
    "paper:llava-64:divprune+random": (20 * 98 + 12 * 12) / 32,
    "paper:llava-64:divprune+vtw": (21 * 98) / 32,
    "paper:llava-64:fastv": (3 * 576 + 29 * 12) / 32,
    "paper:llava-64:fastv+random": (2 * 576 + 18 * 35 + 12 * 17) / 32,
    "paper:llava-64:fastv+vtw": (2 * 576 + 24 * 35) / 32,
}


def _average(schedule_name: str, form: str) -> float:
    per_layer = resolve_schedule(schedule_name, form).tokens_per_layer(32, 576)
    return sum(per_layer) / len(per_layer)


def test_every_released_preset_gives_its_scripts_average():
    assert set(RELEASED_AVERAGES) == RELEASED_SETTINGS
    for name, expected in RELEASED_AVERAGES.items():
        assert _average(name, "released") == expected, name
    assert RELEASED_AVERAGES["paper:llava-192:dart+random"] == 192.0
    assert RELEASED_AVERAGES["paper:llava-64:dart+random"] == 63.75


def test_every_transcribed_llava_preset_gives_its_tables_average():
    llava = {n for n in TABLE_SETTINGS if n.startswith("paper:llava-")}
    assert set(TRANSCRIBED_AVERAGES) == llava
    for name, expected in TRANSCRIBED_AVERAGES.items():
        assert _average(name, "transcribed") == pytest.approx(expected, abs=1e-9), name
        budget = PAPER_BUDGETS[name.rsplit(":", 1)[0]][2]
        assert abs(expected - budget) / budget < 0.05, name  # each within 5% of its stated budget


def test_released_presets_are_exact_counts_reindexed_with_dart_in_its_released_order():
    for name in RELEASED_SETTINGS:
        schedule = RELEASED_PRESETS.get(name)
        assert all(st.positions == "reindex" for st in schedule.stages), name
        assert all(st.keep.absolute for st in schedule.stages if st.method != "vtw"), name
        methods = [st.method for st in schedule.stages]
        assert methods[0] in ("dart-set", "divprune") and methods[1] in ("random", "vtw"), name
        assert provenance(name, "released") == "released" and provenance(name) == "transcribed"
    assert provenance("paper:llava-192:pdrop", "released") == "derived"
    assert provenance("paper:llava-192:fastv", "released") == "transcribed"  # no script: Table 5 as printed
    assert provenance("random@2:0.5") == ""
    with pytest.raises(ValueError, match="preset form 'scripts' is not one of transcribed, released"):
        resolve_schedule("full", "scripts")
    # the lmms-eval protocol keeps the tables' form
    assert resolve_schedule("paper:llava-192:dart+random") == PAPER_PRESETS.get("paper:llava-192:dart+random")


def test_paper_cases_run_the_authors_protocol_where_the_release_covers_the_model():
    cases = all_cases()
    for case in cases:
        if case.model == "llava-1.5-7b":
            assert case.protocol == PAPER_PROTOCOL and case.id.endswith("-paper"), case.id
            assert case.benchmark != "textvqa", case.id  # LLaVA's TextVQA is the OCR-token prompt
        elif case.model == "qwen2.5-vl-7b" or case.model in ("tiny-llava", "tiny-qwen2.5-vl"):
            assert case.protocol == DEFAULT_PROTOCOL and not case.id.endswith("-paper"), case.id
    assert "textvqa-ocr" in PAPER_TABLES["table2"].columns and PAPER_TABLES["table3"].columns == ("textvqa-ocr",)
    assert "textvqa" in PAPER_TABLES["table1"].columns  # Qwen: lmms-eval's TextVQA
    for info in information_matrix():
        assert info.protocol == (PAPER_PROTOCOL if info.model == "llava-1.5-7b" else DEFAULT_PROTOCOL), info.id
        config = info.config()
        if info.model == "llava-1.5-7b":  # the release's cal_info runs: 2x2 windows, its y; info_prune's keeps
            assert (config.window, config.answer_rule) == (2, "paper") and info.benchmark in ("mme", "textvqa-ocr")
            assert sorted(round(k * 576) for k in config.oracle_keeps) == [72, 144, 288, 432]
        else:
            assert (config.window, config.answer_rule) == (1, "frequent"), info.id
    released = {c.label: c for c in paper_table("table2") if c.benchmark == "mme"}
    assert str(released["192:dart+random"].resolved) == "dart-set@2:#252/reindex+random@20:#38/reindex"
    assert str(released["192:fastv"].resolved) == str(PAPER_PRESETS.get("paper:llava-192:fastv"))


def test_seeds_three_for_a_random_stage_under_either_protocol_one_otherwise():
    case = Case("llava-1.5-7b", "mme", "paper:llava-192:dart+random", protocol="paper", seed=5)
    assert case.seeds == (5, 6, 7)
    assert replace(case, schedule="paper:llava-192:dart+vtw").seeds == (5,)
    assert replace(case, protocol="lmms-eval").seeds == (5, 6, 7)
    assert stochastic(resolve_schedule("random@2:0.5")) and not stochastic(resolve_schedule("dart@2:0.5"))


def test_under_protocol_moves_cases_and_names_a_refusal():
    cases = [Case("tiny-llava", "pope", "full"), Case("tiny-qwen2.5-vl", "pope", "full")]
    moved = under_protocol(cases, "paper")
    assert [c.id for c in moved] == ["tiny-llava-pope-full-paper", "tiny-qwen2.5-vl-pope-full-paper"]
    assert protocol_refusal(moved[0]) is None
    assert "defined for llava models only" in (protocol_refusal(moved[1]) or "")
    assert under_protocol(cases, None) is cases
    with pytest.raises(KeyError, match="unknown protocol"):
        Case("tiny-llava", "pope", "full", protocol="vlmevalkit")


def test_a_benchmark_under_the_default_protocol_is_the_spec_itself():
    for name in BENCHMARKS.names():
        bench = BENCHMARKS.get(name)
        assert bench.under("lmms-eval") is bench
        assert set(bench.variants) <= set(PROTOCOLS.names()), name
        paper = bench.under("paper")
        assert paper.protocol == "paper" and paper.declared == bench.declared  # the same metric names


def test_records_keep_protocol_seeds_and_each_seeds_metrics():
    r = Record(case="c", model="m", benchmark="pope", schedule="s", device="cpu", dtype="float32",
               attn_implementation="sdpa", n=3, failures=0, metrics={"f1": 2.0}, average_visual_tokens=1.0,
               protocol="paper", seeds=[0, 1, 2], seed_metrics=[{"f1": 1.0}, {"f1": 2.0}, {"f1": 3.0}],
               provenance="released")  # fmt: skip
    back = Record.from_json(r.to_json(), "r.json")
    assert back == r and back.spread == {"f1": 1.0}
    assert replace(r, seed_metrics=[]).spread == {}


def _rec(label: str, protocol: str, mme: float, seeds: list[dict[str, float]] | None = None) -> Record:
    return Record(case=f"{label}-{protocol}", model="llava-1.5-7b", benchmark="mme", schedule="s", device="h100",
                  dtype="float16", attn_implementation="sdpa", n=10, failures=0, metrics={"total": mme},
                  average_visual_tokens=192.0, label=label, protocol=protocol, seed_metrics=seeds or [],
                  seeds=list(range(len(seeds or [0]))), provenance="released" if "+" in label else "")  # fmt: skip


def test_the_report_renders_one_table_per_protocol_with_seed_spread_and_provenance():
    from horizon.report.document import render_report
    from horizon.report.tables import LAYOUTS, render

    spread = [{"total": 1800.0}, {"total": 1810.0}, {"total": 1820.0}]
    records = [_rec("full", "paper", 1862.0), _rec("192:dart+random", "paper", 1810.0, spread),
               _rec("full", "lmms-eval", 1850.0)]  # fmt: skip
    with pytest.raises(ValueError, match="several protocols \\(lmms-eval, paper\\)"):
        render(LAYOUTS["table2"], records, {})
    paper = render(LAYOUTS["table2"], records[:2], {})
    assert "(protocol paper)" in paper.splitlines()[0]
    row = next(line for line in paper.splitlines() if line.startswith("| 192:dart+random"))
    assert row.startswith("| 192:dart+random (released)") and "1810.0±10.0" in row
    text = render_report(records, {})
    assert "Table 2: LLaVA-1.5-7B (protocol lmms-eval)" in text and "Table 2: LLaVA-1.5-7B (protocol paper)" in text


@pytest.mark.parametrize("preset", sorted(RELEASED_SETTINGS))
def test_released_presets_equal_the_independent_reference_with_reindexed_and_shifted_positions(tiny_model, preset):
    """The released settings on tiny LLaVA (576 visual tokens, 32 layers): counts exact, and prefill plus cached
    decoding equal the reference, whose re-indexed layers see contiguous positions among their kept tokens and
    decode at the kept length + t (the release's shifted decode positions, modeling_llama_self.py l.485, l.513)."""
    from horizon.doctor.reference import reference_logits
    from horizon.engine.run import prepare, run
    from horizon.images import demo_image

    loaded = tiny_model("tiny-llava")
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign? Answer briefly."], conversation="vicuna_v1")
    schedule = RELEASED_PRESETS.get(preset)
    out = run(loaded, prompt, schedule, max_new_tokens=3, stop_at_eos=False)
    assert out.visual_per_layer == schedule.tokens_per_layer(loaded.n_layers, prompt.n_visual)
    assert sum(out.visual_per_layer) / loaded.n_layers == RELEASED_AVERAGES[preset]
    ref = reference_logits(loaded, prompt, out, steps=3, mrope=False)
    for got, want in zip(out.step_logits, ref, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_the_paper_protocol_prompts_through_vicuna_v1_and_refuses_qwen(tiny_model):
    from horizon.benchmarks.fixtures import rows
    from horizon.evaluation.loop import prompt_of

    bench = BENCHMARKS.get("pope")
    sample = bench.to_sample(rows("pope")[0], 0)
    llava = tiny_model("tiny-llava")
    paper = prompt_of(llava, bench.under("paper"), [sample])
    assert paper.texts[0] == vicuna_v1(bench.under("paper").prompt(sample, "llava"))
    default = prompt_of(llava, bench, [sample])
    assert default.texts[0].startswith("USER: ") and "A chat between" not in default.texts[0]
    assert paper.n_visual == default.n_visual == 576


def test_the_oracle_under_the_paper_protocol_keeps_whole_windows(tiny_model):
    from horizon.benchmarks.fixtures import rows
    from horizon.engine.run import run
    from horizon.evaluation.loop import oracle_information_for, prompt_of
    from horizon.schedule import parse_schedule

    llava = tiny_model("tiny-llava")
    bench = BENCHMARKS.get("mme").under("paper")
    sample = bench.to_sample(rows("mme")[0], 0)
    prompt = prompt_of(llava, bench, [sample])
    info = oracle_information_for(llava, bench)(sample, prompt, [8])
    out = run(llava, prompt, parse_schedule("oracle@8:#144"), max_new_tokens=1, information=info)
    kept = set(out.stages[0].kept_index[0])
    windows = {(i // 24 // 2, i % 24 // 2) for i in kept}
    assert len(kept) == 144 and len(windows) == 36  # 36 whole 2x2 windows of the 24x24 grid
