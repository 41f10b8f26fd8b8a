"""DeepStack (Qwen3-VL) for the tokens a stage makes: a merged or replaced token's pending DeepStack levels are merged
the same way as its hidden state (``Selection.mix``, docs/engine.md "DeepStack").

* each merging method's ``mix`` reproduces the visual states after its stage from the view's (``mix @ states``), which
  ties the mix to the merge (VisionZip at layer 0: the tower's features before the projector);
* a ``mix`` that does not fit its selection is refused;
* on tiny-qwen3-vl a pool / VisionZip / SparseVLM stage before the last DeepStack layer gives the logits of an
  independent reference (tests/reference.py ``merged_stage_logits``), and differs from a run whose new tokens get
  no injection (so the check could fail)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

from horizon.engine import loop
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.methods import METHODS, Selection, check_selection
from horizon.methods.view import Tower
from horizon.schedule import parse_schedule
from tests.reference import merged_stage_logits
from tests.viewkit import make_view

STEPS = 3


def _after(selection: Selection, states: torch.Tensor) -> torch.Tensor:
    """The visual states after the stage (S_visual rows of one sample): kept in order (replaced ones by their new
    states), then the merged ones."""
    kept = states[selection.keep[0]]
    if selection.replaced is not None and selection.values is not None:
        kept = torch.where(selection.replaced[0][:, None], selection.values[0], kept)
    merged = selection.merged[0] if selection.merged is not None else states[:0]
    return torch.cat([kept, merged])


def _checked(name: str, result: Any, keep: int, n_visual: int) -> Selection:
    selection = check_selection(name, result, 1, keep, n_visual)  # the mix's shape and one-hot rows are checked here
    assert selection.mix is not None
    return selection


def test_pool_mix_reproduces_the_pooled_states():
    g = torch.Generator().manual_seed(0)
    patches = torch.randn(5 * 7, 6, generator=g)
    hidden = torch.cat([torch.zeros(1, 6), patches, torch.ones(2, 6)])
    view = make_view(hidden, list(range(1, 36)), layer=0)
    view.__dict__["grid"] = torch.tensor([[5, 7]])
    sel = _checked("pool", METHODS.get("pool").select(view, 6, [g]), 6, 35)  # 5 x 7 -> 2 x 3, overlapping bins
    assert bool(sel.replaced.all())
    torch.testing.assert_close(sel.mix[0] @ patches, _after(sel, patches))
    assert torch.allclose(sel.mix[0].sum(-1), torch.ones(6))  # each row an average


@pytest.mark.parametrize("layer", [0, 3])
def test_visionzip_mix_reproduces_the_merge(layer):
    """At a deeper layer the mix forms the merged hidden states; at layer 0 the merged tower features, which the
    projector then maps (the engine applies the same weights to the already projected DeepStack levels)."""
    g = torch.Generator().manual_seed(1)
    n = 24
    patches, features = torch.randn(n, 4, generator=g), torch.randn(n, 5, generator=g)
    tower = Tower(torch.rand(1, n, generator=g), torch.randn(1, n, 3, generator=g), features[None],
                  torch.nn.Linear(5, 4))  # fmt: skip
    hidden = torch.cat([torch.zeros(1, 4), patches, torch.ones(2, 4)])
    view = make_view(hidden, list(range(1, n + 1)), layer=layer)
    view.__dict__["tower"] = tower
    sel = _checked("visionzip", METHODS.get("visionzip").select(view, 12, [g]), 12, n)  # 10 dominant + 2 contextual
    assert int(sel.replaced.sum()) == 2
    mix = sel.mix[0]
    assert torch.equal(mix.sum(-1)[sel.replaced[0]], torch.full((2,), 2.0))  # x_target + mean(x_joined)
    with torch.no_grad():
        if layer:
            torch.testing.assert_close(mix @ patches, _after(sel, patches))
        else:
            merged = tower.project((mix @ features)[None])[0]
            torch.testing.assert_close(merged[sel.replaced[0]], sel.values[0][sel.replaced[0]])
            torch.testing.assert_close((mix @ patches)[~sel.replaced[0]], patches[sel.keep[0]][~sel.replaced[0]])


def test_sparsevlm_mix_reproduces_the_recycled_tokens():
    g = torch.Generator().manual_seed(2)
    n = 40
    hidden = torch.cat([torch.zeros(1, 4), torch.randn(n, 4, generator=g), torch.randn(2, 4, generator=g)])
    view = make_view(hidden, list(range(1, n + 1)), layer=3)
    view.prompt_visual_mask = torch.tensor([[False] + [True] * n + [False, False]])
    row = torch.zeros(n + 3)
    row[1 : n + 1] = torch.rand(n, generator=g)
    view.prev_attention = lambda rows: row.expand(1, rows.shape[1], n + 3)
    sel = _checked("sparsevlm", METHODS.get("sparsevlm").select(view, 4, [torch.Generator().manual_seed(0)]), 4, n)
    assert sel.merged is not None and sel.merged.shape[1] == 2  # 36 dropped -> 11 recycled -> 2 clusters
    patches = hidden[1 : n + 1]
    torch.testing.assert_close(sel.mix[0] @ patches, _after(sel, patches))


def test_a_mix_that_does_not_fit_its_selection_is_refused():
    keep = torch.tensor([[0, 2]])
    good = torch.tensor([[[1.0, 0, 0, 0], [0, 0.5, 0.5, 0]]])
    replaced = torch.tensor([[False, True]])
    ok = check_selection("m", Selection(keep, values=torch.zeros(1, 2, 3), replaced=replaced, mix=good), 1, 2, 4)
    assert torch.equal(ok.mix, good)
    with pytest.raises(RuntimeError, match=r"expected a floating \(1, 2 \+ 0, 4\)"):
        check_selection("m", Selection(keep, values=torch.zeros(1, 2, 3), replaced=replaced, mix=good[:, :, :3]), 1,
                        2, 4)  # fmt: skip
    with pytest.raises(RuntimeError, match="not one-hot"):  # the unreplaced kept token 2 is not itself
        check_selection("m", Selection(keep, values=torch.zeros(1, 2, 3), replaced=~replaced, mix=good), 1, 2, 4)
    with pytest.raises(RuntimeError, match=r"2 \+ 1"):  # a merged token needs its row
        check_selection("m", Selection(keep, torch.zeros(1, 1, 3), mix=good), 1, 2, 4)


SCHEDULES = ["pool@0:#35", "visionzip@0:0.25", "visionzip@1:0.25", "sparsevlm@1:0.3"]


def _run(loaded: Any, prompt: Any, schedule: str, monkeypatch: pytest.MonkeyPatch, *, mix: bool,
         steps: int) -> tuple[Any, Any]:  # fmt: skip
    """Run ``schedule`` for ``steps`` tokens recording its stage's checked selection; ``mix=False``: with the mix
    taken away, so that the stage's new tokens receive no DeepStack injection."""
    chosen: list[Selection] = []
    real = loop.check_selection

    def recording(*args: Any) -> Selection:
        selection = real(*args)
        chosen.append(selection if mix else dataclasses.replace(selection, mix=None))
        return chosen[-1]

    with monkeypatch.context() as patch:
        patch.setattr(loop, "check_selection", recording)
        out = run(loaded, prompt, parse_schedule(schedule), max_new_tokens=steps, stop_at_eos=False)
    (selection,) = chosen
    return out, selection


