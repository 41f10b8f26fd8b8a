"""``dart-set``: DART as the released code runs it (pivots in Python-set order, ⌊keep/8⌋ per pivot).

A hand-computed case where the visiting order changes the kept tokens, the refusals, and the tiny LLaVA
model through the real engine against an independent re-implementation of the released
``get_retained_image_token`` (tests/reference.py). ``python -m tests.test_dart_released [N]`` prints how many
of N tiny-LLaVA prompts keep different tokens under ``dart`` and ``dart-set``.
"""

from __future__ import annotations

import sys

import pytest
import torch
from PIL import Image

from horizon.engine.run import prepare, run
from horizon.engine.views import LazyTokenView
from horizon.images import demo_image
from horizon.methods import METHODS
from horizon.methods.dart import released_visit_order
from horizon.schedule import parse_schedule
from tests.reference import released_dart_keep
from tests.viewkit import unit

G = torch.Generator().manual_seed(0)
D = 8  # hidden size of the hand case: a plane (dims 0, 1) and one axis per remaining pivot (dims 2..7)


def _e(i: int) -> torch.Tensor:
    return torch.eye(D)[i]


def _u(degrees: float) -> torch.Tensor:
    return torch.cat([unit([degrees])[0], torch.zeros(D - 2)])


# The issue's example. 35 system rows, 13 image tokens at prompt rows 35..47 (visual indices 0..12), 4 text
# tokens at rows 48..51; keep 12 -> T = ⌊12/8⌋ = 1 candidate per pivot (4 + 8·1 = 12 kept).
#   image pivots: key L1 norms 8 6 7 9 at rows 35 36 37 38 (candidates: 1) -> top-4 order 38, 35, 37, 36;
#   text pivots: norms 2 4 1 3 at rows 48..51 -> top-4 order 49, 51, 48, 50.
#   hidden states (through the final norm), with u(θ) the unit vector at θ degrees in the plane of dims 0, 1:
#     row 35 (pivot, idx 0) u(-10)    row 39 (a, idx 4) u(180)   rows 42, 43 (idx 7, 8)     -e2, -e3
#     row 36 (pivot, idx 1) e2        row 40 (b, idx 5) u(150)   rows 44..47 (idx 9..12)    -e4..-e7
#     row 37 (pivot, idx 2) e3        row 41 (c, idx 6) u(210)   rows 48..51 (text pivots)  e4..e7
#     row 38 (pivot, idx 3) u(+10)
#   cosines: pivot 35 (-10°): a cos190 = -.985, b cos160 = -.940, c cos220 = -.766, every -e_k 0;
#            pivot 38 (+10°): a cos170 = -.985, b cos140 = -.766, c cos200 = -.940, every -e_k 0;
#            the pivot at e_k: its -e_k -1, everything else 0.
#   So 35 and 38 share their least-similar candidate a; the other six pivots each take their own -e_k.
#   Norm order (dart: 38, 35, 37, 36, then the text): 38 takes a, 35 its second-least-similar b -> c is left out.
#   Set order (dart-set: 35, 36, 37, 38, 48..51): 35 takes a, 36 and 37 their -e2/-e3, 38 its second c -> b is left out.
IMAGE_ROWS = list(range(35, 48))
TEXT_ROWS = list(range(48, 52))
HIDDEN = torch.stack(
    [torch.zeros(D)] * 35
    + [_u(-10), _e(2), _e(3), _u(10), _u(180), _u(150), _u(210), -_e(2), -_e(3), -_e(4), -_e(5), -_e(6), -_e(7)]
    + [_e(4), _e(5), _e(6), _e(7)]
)  # (52, D)
NORMS = torch.tensor([0.0] * 35 + [8, 6, 7, 9] + [1] * 9 + [2, 4, 1, 3])  # (52,)
NORM_ORDER_KEPT = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]  # c (6) left out
SET_ORDER_KEPT = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12]  # b (5) left out


def _view(hidden: torch.Tensor, norms: torch.Tensor, visual_rows: list[int], pad: int = 0) -> LazyTokenView:
    """One sample after ``pad`` left-padding rows; keys are 1-d with the given L1 norms (KV = 1, hd = 1)."""
    hidden = torch.cat([torch.zeros(pad, hidden.shape[1]), hidden])
    norms = torch.cat([torch.zeros(pad), norms])
    S = hidden.shape[0]
    rows = torch.tensor([[r + pad for r in visual_rows]])
    cos = torch.ones(1, S, 1)

    class FinalNorm:  # only the final norm is reachable; the keys are pre-set
        layers: list = []

        def norm(self, x: torch.Tensor) -> torch.Tensor:
            return x

    view = LazyTokenView(
        decoder=FinalNorm(),
        layer=2,
        hidden=hidden[None],
        prev_hidden=hidden[None],
        cos=cos,
        sin=cos * 0,
        pad=(torch.arange(S) >= pad)[None] if pad else None,
        visual_rows=rows,
        visual_index=rows,
        input_embeddings=hidden[None],
        n_visual_original=len(visual_rows),
    )
    view.__dict__["prev_keys"] = norms.view(1, 1, S, 1)
    return view


