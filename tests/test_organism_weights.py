"""The shipped organisms (horizon/organism/weights/): within the size budget, loaded by the ordinary adapters
through their presets, and as accurate on the fixed held-out rows as their model cards say."""

from __future__ import annotations

import json

import pytest
from safetensors import safe_open

from horizon.benchmarks.synth import HELD_OUT_ROWS, HELD_OUT_SEED
from horizon.evaluation.heldout import heldout_run
from horizon.models.loading import BUNDLED, load_model, resolve_checkpoint
from horizon.organism.config import ORGANISMS, WEAKER
from horizon.organism.ship import CHANCE, by_objects

BUDGET_MB = 40.0  # issue 36 (30 before organism-qwen3-vl): all shipped organisms together
FINDINGS = tuple(o for o in ORGANISMS if o not in WEAKER.values())


def shipped(name: str) -> bool:
    return (BUNDLED / name / "heldout.json").is_file()


def _shipped_or_skip(name: str) -> None:
    if not shipped(name):  # organism-qwen3-vl between its preset (issue 36) and its trained weights
        pytest.skip(f"{name}'s weights are not shipped yet (horizon/organism/weights/{name}): it is being trained "
                    f"(`horizon organism train {name}`, docs/organisms.md)")


def test_shipped_weights_fit_the_budget_in_16_bit() -> None:
    files = [p for name in ORGANISMS for p in (BUNDLED / name).glob("*.safetensors")]
    assert len(files) == len([name for name in ORGANISMS if shipped(name)]) >= 3
    assert sum(p.stat().st_size for p in files) / 1e6 <= BUDGET_MB
    for path in files:
        with safe_open(str(path), "pt") as f:
            assert {str(f.get_slice(k).get_dtype()) for k in f.keys()} == {"F16"}


@pytest.mark.parametrize("name", ORGANISMS)
def test_preset_resolves_to_the_shipped_checkpoint(name: str) -> None:
    _shipped_or_skip(name)
    preset, folder = resolve_checkpoint(name, env={})
    assert preset is not None and preset.bundled and folder == BUNDLED / name
    loaded = load_model(name, env={})
    assert loaded.n_layers == preset.arch.layers == 8
    assert loaded.model.config.text_config.vocab_size == preset.arch.vocab


@pytest.mark.parametrize("name", FINDINGS)
def test_shipped_accuracy_matches_the_card(name: str) -> None:
    _shipped_or_skip(name)
    card = json.loads((BUNDLED / name / "heldout.json").read_text())
    assert (card["rows"], card["seed"]) == (HELD_OUT_ROWS, HELD_OUT_SEED)
    scores, predictions = heldout_run(BUNDLED / name, name)
    for key, value in card["scores"].items():  # every task and family as the card says
        assert abs(scores[key] - value) <= 1.5, (key, scores[key], value)
    # chance: about 31 and 21; fine: issue 7's target (global's 90 is not met: the cards' Limits)
    assert scores["accuracy_global"] >= 60 and scores["accuracy_fine"] >= 80
    for task, k, n, accuracy, _ in by_objects(predictions):  # it looks up the named cell, not just some object
        if task != "cell_digit" and k >= 3:  # answering about some object: about 1/k, more where objects agree
            assert accuracy >= 60, (task, k, n, accuracy)  # stage 1 alone: 37-58 % (git history of the cards)
    for task in ("colour", "count", "cell_colour", "cell_shape", "cell_digit"):  # learnt; `exists` is not (card)
        assert scores[f"accuracy_{task}"] >= CHANCE[task] + 30, (task, scores[f"accuracy_{task}"])
    readme = (BUNDLED / name / "README.md").read_text()
    assert f"**{card['scores']['accuracy_fine']}**" in readme and "horizon organism train" in readme


@pytest.mark.parametrize(("strong", "weak"), sorted(WEAKER.items()))
def test_a_weaker_sibling_matches_its_card_and_is_significantly_weaker_on_the_fine_tasks(strong: str, weak: str) -> None:
    """Issue 20: the capacity pair differs in visual skill (the fine tasks, paired on the same held-out rows) and in
    nothing the comparison holds fixed (family, depth, visual tokens, vocabulary)."""
    from horizon.benchmarks.synth import FINE_TASKS, rows
    from horizon.benchmarks.synth_spec import one_word
    from horizon.models.presets import MODELS
    from horizon.stats import compare

    a, b = MODELS.get(strong), MODELS.get(weak)
    assert (a.family, a.visual_tokens, a.arch) == (b.family, b.visual_tokens, b.arch)
    card = json.loads((BUNDLED / weak / "heldout.json").read_text())
    scores, weak_said = heldout_run(BUNDLED / weak, weak)
    for key, value in card["scores"].items():
        assert abs(scores[key] - value) <= 1.5, (key, scores[key], value)
    _, strong_said = heldout_run(BUNDLED / strong, strong)
    fine = [r for r in rows(HELD_OUT_ROWS, seed=HELD_OUT_SEED) if r["task"] in FINE_TASKS]

    def right(said: dict[str, str]) -> list[float]:
        return [float(one_word(said[str(r["id"])]) == one_word(str(r["answer"]))) for r in fine]  # the scorer's rule

    p = compare(right(weak_said), right(strong_said))
    assert p.significant and p.difference >= 10, p.verdict(weak, strong)
