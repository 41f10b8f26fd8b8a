"""Shipping an organism (horizon/organism/ship.py): the training stages behind a run and the model card."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from horizon.organism.config import TrainConfig
from horizon.organism.ship import render_card, stages_of, train_command


def _run(folder: Path, cfg: TrainConfig, minutes: float, done: bool = True) -> Path:
    folder.mkdir(parents=True)
    evals = [
        {"step": cfg.pretrain_steps + cfg.steps, "minutes": minutes, "accuracy_global": 80.0, "accuracy_fine": 70.0}
    ]
    step = cfg.pretrain_steps + cfg.steps if done else 1
    summary = {"config": asdict(cfg), "step": step, "minutes": minutes, "evals": evals, "torch": "2.13.0+cpu"}
    (folder / "train.json").write_text(json.dumps(summary))
    return folder


def test_a_two_stage_run_is_carded_with_both_commands(tmp_path: Path) -> None:
    first = TrainConfig(organism="organism-llava", steps=2100, pretrain_steps=500, threads=1)
    one = _run(tmp_path / "one", first, 64.8)
    second = TrainConfig(organism="organism-llava", steps=2500, pretrain_steps=0, batch=8, lr=5e-4, seed=1,
                         threads=1, dense=True, init=str(one))  # fmt: skip
    two = _run(tmp_path / "two", second, 80.2)
    stages = stages_of(two)
    assert [cfg for cfg, _ in stages] == [first, second]
    assert train_command(second, "RUN2", "RUN1") == (
        "horizon organism train organism-llava --out RUN2 --steps 2500 --pretrain-steps 0 --batch 8 --lr 0.0005 "
        "--seed 1 --threads 1 --dense --init RUN1"
    )
    scores = {"accuracy_global": 91.0, "accuracy_fine": 80.5, "accuracy_exists": 73.0}
    card = render_card("organism-llava", stages, scores, 4_460_000, 8.9, "x86_64, Linux")
    assert "2 stage(s), 145.0 min of training steps in all" in card
    assert "`horizon organism train organism-llava --out RUN1 --steps 2100 --pretrain-steps 500 --threads 1`" in card
    assert "--dense --init RUN1`" in card and "from stage 1's weights" in card
    assert "every question it supports" in card and "are **met**" in card and "## Limits" not in card
    assert "| 2 | 2500 | 80.2 | 80.0 | 70.0 |" in card
    assert "**not met**" in render_card("organism-llava", stages, {**scores, "accuracy_fine": 79.9}, 1, 1.0, "m")
    assert "lookup supervision" not in card and "taught where to look" not in card


def test_a_stage_with_lookup_supervision_says_which_heads_were_taught_where_to_look(tmp_path: Path) -> None:
    first = _run(tmp_path / "one", TrainConfig(organism="organism-qwen2.5-vl", threads=1), 60.0)
    second = TrainConfig(organism="organism-qwen2.5-vl", pretrain_steps=0, init=str(first), point_weight=1.0,
                         probe_weight=0.5, copy_weight=1.0, lookup_exists=True, exists_first=True)  # fmt: skip
    stages = stages_of(_run(tmp_path / "two", second, 50.0))
    assert train_command(second, "RUN2", "RUN1").endswith(
        "--point-weight 1.0 --probe-weight 0.5 --copy-weight 1.0 --exists-first --lookup-exists"
    )
    card = render_card("organism-qwen2.5-vl", stages, {"accuracy_global": 90.0, "accuracy_fine": 80.0}, 1, 1.0, "m")
    assert "lookup supervision at each cell question's column number and each exists question's kind word" in card
    assert "head 0 of decoder layer 3 attends from the query" in card and "or the first token when none" in card
    assert "0.5 x probe loss" in card and "head 0 of decoder layer 4 attends from the question's answer" in card
    assert "taught where to look" in card and "(the exists questions first, so no earlier answer" in card


def test_an_unfinished_stage_cannot_ship(tmp_path: Path) -> None:
    first = _run(tmp_path / "one", TrainConfig(organism="organism-llava", steps=10), 1.0, done=False)
    second = _run(tmp_path / "two", TrainConfig(organism="organism-llava", steps=10, init=str(first)), 1.0)
    with pytest.raises(ValueError, match="one is not finished"):
        stages_of(second)


def test_fine_accuracy_by_objects_by_hand() -> None:
    from horizon.benchmarks import synth
    from horizon.organism.ship import by_objects

    data = synth.rows(60, seed=0)
    for i in (0, 7, 59):  # row_scene is the scene each row was drawn from
        assert data[i]["image"]["bytes"] == synth.png_bytes(synth.render(synth.row_scene(i, 0)))  # type: ignore[index]
    right = {str(r["id"]): f"{r['answer']}. 3" for r in data}  # as generated: the first word is the answer
    table = by_objects(right, n=60, seed=0)
    assert sum(row[2] for row in table) == 30 and all(row[3] == 100.0 and row[4] == 0.0 for row in table)
    i = next(i for i, r in enumerate(data) if r["task"] == "cell_colour" and
             len({s.colour for s in synth.row_scene(i, 0).shapes}) > 1)  # fmt: skip
    other = next(s.colour for s in synth.row_scene(i, 0).shapes if s.colour != data[i]["answer"])
    k = len(synth.row_scene(i, 0).shapes)
    table = by_objects({**right, str(data[i]["id"]): other, str(data[0]["id"]): "nonsense"}, n=60, seed=0)
    row = next(row for row in table if row[:2] == ["cell_colour", k])
    assert row[3] == round(100 * (row[2] - 1) / row[2], 1) and row[4] == 100.0  # the one error names another shape