def select(name: str, view: LazyTokenView, keep: int) -> list[int]:
    return METHODS.get(name).select(view, keep, [G])[0].tolist()


def test_cpython_visits_the_issues_pivots_in_set_order_not_norm_order():
    # CPython hashes a small int to itself; a set built from 8 ints grows from 8 to 32 slots at the fifth
    # insertion, so each int sits at slot (value mod 32) unless that slot is taken (then it probes on), and
    # iteration runs over the slots: 35..38 -> slots 3..6, 48..51 -> slots 16..19, no collision -> ascending.
    listed = [38, 35, 37, 36, 49, 51, 48, 50]  # image_indices + query_indices, each in top-k order
    assert list(set(listed)) == [35, 36, 37, 38, 48, 49, 50, 51] == released_visit_order(listed)
    # positions across a multiple of 32 wrap around: 64 (slot 0) comes first, 61..63 (slots 29..31) last
    assert list(set([64, 61, 63, 62, 75, 77, 74, 76])) == [64, 74, 75, 76, 77, 61, 62, 63]


def test_dart_and_dart_set_keep_different_tokens_when_two_pivots_share_their_least_similar():
    view = _view(HIDDEN, NORMS, IMAGE_ROWS)
    assert select("dart", view, 12) == NORM_ORDER_KEPT
    assert select("dart-set", _view(HIDDEN, NORMS, IMAGE_ROWS), 12) == SET_ORDER_KEPT


def test_dart_set_counts_positions_from_the_samples_first_real_token():
    # 26 left-padding rows: uncorrected, the pivots would sit at 61..64 and 74..77, visited 64 (row 38) first
    # (the norm order's result); counted from the first real token they are 35..38, 48..51 as unpadded.
    padded = _view(HIDDEN, NORMS, IMAGE_ROWS, pad=26)
    assert select("dart-set", padded, 12) == SET_ORDER_KEPT
    assert select("dart", _view(HIDDEN, NORMS, IMAGE_ROWS, pad=26), 12) == NORM_ORDER_KEPT


def test_dart_set_keep_four_is_the_image_pivots_and_keep_all_the_identity():
    assert select("dart-set", _view(HIDDEN, NORMS, IMAGE_ROWS), 4) == [0, 1, 2, 3]
    assert select("dart-set", _view(HIDDEN, NORMS, IMAGE_ROWS), 13) == list(range(13))
    assert select("dart-set", _view(HIDDEN, NORMS, IMAGE_ROWS), 0) == []


def test_dart_set_refuses_a_keep_the_release_cannot_meet():
    with pytest.raises(ValueError, match=r"dart-set keeps 4 \+ 8·⌊keep/8⌋ tokens .*nearest 4 and 12.* got 11"):
        select("dart-set", _view(HIDDEN, NORMS, IMAGE_ROWS), 11)
    big = torch.randn(300 + 8, D, generator=torch.Generator().manual_seed(1))  # 4 system, 300 image, 4 text
    view = _view(big, big.abs().sum(-1), list(range(4, 304)))
    with pytest.raises(ValueError, match=r"give a keep of that form \(4, 12, 20, \.\.\.; nearest 252 and 260;.* got 253"):
        select("dart-set", view, 253)
    assert len(select("dart-set", _view(big, big.abs().sum(-1), list(range(4, 304))), 252)) == 252


def test_dart_set_refuses_fewer_than_four_text_tokens_after_the_image():
    view = _view(HIDDEN[:-1], NORMS[:-1], IMAGE_ROWS)  # 3 text tokens
    with pytest.raises(ValueError, match="4 text pivots after the image, but sample 0 has only 3"):
        select("dart-set", view, 12)
    assert len(select("dart", _view(HIDDEN[:-1], NORMS[:-1], IMAGE_ROWS), 12)) == 12  # dart adapts its pivots


def test_dart_set_declares_what_dart_does():
    dart, released = METHODS.get("dart"), METHODS.get("dart-set")
    assert (released.needs, released.positions, released.flash_compatible, released.min_layer) == (
        dart.needs,
        dart.positions,
        dart.flash_compatible,
        dart.min_layer,
    )
    assert "75909b2" in released.reference and "l.604-663" in released.reference


# -- the tiny LLaVA model through the real engine, against the re-implemented release ---------------------

QUESTIONS = ["What is written on the sign?", "Is the sign red? Answer yes or no please."]


