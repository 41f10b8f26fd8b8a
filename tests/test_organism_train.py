"""The organisms' training code (horizon/organism/train.py): targets and labels by hand, determinism, resume."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from horizon.benchmarks import synth
from horizon.harness.matrix import equal_budget_schedules, organism_matrix
from horizon.models.presets import MODELS
from horizon.organism.config import TrainConfig
from horizon.organism.data import (
    HEADS,
    KINDS,
    answer_labels,
    answer_queries,
    cell_targets,
    dense_questions,
    exists_targets,
    generation_suffix,
    make_batch,
    pointer_targets,
    scene_at,
)
from horizon.organism.lookup import pointer_loss
from horizon.organism.train import lr_at, train
from horizon.paper_presets import resolve_schedule
from horizon.schedule import Schedule


def test_cell_targets_by_hand() -> None:
    scene = synth.Scene("blue", (synth.Shape((1, 2), "circle", "red"),), (((3, 0), "7"),))
    t = cell_targets(scene).reshape(12, 12, len(HEADS))
    assert (
        t[3:6, 6:9, 0].eq(KINDS.index("circle")).all()
        and t[3:6, 6:9, 1].eq(1 + sorted(synth.COLOURS).index("red")).all()
    )
    assert t[9:12, 0:3, 0].eq(KINDS.index("digit")).all() and t[9:12, 0:3, 2].eq(1 + 7).all()
    assert int(t[0, 0, 0]) == 0 and int(t[0, 0, 1]) == 0 and int(t[0, 0, 2]) == 0  # an empty cell
    assert t[..., 3].eq(sorted(synth.COLOURS).index("blue")).all()
    assert int(t[4, 7, 4]) == 1 and int(t[4, 7, 5]) == 2  # row and column of the cell
    assert int(t[11, 11, 4]) == 3 and int(t[0, 11, 5]) == 3


def test_answer_labels_by_hand() -> None:
    ids = torch.tensor([[5, 1, 2, 9, 1, 2, 7, 1]])
    labels = answer_labels(ids, [1, 2])
    assert labels.tolist() == [[-100, -100, -100, 9, -100, -100, 7, -100]]


@pytest.mark.parametrize("name", ["organism-llava", "organism-qwen2.5-vl", "organism-qwen3-vl"])
def test_batch_supervises_every_answer_in_order(name: str) -> None:
    from horizon.organism.build import BUILDERS

    _, processor = BUILDERS[name](0)
    batch = make_batch(processor, generation_suffix(processor), seed=3, step=1, size=2)
    tok = processor.tokenizer
    for b in range(2):
        _, qa = scene_at(3, 1 * 2 + b)
        row = batch.labels[b]
        assert tok.convert_ids_to_tokens(row[row != -100].tolist()) == [a for _, _, a in qa]
        assert {t for t, _, _ in qa} == set(synth.TASKS)


def test_dense_questions_by_hand() -> None:
    import random

    scene = synth.Scene("blue", (synth.Shape((1, 2), "circle", "red"), synth.Shape((0, 0), "square", "red")),
                        (((3, 0), "7"),))  # fmt: skip
    qa = dense_questions(scene, random.Random(0))
    got = {(t, q, a) for t, q, a in qa}
    assert len(qa) == len(got) == 2 + 4 + 2 * 2 + 1
    assert ("colour", "What is the background colour?", "blue") in got
    assert ("count", "How many shapes are there?", "2") in got
    assert ("cell_colour", "What colour is the shape in row 2 column 3?", "red") in got
    assert ("cell_shape", "What shape is in row 1 column 1?", "square") in got
    assert ("cell_digit", "What digit is in row 4 column 1?", "7") in got
    exists = [(q, a) for t, q, a in qa if t == "exists"]
    assert {q for q, a in exists if a == "yes"} == {"Is there a red circle?", "Is there a red square?"}
    no = {q for q, a in exists if a == "no"}
    assert len(no) == 2 and not no & {"Is there a red circle?", "Is there a red square?"}
    assert all("blue" not in q for q in no)  # never the background colour
    assert all(q.removeprefix("Is there a ").split()[0] == "red" or "circle" in q or "square" in q for q in no)
    # the answers agree with the benchmark's own questions on the same scenes
    for i in range(50):
        sc, dense = scene_at(5, i, dense=True)
        assert {t for t, _, _ in dense} == set(synth.TASKS) and 5 <= len(dense) <= 16
        assert all(a == ("yes" if any((s.colour, s.kind) == tuple(q[11:-1].split()) for s in sc.shapes) else "no")
                   for t, q, a in dense if t == "exists")  # fmt: skip


@pytest.mark.parametrize("name", ["organism-llava", "organism-qwen2.5-vl", "organism-qwen3-vl"])
def test_dense_batch_supervises_every_answer(name: str) -> None:
    from horizon.organism.build import BUILDERS

    _, processor = BUILDERS[name](0)
    batch = make_batch(processor, generation_suffix(processor), seed=3, step=0, size=2, dense=True)
    for b in range(2):
        row = batch.labels[b]
        answers = processor.tokenizer.convert_ids_to_tokens(row[row != -100].tolist())
        assert answers == [a for _, _, a in scene_at(3, b, dense=True)[1]]


def test_pointer_targets_and_loss_by_hand() -> None:
    column, visual = 7, 9
    ids = torch.tensor([[1] * 3 + [visual] * 144 + [2, 5, 7, 4, 8, 2, 5, 7, 1, 8, 2, 8]])  # two cell questions
    chats = [[("cell_colour", "What colour is the shape in row 2 column 3?", "red"), ("colour", "What is it?", "blue"),
              ("cell_digit", "What digit is in row 4 column 1?", "7")]]  # fmt: skip
    pairs, masks, firsts = pointer_targets(ids, column, visual, chats)
    assert pairs.tolist() == [[0, 3 + 144 + 3], [0, 3 + 144 + 8]]  # the token after each "column"
    assert firsts.tolist() == [3 * 12 + 6, 9 * 12 + 0]  # each cell's first visual token
    first = {3 + (3 * 1 + i) * 12 + 3 * 2 + j for i in range(3) for j in range(3)}  # cell (row 2, column 3)
    second = {3 + (9 + i) * 12 + j for i in range(3) for j in range(3)}  # cell (row 4, column 1)
    assert set(masks[0].nonzero().flatten().tolist()) == first and set(masks[1].nonzero().flatten().tolist()) == second
    attention = torch.zeros(1, ids.shape[1], ids.shape[1])
    attention[0, 150, sorted(first)[:3]] = 0.25  # 3/4 of the first query's attention on its cell
    attention[0, 150, 0] = 0.25
    attention[0, 155, sorted(second)[0]] = 1.0
    loss, mass = pointer_loss(attention, pairs, masks)
    assert mass == pytest.approx(0.875) and float(loss) == pytest.approx(-(math.log(0.75) + math.log(1.0)) / 2)
    with pytest.raises(RuntimeError, match="1 'column' tokens for 2 cell questions"):
        pointer_targets(ids[:, :-5], column, visual, chats)


def test_exists_first_moves_only_the_exists_questions() -> None:
    for i in range(20):
        scene, qa = scene_at(5, i, dense=True)
        first = scene_at(5, i, dense=True, exists_first=True)
        assert first[0] == scene and sorted(first[1]) == sorted(qa)
        k = sum(t == "exists" for t, _, _ in qa)
        assert k >= 1 and {t for t, _, _ in first[1][:k]} == {"exists"}
        assert first[1][k:] == [x for x in qa if x[0] != "exists"]


def test_exists_targets_by_hand() -> None:
    is_id, visual = 6, 9
    scene = synth.Scene("blue", (synth.Shape((1, 2), "circle", "red"),), ())
    cells = cell_targets(scene)[None]
    chats = [[("exists", "Is there a red circle?", "yes"), ("colour", "What is it?", "blue"),
              ("exists", "Is there a red square?", "no")]]  # fmt: skip
    ids = torch.tensor([[0, 0, 1] + [visual] * 144 + [is_id, 2, 3, 4, 5, 1, 8, is_id, 2, 3, 4, 5, 1]])
    mask = torch.ones_like(ids)
    mask[0, :2] = 0  # left padding: the sink is the first real position
    pairs, masks, answers = exists_targets(ids, mask, is_id, visual, chats, cells)
    assert pairs.tolist() == [[0, 147 + 4], [0, 154 + 4]] and answers.tolist() == [1, 0]  # the kind words
    red_circle = {3 + (3 + i) * 12 + 6 + j for i in range(3) for j in range(3)}  # cell (row 2, column 3)
    assert set(masks[0].nonzero().flatten().tolist()) == red_circle
    assert masks[1].nonzero().flatten().tolist() == [2]
    wrong = [[("exists", "Is there a red circle?", "no"), *chats[0][1:]]]
    with pytest.raises(RuntimeError, match="'Is there a red circle\\?' answered 'no', 9 matching"):
        exists_targets(ids, mask, is_id, visual, wrong, cells)


def test_answer_queries_by_hand() -> None:
    chats = [[("cell_colour", "in row 2 column 3?", "red"), ("colour", "What is it?", "blue"),
              ("cell_digit", "in row 4 column 1?", "7")], [("count", "How many?", "2")]]  # fmt: skip
    labels = torch.full((2, 30), -100)
    labels[0, [10, 17, 25]] = 1  # one labelled answer token per question, in chat order
    labels[1, 12] = 1
    assert answer_queries(labels, chats).tolist() == [9, 24]  # the positions before the two cell answers
    with pytest.raises(RuntimeError, match="2 answer positions for 3 questions"):
        answer_queries(labels.masked_fill(torch.arange(30) == 25, -100), chats)


def test_training_scenes_are_not_held_out_scenes() -> None:
    held = {r["image"]["bytes"] for r in synth.rows(600, seed=0)}
    assert not any(synth.png_bytes(synth.render(scene_at(0, i)[0])) in held for i in range(600))


def test_lr_schedule() -> None:
    cfg = TrainConfig(organism="organism-llava", steps=90, pretrain_steps=20, warmup=10, lr=1e-3, min_lr_ratio=0.1)
    assert lr_at(cfg, 0) == pytest.approx(1e-4) and lr_at(cfg, 9) == pytest.approx(1e-3) == lr_at(cfg, 19)
    assert lr_at(cfg, 20) == pytest.approx(1e-4) and lr_at(cfg, 29) == pytest.approx(1e-3)  # warmup again
    assert lr_at(cfg, 110) == pytest.approx(1e-4) and lr_at(cfg, 109) == pytest.approx(1e-4, rel=1e-2)
    assert all(lr_at(cfg, s) >= lr_at(cfg, s + 1) for s in range(29, 109))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("organism", "llava"),
        ("batch", 0),
        ("lr", 2.0),
        ("aux_weight", -1.0),
        ("copy_weight", -1.0),
        ("lookup_exists", True),
    ],
)
def test_config_rejects_bad_values(field: str, value: object) -> None:
    kwargs = {"organism": "organism-llava", field: value}
    with pytest.raises(ValueError, match=field if field != "organism" else "unknown organism"):
        TrainConfig(**kwargs)  # type: ignore[arg-type]


def _state(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoint.pt", weights_only=False)["model"]


@pytest.mark.parametrize("name", ["organism-llava", "organism-qwen2.5-vl", "organism-qwen3-vl"])
def test_training_is_deterministic_and_resumes_exactly(tmp_path: Path, name: str) -> None:
    cfg = TrainConfig(organism=name, pretrain_steps=1, steps=2, batch=2, warmup=1, threads=1,
                      eval_rows=6, eval_every=2, checkpoint_every=1)  # fmt: skip
    straight = train(cfg, tmp_path / "a", log=lambda _: None)
    train(cfg, tmp_path / "b", log=lambda _: None, stop_after=2)
    assert not (tmp_path / "b" / "model").exists()  # unfinished: no export
    resumed = train(cfg, tmp_path / "b", log=lambda _: None)
    assert straight["step"] == resumed["step"] == 3
    a, b = _state(tmp_path / "a"), _state(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert straight["evals"] == resumed["evals"] and straight["evals"][-1]["step"] == 3
    assert (tmp_path / "a" / "model" / "model.safetensors").is_file()
    with pytest.raises(ValueError, match="another configuration"):
        train(replace(cfg, lr=5e-4), tmp_path / "a", log=lambda _: None)


def test_a_further_stage_starts_from_a_finished_run(tmp_path: Path) -> None:
    first = TrainConfig(organism="organism-llava", pretrain_steps=1, steps=1, batch=2, warmup=1, threads=1, eval_rows=0)
    train(first, tmp_path / "a", log=lambda _: None)
    train(replace(first, steps=5), tmp_path / "a2", log=lambda _: None, stop_after=1)
    with pytest.raises(ValueError, match="unfinished"):
        train(replace(first, pretrain_steps=0, init=str(tmp_path / "a2")), tmp_path / "x", log=lambda _: None)
    with pytest.raises(ValueError, match="not organism-qwen2.5-vl"):
        train(TrainConfig(organism="organism-qwen2.5-vl", init=str(tmp_path / "a"), threads=1), tmp_path / "y")
    with pytest.raises(FileNotFoundError, match="no checkpoint.pt"):
        train(replace(first, init=str(tmp_path / "nothing")), tmp_path / "z")
    second = replace(first, pretrain_steps=0, steps=1, dense=True, seed=1, init=str(tmp_path / "a"))
    before = _state(tmp_path / "a")
    train(second, tmp_path / "b", log=lambda _: None, stop_after=0)  # no step: the weights as loaded
    loaded = _state(tmp_path / "b")
    assert all(torch.equal(before[k], loaded[k]) for k in before)
    train(second, tmp_path / "b", log=lambda _: None)
    after = _state(tmp_path / "b")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert (tmp_path / "b" / "model" / "model.safetensors").is_file()


@pytest.mark.parametrize("name", ["organism-llava", "organism-qwen2.5-vl", "organism-qwen3-vl"])
def test_pointing_stage_trains_the_head_and_exports_an_ordinary_model(tmp_path: Path, name: str) -> None:
    from horizon.models.loading import load_model

    cfg = TrainConfig(organism=name, pretrain_steps=0, steps=2, batch=2, warmup=1, threads=1, eval_rows=0,
                      dense=True, point_weight=1.0, point_layer=2, probe_weight=0.5, copy_weight=0.5, lookup_exists=True)  # fmt: skip
    lines: list[str] = []
    train(cfg, tmp_path / "p", log=lines.append)
    assert any(" point " in line and " probe " in line and " copy " in line for line in lines)
    assert set(torch.load(tmp_path / "p" / "checkpoint.pt", weights_only=False)["probe"]) == {
        f"{h}.{w}" for h in ("kind", "colour", "digit", "exists") for w in ("weight", "bias")
    }
    loaded = load_model(name, path=tmp_path / "p" / "model")
    assert loaded.model.config._attn_implementation != "eager"  # exported for the ordinary (sdpa) path
    with pytest.raises(ValueError, match="point_layer 8 is past the decoder's 8 layers"):
        train(replace(cfg, point_layer=8), tmp_path / "q", log=lines.append)
    with pytest.raises(ValueError, match=r"point_layer 7 is past the decoder's 8 layers \(the copy head"):
        train(replace(cfg, point_layer=7), tmp_path / "q", log=lines.append)


@pytest.mark.parametrize("layer", [5, 6])
@pytest.mark.parametrize("method", ["fastv", "dart", "divprune"])
def test_equal_budget_schedules_spend_the_same_tokens(method: str, layer: int) -> None:
    schedules = equal_budget_schedules(method, layer)
    organism = MODELS.get("organism-llava")
    assert (organism.arch.layers, organism.visual_tokens) == (8, 144)  # the geometry the budgets were worked out for
    spent = {sum(resolve_schedule(s).tokens_per_layer(8, 144)) for s in schedules}
    assert spent == {2 * 144 + 216} and len(schedules) == 3
    assert resolve_schedule(schedules[1]).tokens_per_layer(8, 144)[layer:] == (18,) * (8 - layer)
    with pytest.raises(ValueError, match="not 4"):
        equal_budget_schedules(method, 4)


def test_organism_matrix_shape() -> None:
    cases = organism_matrix()
    assert len({c.id for c in cases}) == len(cases)
    by = {(c.model, c.benchmark) for c in cases}
    models = ("organism-llava", "organism-qwen2.5-vl", "organism-qwen3-vl", "organism-llava-weak")
    assert by == {(m, b) for m in models for b in ("synth-global", "synth-fine")}
    # the DeepStack sibling runs its pair's cases, in a tier of its own (not the default run)
    pair = {m: {c.schedule for c in cases if c.model == m} for m in ("organism-qwen2.5-vl", "organism-qwen3-vl")}
    assert pair["organism-qwen2.5-vl"] == pair["organism-qwen3-vl"]
    assert all(c.marks[0] == ("deepstack" if c.model == "organism-qwen3-vl" else "default") for c in cases)
    assert all(isinstance(c.resolved, Schedule) and "sweep" in c.marks for c in cases)
    # the weaker sibling: unpruned and every withdrawal, the capacity finding's cases only (issue 20)
    weak = {c.schedule for c in cases if c.model == "organism-llava-weak" and c.benchmark == "synth-fine"}
    assert weak == {"full", *(f"vtw@{k}" for k in range(8))}


@pytest.mark.parametrize("name", ["organism-llava", "organism-qwen2.5-vl", "organism-qwen3-vl"])
def test_evaluate_is_independent_of_batching(name: str) -> None:
    """Batched prompts are left-padded as the adapters load them: the same logits one by one and together."""
    from horizon.models.presets import MODELS
    from horizon.organism.build import BUILDERS
    from horizon.organism.train import answer_logits

    model, processor = BUILDERS[name](0)
    rows = synth.rows(12, seed=1)  # prompts of different lengths
    family = MODELS.get(name).family
    together = answer_logits(model, processor, family, rows, batch=12)
    one_by_one = answer_logits(model, processor, family, rows, batch=1)
    torch.testing.assert_close(together, one_by_one, atol=1e-4, rtol=1e-4)
    assert processor.tokenizer.padding_side == "right"  # restored


def test_probe_loss_by_hand() -> None:
    from horizon.organism.lookup import probe_loss

    probe = torch.nn.ModuleDict({n: torch.nn.Linear(2, HEADS[n]) for n in ("kind", "colour", "digit")})
    for head in probe.values():
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
    cells = torch.tensor([[1, 2, 0], [4, 0, 3]])  # kind, colour, digit
    loss, acc = probe_loss(list(probe.values()), torch.ones(2, 2), cells)  # uniform logits: log(classes) per head
    expected = (math.log(HEADS["kind"]) + math.log(HEADS["colour"]) + math.log(HEADS["digit"])) / 3
    assert float(loss.detach()) == pytest.approx(expected)
    assert acc == pytest.approx((0 + 0.5 + 0.5) / 3)  # argmax of uniform logits is class 0
