"""The token view's fields equal what the stock model computes (eager attention, cache, hidden states)."""

from __future__ import annotations

import pytest
import torch

from horizon.engine.run import prepare, run
from horizon.engine.views import LazyTokenView
from horizon.images import demo_image
from horizon.methods import METHODS, Method
from horizon.schedule import Keep, Schedule, Stage


@pytest.fixture
def probe(monkeypatch):
    """Registers a method 'probe' for one test; it records the view and reads the fields asked for."""
    seen: dict[str, object] = {}

    def make(fields: tuple[str, ...]):
        def select(view: LazyTokenView, keep: int, generators: list) -> torch.Tensor:
            seen["view"] = view
            for f in fields:
                seen[f] = getattr(view, f)
            return torch.arange(keep).expand(view.batch, keep)

        needs = frozenset(f if f != "visual_hidden" else "hidden" for f in fields)
        monkeypatch.setitem(
            METHODS._items, "probe", Method("probe", select, needs, "original", True, "test", min_layer=1)
        )
        return seen

    return make


def _stock(loaded, prompt, **kw):
    loaded.adapter.reset(loaded.model)
    with torch.inference_mode():
        return loaded.model(**prompt.inputs, **kw)


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl", "tiny-qwen3-vl"])
def test_view_fields_match_stock(tiny_model, probe, name):
    K = 4  # past Qwen3-VL's DeepStack layers (0-2): the stock hidden states it reports are its layers' outputs
    fields = ("prev_last_query_attention", "last_query_attention", "prev_keys", "embeddings", "visual_hidden")
    seen = probe(fields)
    eager = tiny_model(name, "eager")
    prompt = prepare(eager, [demo_image()], ["What is written on the sign?"])
    out = run(eager, prompt, Schedule((Stage("probe", K, Keep(1.0)),)), max_new_tokens=1)
    stock = _stock(eager, prompt, output_attentions=True, output_hidden_states=True, use_cache=True)
    view: LazyTokenView = seen["view"]  # type: ignore[assignment]
    torch.testing.assert_close(view.hidden, stock.hidden_states[K], atol=1e-6, rtol=1e-6)
    for field, layer in (("prev_last_query_attention", K - 1), ("last_query_attention", K)):
        want = stock.attentions[layer][:, :, -1].mean(1)  # (B, S) eager attention of the last query
        torch.testing.assert_close(seen[field], want, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(seen["prev_keys"], stock.past_key_values.layers[K - 1].keys, atol=1e-6, rtol=1e-6)
    vis = prompt.visual_mask
    torch.testing.assert_close(seen["embeddings"], stock.hidden_states[0][vis].view(1, -1, view.hidden.shape[-1]))
    torch.testing.assert_close(seen["visual_hidden"], stock.hidden_states[K][vis].view(1, -1, view.hidden.shape[-1]))
    assert view.spans["visual"].shape[1] == prompt.n_visual
    assert view.spans["text"].shape[1] + prompt.n_visual == prompt.inputs["input_ids"].shape[1]
    assert out.stages[0].inputs_used == tuple(sorted({"hidden", *fields} - {"visual_hidden"}))


def test_view_is_lazy(tiny_model, probe):
    seen = probe(("normed_hidden",))
    loaded = tiny_model("tiny-llava")
    prompt = prepare(loaded, [demo_image()], ["q?"])
    out = run(loaded, prompt, Schedule((Stage("probe", 2, Keep(0.5)),)), max_new_tokens=1)
    assert out.stages[0].inputs_used == ("normed_hidden",)
    view: LazyTokenView = seen["view"]  # type: ignore[assignment]
    assert "prev_keys" not in vars(view) and "embeddings" not in vars(view)
    torch.testing.assert_close(seen["normed_hidden"], loaded.decoder.norm(view.hidden))


def test_previous_layer_needs_layer_one(tiny_model, probe):
    probe(("prev_keys",))
    loaded = tiny_model("tiny-llava")
    prompt = prepare(loaded, [demo_image()], ["q?"])
    with pytest.raises(ValueError, match="prunes at layer >= 1"):
        run(loaded, prompt, Schedule((Stage("probe", 0, Keep(0.5)),)), max_new_tokens=1)


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl", "tiny-qwen3-vl"])
def test_query_row_attention_equals_eager_rows(tiny_model, monkeypatch, name):
    seen: dict[str, torch.Tensor] = {}
    inside = {"tiny-qwen3-vl": 100}.get(name, 200)  # a row inside the demo image's tokens
    S_rows = torch.tensor([[5, inside, -1]])  # a row before, inside and after the image (last: the prompt end)

    def select(view: LazyTokenView, keep: int, generators: list) -> torch.Tensor:
        rows = S_rows.clone()
        rows[rows < 0] += view.seq_len
        seen["rows"], seen["attn"] = rows, view.prev_attention(rows)
        return torch.arange(keep).expand(view.batch, keep)

    monkeypatch.setitem(
        METHODS._items, "rows", Method("rows", select, frozenset({"prev_attention"}), "original", False, "t", 1)
    )
    eager = tiny_model(name, "eager")
    prompt = prepare(eager, [demo_image()], ["What is written on the sign?"])
    run(eager, prompt, Schedule((Stage("rows", 4, Keep(1.0)),)), max_new_tokens=1)
    attn = _stock(eager, prompt, output_attentions=True).attentions[3]  # (1, H, S, S)
    want = attn[0][:, seen["rows"][0]].mean(0)  # (Q, S)
    torch.testing.assert_close(seen["attn"][0], want, atol=1e-6, rtol=1e-5)