def _stock_states(loaded, prompt, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The stock model's post-rope keys of layer ``layer - 1`` (its cache, (B, KV, S, hd)) and that layer's
    output through the final norm (B, S, D)."""
    loaded.adapter.reset(loaded.model)
    with torch.inference_mode():
        out = loaded.model(**prompt.inputs, use_cache=True, output_hidden_states=True)
    return out.past_key_values.layers[layer - 1].keys, loaded.decoder.norm(out.hidden_states[layer])


def _released(loaded, prompt, keep: int, layer: int = 2) -> list[list[int]]:
    keys, normed = _stock_states(loaded, prompt, layer)
    out = []
    for b in range(keys.shape[0]):
        first = int((prompt.inputs["attention_mask"][b] == 0).sum())  # left padding
        visual = prompt.visual_mask[b].nonzero().squeeze(-1)
        start, length = int(visual[0]) - first, visual.numel()
        out.append(released_dart_keep(keys[b][:, first:], normed[b, first:], start, length, keep))
    return out


@pytest.mark.parametrize("keep", [60, 252])
def test_dart_set_in_the_engine_keeps_the_released_codes_tokens(tiny_model, keep):
    loaded = tiny_model("tiny-llava")
    prompt = prepare(loaded, [demo_image()] * 2, QUESTIONS)  # the first sample is left-padded
    assert bool((prompt.inputs["attention_mask"][0] == 0).any())
    out = run(loaded, prompt, parse_schedule(f"dart-set@2:#{keep}"), max_new_tokens=1)
    (stage,) = out.stages
    assert [list(k) for k in stage.kept_index] == _released(loaded, prompt, keep)


def _images(n: int) -> list[Image.Image]:
    """n distinct deterministic pictures: the demo scene at several sizes, tinted."""
    out = []
    for i in range(n):
        img = demo_image(320 + 32 * (i % 7), 240 + 24 * (i % 5))
        tint = Image.new("RGB", img.size, ((37 * i) % 256, (91 * i) % 256, (53 * i) % 256))
        out.append(Image.blend(img, tint, 0.15 + 0.05 * (i % 4)))
    return out


def count_differing(n: int = 24, keep: int = 60, layer: int = 2) -> tuple[int, int, float]:
    """On n tiny-LLaVA prompts: how many keep different sets under dart and dart-set, out of n, and the mean
    number of kept tokens the two disagree on (each set's tokens missing from the other)."""
    import os

    from horizon.models.loading import load_model

    loaded = load_model("tiny-llava", env={"HORIZON_CACHE": os.environ.get("HORIZON_CACHE", "/tmp/horizon-cache")})
    questions = [QUESTIONS[0], QUESTIONS[1], "How many shapes are there?", "Describe the picture briefly."]
    differ, swapped = 0, 0
    for i, image in enumerate(_images(n)):
        prompt = prepare(loaded, [image], [questions[i % len(questions)]])
        dart, released = (
            set(run(loaded, prompt, parse_schedule(f"{m}@{layer}:#{keep}"), max_new_tokens=1).stages[0].kept_index[0])
            for m in ("dart", "dart-set")
        )
        differ += dart != released
        swapped += len(dart - released)
    return differ, n, swapped / n


def organism_answers_differing(rows_n: int) -> list[str]:
    """dart@2:#K against dart-set@2:#K on organism-llava (its 144 visual tokens), on the first ``rows_n`` held-out
    synth rows: how many one-word answers change, per task family and keep."""
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from horizon.benchmarks.fixtures import write_parquet
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.samples import load_samples
    from horizon.benchmarks.synth import HELD_OUT_SEED, rows
    from horizon.evaluation.loop import evaluate_many
    from horizon.models.loading import load_model
    from horizon.paper_presets import resolve_schedule

    lines = []
    loaded = load_model("organism-llava")
    with TemporaryDirectory() as tmp:
        write_parquet("synth", Path(tmp) / "synth", rows(rows_n, seed=HELD_OUT_SEED))
        for family in ("synth-global", "synth-fine"):
            bench = BENCHMARKS.get(family)
            samples = load_samples(bench, env={"HORIZON_DATA": tmp})[0]
            for keep in (36, 60):
                a, b = evaluate_many(loaded, bench, samples, [resolve_schedule(f"dart@2:#{keep}"),
                                     resolve_schedule(f"dart-set@2:#{keep}")], max_new_tokens=1, batch=16)  # fmt: skip
                diff = sum(a.predictions[k] != b.predictions[k] for k in a.predictions)
                lines.append(f"organism-llava {family} keep {keep}: {diff}/{a.n} answers differ; accuracy dart "
                             f"{a.metrics['accuracy']:.2f}, dart-set {b.metrics['accuracy']:.2f}")  # fmt: skip
    return lines


if __name__ == "__main__":
    # python -m tests.test_dart_released [N prompts] [organism rows]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    for keep in (60, 252):
        d, total, mean = count_differing(n, keep)
        print(
            f"keep {keep}: {d} of {total} prompts keep different tokens under dart@2:#{keep} and dart-set@2:#{keep}"
            f" (on average {mean:.1f} of the {keep} kept tokens differ)"
        )
    if len(sys.argv) > 2:
        print("\n".join(organism_answers_differing(int(sys.argv[2]))))
