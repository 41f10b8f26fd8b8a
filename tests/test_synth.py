"""The synth benchmark: deterministic from its seed, images that show what the answers say, scoring per family."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from horizon.benchmarks.base import DatasetFormatError
from horizon.benchmarks.fixtures import write_parquet
from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.samples import load_samples
from horizon.benchmarks.synth import CELL, COLOURS, SHAPES, TASKS, make_scene, questions, render, rows


def test_rows_are_a_pure_function_of_the_seed():
    a, b, c = rows(18, seed=3), rows(18, seed=3), rows(18, seed=4)
    assert a == b and a != c
    assert [r["task"] for r in a] == list(TASKS) * 3  # tasks in turn
    assert all(len(str(r["answer"]).split()) == 1 for r in a)
    with pytest.raises(ValueError, match="n must be >= 1"):
        rows(0)


def test_images_show_what_the_answers_say():
    for i in range(40):
        rng = random.Random(i)
        scene = make_scene(rng)
        img = render(scene)
        assert img.size == (96, 96) and img.getpixel((1, 1)) == COLOURS[scene.background]
        for s in scene.shapes:  # the centre of a shape's cell has the shape's colour
            centre = (s.cell[1] * CELL + CELL // 2, s.cell[0] * CELL + CELL // 2 + 2)
            assert img.getpixel(centre) == COLOURS[s.colour], (i, s)
        for (r, c), _digit in scene.digits:  # a digit's cell holds ink, never a shape
            cell = img.crop((c * CELL, r * CELL, (c + 1) * CELL, (r + 1) * CELL))
            assert len(cell.getcolors()) == 2
        asked = dict((t, (q, a)) for t, q, a in questions(scene, random.Random(i)))
        q, a = asked["exists"]
        colour, kind = q.removeprefix("Is there a ").rstrip("?").split()
        assert (a == "yes") == any(s.colour == colour and s.kind == kind for s in scene.shapes)
        assert kind in SHAPES and colour in COLOURS and colour != scene.background
        assert asked["count"][1] == str(len(scene.shapes))


def test_loads_and_scores_per_family_and_task(tmp_path):
    bench = BENCHMARKS.get("synth")
    data = rows(12, seed=0)
    write_parquet("synth", tmp_path / "synth", data)
    samples, bad = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    assert not bad and [s.id for s in samples] == [r["id"] for r in data]
    assert Image.open(io.BytesIO(samples[0].image)).size == (96, 96)
    assert bench.prompt(samples[0], "llava") == "What is the background colour?\nAnswer with one word."
    preds = [f"{r['answer']}." if r["family"] == "global" else "zzz" for r in data]
    m = bench.score(samples, preds)
    assert m["accuracy"] == 50.0 and m["accuracy_global"] == 100.0 and m["accuracy_fine"] == 0.0
    assert m["accuracy_count"] == 100.0 and m["accuracy_cell_digit"] == 0.0
    broken = [dict(r, task="weather") for r in data[:2]]
    write_parquet("synth", tmp_path / "bad" / "synth", broken)
    with pytest.raises(DatasetFormatError, match="column 'task': unknown synth task 'weather'"):
        load_samples(bench, env={"HORIZON_DATA": str(tmp_path / "bad")})


def test_organism_data_command_writes_loadable_rows(tmp_path, capsys):
    from horizon.cli import main

    assert main(["organism", "data", "--out", str(tmp_path / "synth"), "--n", "7", "--seed", "2"]) == 0
    assert "7 synth rows (seed 2)" in capsys.readouterr().out
    samples, _ = load_samples(BENCHMARKS.get("synth"), env={"HORIZON_DATA": str(tmp_path)})
    assert [s.question for s in samples] == [r["question"] for r in rows(7, seed=2)]
