"""The organisms' training data: scenes from training seeds, one multi-turn chat per scene with its answer
positions, and per-visual-token targets for the auxiliary heads; pure functions of (seed, index)."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from horizon.benchmarks import synth
from horizon.models.adapter import chat_prompt

KINDS = ("none", "circle", "square", "triangle", "digit")
OBJECT_COLOURS = ("none", *sorted(synth.COLOURS))
CELL_DIGITS = ("none", *synth.DIGITS)
BACKGROUNDS = tuple(sorted(synth.COLOURS))
HEADS = {
    "kind": len(KINDS),
    "colour": len(OBJECT_COLOURS),
    "digit": len(CELL_DIGITS),
    "background": len(BACKGROUNDS),
    "row": 4,
    "column": 4,
}
OBJECT_HEADS = ("kind", "colour", "digit")
SIDE = 12  # visual tokens per side for both organisms (144 in row-major order), a cell is 3x3 of them


def dense_questions(scene: synth.Scene, rng: random.Random) -> list[tuple[str, str, str]]:
    """Every question a scene supports in the benchmark's forms: colour, count, up to two ``exists`` yes's (present
    colour-shape pairs) and as many no's (near misses, as the benchmark draws them), colour and shape of every
    shape's cell and every digit: 5-16 questions, contrasting answers about the same image."""
    present = sorted({(s.colour, s.kind) for s in scene.shapes})
    yes = rng.sample(present, min(2, len(present)))
    misses = synth.near_misses(scene, scene.shapes)
    no = rng.sample(misses, min(len(yes), len(misses)))
    out = synth.global_questions(scene)
    out += [synth.exists_question(c, k, "yes") for c, k in yes] + [synth.exists_question(c, k, "no") for c, k in no]
    out += [q for s in scene.shapes for q in synth.shape_questions(s)]
    return out + [synth.digit_question(cell, digit) for cell, digit in scene.digits]


def scene_at(
    seed: int, index: int, dense: bool = False, exists_first: bool = False
) -> tuple[synth.Scene, list[tuple[str, str, str]]]:
    """The ``index``-th training scene and its questions (shuffled), from training seeds only: the benchmark's six
    (one per task) or, ``dense``, every question it supports (``dense_questions``). ``exists_first`` moves the
    exists questions to the front (keeping the shuffled order otherwise), so no earlier answer in the chat names the
    scene's objects: as at evaluation, they can only be answered from the image."""
    rng = random.Random(f"train-{seed}-{index}")
    scene = synth.make_scene(rng)
    qa = dense_questions(scene, rng) if dense else synth.questions(scene, rng)
    rng.shuffle(qa)
    if exists_first:
        qa.sort(key=lambda x: x[0] != "exists")  # stable
    return scene, qa


def cell_targets(scene: synth.Scene) -> torch.Tensor:
    """(144, 6) class ids per visual token (row-major 12x12): its cell's object kind, object colour and digit,
    the background colour, and the cell's row and column (so a token can be found by the position a question names)."""
    kind = [[0] * 4 for _ in range(4)]
    colour = [[0] * 4 for _ in range(4)]
    digit = [[0] * 4 for _ in range(4)]
    for s in scene.shapes:
        kind[s.cell[0]][s.cell[1]] = KINDS.index(s.kind)
        colour[s.cell[0]][s.cell[1]] = OBJECT_COLOURS.index(s.colour)
    for (r, c), d in scene.digits:
        kind[r][c] = KINDS.index("digit")
        digit[r][c] = CELL_DIGITS.index(d)
    bg = BACKGROUNDS.index(scene.background)
    rows = []
    for i in range(SIDE):
        for j in range(SIDE):
            r, c = i // 3, j // 3
            rows.append((kind[r][c], colour[r][c], digit[r][c], bg, r, c))
    return torch.tensor(rows, dtype=torch.long)