@pytest.fixture(scope="module")
def qwen3(tiny_model: Any) -> tuple[Any, Any, dict[str, Any]]:
    """tiny-qwen3-vl (DeepStack after layers 0, 1 and 2), a prompt, and what its outer model hands the decoder."""
    from horizon.doctor.reference import capture_decoder_inputs

    loaded = tiny_model("tiny-qwen3-vl")
    assert len(loaded.model.config.vision_config.deepstack_visual_indexes) == 3
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    return loaded, prompt, capture_decoder_inputs(loaded, prompt)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_new_tokens_get_their_merged_deepstack_levels(qwen3, schedule, monkeypatch):
    """The engine equals the reference with the merged levels (and, with the mix taken away, without them); the two
    differ, so a merged token's levels matter and an engine that dropped them would fail here."""
    loaded, prompt, captured = qwen3
    layer = parse_schedule(schedule).stages[0].layer
    outputs = {}
    for mix, steps in ((True, STEPS), (False, 1)):  # prefill and decoding; without the mix, the prefill
        out, selection = _run(loaded, prompt, schedule, monkeypatch, mix=mix, steps=steps)
        made = (selection.replaced is not None and bool(selection.replaced.any())) or selection.merged is not None
        assert made, f"{schedule} made no new token: nothing to check"
        ref = merged_stage_logits(loaded.decoder, loaded.model.lm_head, captured, layer, selection,
                                  list(out.token_ids[0]), steps)  # fmt: skip
        for step, (got, want) in enumerate(zip(out.step_logits, ref, strict=True)):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5, msg=lambda m, s=step: f"step {s}: {m}")
        outputs[mix] = out.step_logits[0]
    assert (outputs[True] - outputs[False]).abs().max() > 1e-4  # the merged levels matter here
