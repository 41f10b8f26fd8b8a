"""``synth``: a synthetic benchmark generated from a seed, with questions of two visual complexities.

A scene is a 96x96 image: a background colour, 1-4 shapes (circle, square, triangle; a colour other than the
background's) in distinct cells of a 4x4 grid, and 1-2 seven-segment digits in other cells. With 8-pixel
patches the image is 12x12 = 144 visual tokens and a cell is 3x3 of them.

* **global** tasks are answerable from the image as a whole: ``colour`` (the background colour, which covers
  most of the image), ``count`` (how many shapes), ``exists`` (is there a <colour> <shape>? half of them
  yes; the no's are near misses: that shape in another colour or that colour on another shape when possible).
* **fine** tasks depend on the few tokens of one named cell: ``cell_colour`` and ``cell_shape`` (of the shape in
  row r, column c) and ``cell_digit`` (the digit written there).

Every answer is one word (a colour, a shape, a digit, yes/no), so the information metric applies directly.
Rows are written as parquet (``write_synth``) and read back like every other benchmark; scoring is exact
match, overall and per family and task. Everything is a pure function of the seed: ``rows(n, seed)``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

IMAGE = 96
GRID = 4
CELL = IMAGE // GRID  # 24 px = 3x3 patches of 8 px
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220),
    "yellow": (235, 210, 40), "purple": (140, 60, 180), "gray": (128, 128, 128),
}  # fmt: skip
SHAPES = ("circle", "square", "triangle")
DIGITS = tuple(str(d) for d in range(10))
PROMPT_SUFFIX = "\nAnswer with one word."  # after every question (the benchmark's prompt and the organisms' training)
GLOBAL_TASKS = ("colour", "count", "exists")
FINE_TASKS = ("cell_colour", "cell_shape", "cell_digit")
TASKS = GLOBAL_TASKS + FINE_TASKS
FAMILIES = ("global", "fine")  # the task families (benchmarks synth-global and synth-fine)
VALIDATION_SEED = 1  # rows evaluated while the organisms train (rows(n, seed=1)); nothing is chosen on held-out rows
HELD_OUT_SEED = 0  # the held-out rows are rows(n, seed=0); training scenes use other seeds (organism/train.scene_at)
HELD_OUT_ROWS = 600  # the organisms' model cards' and shipped-weights test's held-out set (100 per task)
# seven-segment digits: segments a (top), b (top right), c (bottom right), d (bottom), e (bottom left),
# f (top left), g (middle)
SEGMENTS = {"0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg", "6": "acdefg",
            "7": "abc", "8": "abcdefg", "9": "abcdfg"}  # fmt: skip


@dataclass(frozen=True)
class Shape:
    cell: tuple[int, int]  # (row, column), 1-based in questions
    kind: str
    colour: str


@dataclass(frozen=True)
class Scene:
    background: str
    shapes: tuple[Shape, ...]
    digits: tuple[tuple[tuple[int, int], str], ...]  # (cell, digit)


def make_scene(rng: random.Random) -> Scene:
    background = rng.choice(sorted(COLOURS))
    cells = [(r, c) for r in range(GRID) for c in range(GRID)]
    rng.shuffle(cells)
    n_shapes, n_digits = rng.randint(1, 4), rng.randint(1, 2)
    others = [c for c in sorted(COLOURS) if c != background]
    shapes = tuple(Shape(cells[k], rng.choice(SHAPES), rng.choice(others)) for k in range(n_shapes))
    digits = tuple((cells[n_shapes + k], rng.choice(DIGITS)) for k in range(n_digits))
    return Scene(background, shapes, digits)


def render(scene: Scene) -> Image.Image:
    img = Image.new("RGB", (IMAGE, IMAGE), COLOURS[scene.background])
    draw = ImageDraw.Draw(img)
    for s in scene.shapes:
        x0, y0 = s.cell[1] * CELL + 3, s.cell[0] * CELL + 3
        x1, y1 = x0 + CELL - 7, y0 + CELL - 7
        fill = COLOURS[s.colour]
        if s.kind == "circle":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif s.kind == "square":
            draw.rectangle((x0 + 1, y0 + 1, x1 - 1, y1 - 1), fill=fill)
        else:
            draw.polygon(((x0 + x1) / 2, y0, x1, y1, x0, y1), fill=fill)
    ink = (0, 0, 0) if sum(COLOURS[scene.background]) > 330 else (255, 255, 255)
    for (r, c), digit in scene.digits:
        _seven_segment(draw, c * CELL + 6, r * CELL + 3, digit, ink)
    return img


def _seven_segment(draw: ImageDraw.ImageDraw, x: int, y: int, digit: str, ink: tuple[int, int, int]) -> None:
    w, h, t = 11, 17, 2  # glyph width, height, stroke
    boxes = {"a": (x, y, x + w, y + t), "g": (x, y + h // 2 - 1, x + w, y + h // 2 + 1), "d": (x, y + h - t, x + w, y + h),
             "f": (x, y, x + t, y + h // 2), "b": (x + w - t, y, x + w, y + h // 2),
             "e": (x, y + h // 2, x + t, y + h), "c": (x + w - t, y + h // 2, x + w, y + h)}  # fmt: skip
    for segment in SEGMENTS[digit]:
        draw.rectangle(boxes[segment], fill=ink)


def near_misses(scene: Scene, targets: Sequence[Shape]) -> list[tuple[str, str]]:
    """(colour, shape) pairs absent from ``scene`` that differ from one of ``targets`` in one attribute (that shape
    in another non-background colour, or that colour on another shape), sorted."""
    present = {(s.colour, s.kind) for s in scene.shapes}
    misses = {(c, t.kind) for t in targets for c in COLOURS if c != scene.background and (c, t.kind) not in present}
    misses |= {(t.colour, k) for t in targets for k in SHAPES if (t.colour, k) not in present}
    return sorted(misses)


def exists_question(colour: str, kind: str, answer: str) -> tuple[str, str, str]:
    return ("exists", f"Is there a {colour} {kind}?", answer)


def shape_questions(shape: Shape) -> list[tuple[str, str, str]]:
    """The colour and the kind of the shape in its named cell."""
    where = f"row {shape.cell[0] + 1} column {shape.cell[1] + 1}"
    return [("cell_colour", f"What colour is the shape in {where}?", shape.colour),
            ("cell_shape", f"What shape is in {where}?", shape.kind)]  # fmt: skip


def digit_question(cell: tuple[int, int], digit: str) -> tuple[str, str, str]:
    return ("cell_digit", f"What digit is in row {cell[0] + 1} column {cell[1] + 1}?", digit)


def global_questions(scene: Scene) -> list[tuple[str, str, str]]:
    """Background colour and shape count."""
    return [("colour", "What is the background colour?", scene.background),
            ("count", "How many shapes are there?", str(len(scene.shapes)))]  # fmt: skip


def questions(scene: Scene, rng: random.Random) -> list[tuple[str, str, str]]:
    """Every question the scene supports, one per task: (task, question, answer)."""
    out = global_questions(scene)
    present = {(s.colour, s.kind) for s in scene.shapes}
    if rng.random() < 0.5:
        colour, kind = rng.choice(sorted(present))
        out.append(exists_question(colour, kind, "yes"))
    else:
        colour, kind = rng.choice(near_misses(scene, [rng.choice(scene.shapes)]))
        out.append(exists_question(colour, kind, "no"))
    out += shape_questions(rng.choice(scene.shapes))
    out.append(digit_question(*rng.choice(scene.digits)))
    return out


def family(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown synth task {task!r} (tasks: {', '.join(TASKS)})")
    return "global" if task in GLOBAL_TASKS else "fine"


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def row_scene(i: int, seed: int = 0) -> Scene:
    """The scene of row ``i`` of ``rows(n, seed)`` (any ``n`` > ``i``)."""
    return make_scene(random.Random(f"synth-{seed}-{i}"))


def rows(n: int, seed: int = 0, tasks: Sequence[str] = TASKS) -> list[dict[str, object]]:
    """``n`` benchmark rows, the tasks in turn, each from its own scene; a pure function of ``seed``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    for task in tasks:
        family(task)
    out: list[dict[str, object]] = []
    for i in range(n):
        rng = random.Random(f"synth-{seed}-{i}")
        scene = make_scene(rng)
        task = tasks[i % len(tasks)]
        _, question, answer = next(q for q in questions(scene, rng) if q[0] == task)
        out.append({"id": f"{seed}-{i}", "image": {"bytes": png_bytes(render(scene)), "path": None},
                    "question": question, "answer": answer, "task": task, "family": family(task)})  # fmt: skip
    return out