def conversation(qa: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """The multi-turn chat of one scene: the image in the first user turn, each question in the prompt form."""
    msgs: list[dict[str, Any]] = []
    for k, (_, question, answer) in enumerate(qa):
        content: list[dict[str, str]] = [{"type": "image"}] if k == 0 else []
        msgs.append({"role": "user", "content": [*content, {"type": "text", "text": question + synth.PROMPT_SUFFIX}]})
        msgs.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return msgs


def generation_suffix(processor: Any) -> list[int]:
    """Token ids the family's template puts right before an answer (the generation prompt's tail)."""
    tok = processor.tokenizer
    with_gen = tok(chat_prompt(processor, "x"), add_special_tokens=False)["input_ids"]
    conv = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "x"}]}]
    without = tok(str(processor.apply_chat_template(conv, add_generation_prompt=False)), add_special_tokens=False)
    n = len(without["input_ids"])
    if with_gen[:n] != without["input_ids"] or len(with_gen) == n:
        raise ValueError("the chat template's generation prompt does not extend the conversation")
    return list(with_gen[n:])


def answer_labels(input_ids: torch.Tensor, suffix: Sequence[int]) -> torch.Tensor:
    """Labels (B, T): the token right after each occurrence of ``suffix``, -100 elsewhere."""
    labels = torch.full_like(input_ids, -100)
    k = len(suffix)
    ref = torch.tensor(suffix, dtype=input_ids.dtype)
    windows = input_ids.unfold(1, k, 1)  # (B, T-k+1, k)
    hit = (windows == ref).all(-1)[:, : input_ids.shape[1] - k]  # suffix ending before the last position
    b, t = hit.nonzero(as_tuple=True)
    labels[b, t + k] = input_ids[b, t + k]
    return labels


_CELL = re.compile(r"row (\d) column (\d)")


def cell_token_indices(row: int, column: int) -> list[int]:
    """The 9 visual-token indices (row-major 12x12) of grid cell (row, column), 0-based."""
    return [(3 * row + i) * SIDE + 3 * column + j for i in range(3) for j in range(3)]


def pointer_targets(
    input_ids: torch.Tensor, column_id: int, visual_id: int, chats: Sequence[Sequence[tuple[str, str, str]]]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where each cell question should look: (sample, query position) pairs (N, 2), the token after "column" (the
    column number, which ends the cell's name) of the i-th cell question of sample b's chat; a (N, T) mask of
    the prompt positions of that cell's 9 visual tokens; and the cell's first visual-token index (N,)."""
    pairs, masks, firsts = [], [], []
    for b, qa in enumerate(chats):
        cells = [(int(m[1]) - 1, int(m[2]) - 1) for _, q, _ in qa if (m := _CELL.search(q))]
        queries = (input_ids[b] == column_id).nonzero().flatten() + 1
        visual = (input_ids[b] == visual_id).nonzero().flatten()
        if len(queries) != len(cells) or len(visual) != SIDE * SIDE:
            raise RuntimeError(f"sample {b}: {len(queries)} 'column' tokens for {len(cells)} cell questions, "
                               f"{len(visual)} visual tokens (expected {SIDE * SIDE})")  # fmt: skip
        for q, (r, c) in zip(queries.tolist(), cells, strict=True):
            tokens = cell_token_indices(r, c)
            mask = torch.zeros(input_ids.shape[1], dtype=torch.bool)
            mask[visual[tokens]] = True
            pairs.append((b, q))
            masks.append(mask)
            firsts.append(tokens[0])
    if not pairs:
        empty = torch.zeros(0, dtype=torch.long)
        return empty.reshape(0, 2), torch.zeros(0, input_ids.shape[1], dtype=torch.bool), empty
    return torch.tensor(pairs, dtype=torch.long), torch.stack(masks), torch.tensor(firsts, dtype=torch.long)


CELL_TASKS = synth.FINE_TASKS  # the questions that name a cell
_EXISTS = re.compile(r"Is there a (\w+) (\w+)\?")


def exists_targets(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    is_id: int,
    visual_id: int,
    chats: Sequence[Sequence[tuple[str, str, str]]],
    cells: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where each ``exists`` question ("Is there a <colour> <kind>?") should look: (sample, query position) pairs
    (N, 2), the kind word (4 tokens after "Is"); a (N, T) mask of the visual tokens of every shape of that colour
    and kind or, when there is none, of the sample's first real position (a sink: "nothing matches"); and the
    answers (N,), 1 for yes. ``cells`` (B, 144, len(HEADS)) from ``cell_targets``."""
    pairs, masks, answers = [], [], []
    for b, qa in enumerate(chats):
        asked = [(m[1], m[2], a) for t, q, a in qa if t == "exists" and (m := _EXISTS.search(q))]
        queries = (input_ids[b] == is_id).nonzero().flatten() + 4
        visual = (input_ids[b] == visual_id).nonzero().flatten()
        if len(queries) != len(asked) or len(visual) != SIDE * SIDE:
            raise RuntimeError(f"sample {b}: {len(queries)} 'Is' tokens for {len(asked)} exists questions, "
                               f"{len(visual)} visual tokens (expected {SIDE * SIDE})")  # fmt: skip
        sink = int(attention_mask[b].nonzero()[0])
        for q, (colour, kind, answer) in zip(queries.tolist(), asked, strict=True):
            match = (cells[b, :, 0] == KINDS.index(kind)) & (cells[b, :, 1] == OBJECT_COLOURS.index(colour))
            if bool(match.any()) != (answer == "yes"):
                raise RuntimeError(f"sample {b}: 'Is there a {colour} {kind}?' answered {answer!r}, "
                                   f"{int(match.sum())} matching visual tokens")  # fmt: skip
            mask = torch.zeros(input_ids.shape[1], dtype=torch.bool)
            if answer == "yes":
                mask[visual[match]] = True
            else:
                mask[sink] = True
            pairs.append((b, q))
            masks.append(mask)
            answers.append(int(answer == "yes"))
    if not pairs:
        empty = torch.zeros(0, dtype=torch.long)
        return empty.reshape(0, 2), torch.zeros(0, input_ids.shape[1], dtype=torch.bool), empty
    return torch.tensor(pairs, dtype=torch.long), torch.stack(masks), torch.tensor(answers, dtype=torch.long)


def answer_queries(
    labels: torch.Tensor, chats: Sequence[Sequence[tuple[str, str, str]]], tasks: Sequence[str] = CELL_TASKS
) -> torch.Tensor:
    """The position whose logits give each answer of ``tasks`` (the one before its labelled token), sample by
    sample in chat order (``pointer_targets``' / ``exists_targets``' order): (N,). ``labels`` (B, T) hold one
    labelled position per question, in chat order (``answer_labels``)."""
    out: list[int] = []
    for b, qa in enumerate(chats):
        answers = (labels[b] != -100).nonzero().flatten() - 1
        if len(answers) != len(qa):
            raise RuntimeError(f"sample {b}: {len(answers)} answer positions for {len(qa)} questions")
        out += [int(a) for a, (t, _, _) in zip(answers, qa, strict=True) if t in tasks]
    return torch.tensor(out, dtype=torch.long)


@dataclass(frozen=True)
class Batch:
    inputs: dict[str, Any]
    labels: torch.Tensor  # (B, T)
    cells: torch.Tensor  # (B, 144, len(HEADS))
    chats: tuple[tuple[tuple[str, str, str], ...], ...]  # each scene's questions in chat order


def make_batch(
    processor: Any,
    suffix: Sequence[int],
    seed: int,
    step: int,
    size: int,
    dense: bool = False,
    exists_first: bool = False,
) -> Batch:
    scenes = [scene_at(seed, step * size + b, dense, exists_first) for b in range(size)]
    texts = [str(processor.apply_chat_template(conversation(qa), add_generation_prompt=False)) for _, qa in scenes]
    images = [synth.render(s) for s, _ in scenes]
    inputs = dict(processor(images=images, text=texts, return_tensors="pt", padding=True))
    labels = answer_labels(inputs["input_ids"], suffix)
    if "attention_mask" in inputs:
        labels = labels.masked_fill(inputs["attention_mask"] == 0, -100)
    n, expected = int((labels != -100).sum()), sum(len(qa) for _, qa in scenes)
    if n != expected:
        raise RuntimeError(f"expected {expected} answer positions, found {n}: the chat template changed?")
    chats = tuple(tuple(qa) for _, qa in scenes)
    return Batch(inputs, labels, torch.stack([cell_targets(s) for s, _ in scenes]), chats)
