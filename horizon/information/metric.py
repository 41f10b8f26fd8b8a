"""Visual-token information (the paper, Sec. 3.2, Eq. 2-6), batched.

At layer i (0 = before the decoder), ``p_k`` is the probability of the answer token ``y`` at the last prompt
position when only visual token k survives from layer i on, ``p_text`` the same with no visual token, and
``I_i(V_k) = p_k - p_text``. One unpruned forward keeps the state entering every requested layer (the shared
prefix); at each layer the ``N_v + 1`` suffix runs (each candidate token, plus text only) go through layers
i..L-1 as batches of ``chunk`` rows.

Two ways to take the other visual tokens away (``mode``):

* ``remove`` (default): physically dropped, the survivors keep their original positions (the paper's
  "remove"; FastV/DART's convention). A suffix row holds the text rows plus one visual row; the text-only
  run is one more row whose visual slot is hidden by the padding mask.
* ``zero``: the paper's literal Eq. 2-3, the hidden states of the other visual tokens set to 0 at layer i
  and carried through the remaining layers (a zero state still takes attention mass after the norm; Qwen's
  qkv biases give it non-zero keys), so every row is the whole prompt.

:func:`information_naive` computes the same numbers one token at a time through the engine (a full pruned
prefill per candidate, schedule ``oracle@i:#1`` with a one-hot score, and ``vtw@i`` for ``p_text``); tests
check the two agree and ``horizon bench info`` prints the speed ratio.

**Windows** (``window`` = s > 1, the authors' release: ``SIZE=2`` on LLaVA's 24x24 grid): the visual grid
(:func:`visual_grid`, row-major: token ``r * cols + c`` sits at row r, column c) is tiled by s x s windows,
numbered row-major (window ``(r // s) * (cols // s) + c // s``); each suffix row keeps one whole window
(its s*s tokens, original positions) and every token of the window gets the window's value, so the map stays
per token. The release numbers windows by 1-based column x and row y, token
``(x-1)*s + (y-1)*s*24 + i*24 + j``: the same sets of tokens. :func:`windows` gives the tiling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
from transformers.cache_utils import DynamicCache

from horizon.engine.layers import decoder_span
from horizon.engine.state import Snapshot
from horizon.engine.sweep import unpruned_snapshots
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.schedule import Keep, Schedule, Stage

MODES = ("remove", "zero")
CHUNK_TOKENS = 8192  # default batch size of the suffix runs, in tokens


@dataclass(frozen=True)
class InformationMap:
    """One sample's information at some layers: ``p_keep[l, k]`` and ``p_text[l]`` at ``layers[l]``."""

    layers: tuple[int, ...]
    answer_token: int
    p_full: float  # probability of y with every visual token (the unpruned model)
    p_text: torch.Tensor  # (n_layers,) float32
    p_keep: torch.Tensor  # (n_layers, Nv) float32
    mode: str
    grid: tuple[int, int] | None  # (rows, cols) of the visual tokens as an image, where known
    window: int = 1  # side of the square windows kept together (1: one token per suffix run)

    @cached_property
    def information(self) -> torch.Tensor:
        """(n_layers, Nv): I_i(V_k) = p_k - p_text (Eq. 6)."""
        return self.p_keep - self.p_text[:, None]

    def at(self, layer: int) -> torch.Tensor:
        """(Nv,) information at ``layer``."""
        if layer not in self.layers:
            raise ValueError(f"layer {layer} was not measured (measured: {list(self.layers)})")
        return self.information[self.layers.index(layer)]


def check_layers(layers: Sequence[int], n_layers: int) -> tuple[int, ...]:
    """Sorted unique layers in 0..L-1 (0 = before the decoder), or a ValueError naming the bad one."""
    out = sorted(set(layers))
    bad = [i for i in out if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n_layers]
    if bad or not out:
        raise ValueError(f"layers {bad or list(layers)} must be integers in 0..{n_layers - 1} (0 = before the decoder)")
    return tuple(out)


def visual_grid(prompt: Prompt) -> tuple[int, int] | None:
    """The visual tokens' (rows, cols) as laid out in the image: Qwen's merged grid, or a square count."""
    thw = prompt.inputs.get("image_grid_thw")
    n = prompt.n_visual
    if thw is not None:
        t, h, w = (int(x) for x in thw[0])
        if t == 1 and (h // 2) * (w // 2) == n:
            return h // 2, w // 2
    side = math.isqrt(n)
    return (side, side) if side * side == n else None


def windows(grid: tuple[int, int] | None, n_visual: int, window: int) -> torch.Tensor:
    """(n_windows, window**2) long: the visual tokens of each ``window`` x ``window`` window of the row-major
    ``grid``, windows row-major and tokens row-major inside each; ``window`` 1 is every token alone (any grid).
    A window that does not tile the grid, or a grid that is not known, is a ValueError saying what is allowed."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window {window!r} must be a whole number >= 1 (the side of a square of visual tokens)")
    if window == 1:
        return torch.arange(n_visual)[:, None]
    if grid is None or grid[0] * grid[1] != n_visual:
        raise ValueError(f"window {window} needs the visual tokens' grid, and these {n_visual} visual tokens have "
                         "none (not a square count nor one Qwen image grid): only window 1 is allowed")  # fmt: skip
    rows, cols = grid
    if rows % window or cols % window:
        allowed = [s for s in range(1, min(rows, cols) + 1) if rows % s == 0 and cols % s == 0]
        raise ValueError(f"window {window} does not tile the {rows}x{cols} visual grid: "
                         f"allowed windows divide both sides ({', '.join(map(str, allowed))})")  # fmt: skip
    tokens = torch.arange(n_visual).reshape(rows // window, window, cols // window, window)
    return tokens.permute(0, 2, 1, 3).reshape(-1, window * window)


def window_of(groups: torch.Tensor) -> torch.Tensor:
    """(Nv,) long: the window (row of ``groups``, from :func:`windows`) holding each visual token."""
    out = torch.empty(groups.numel(), dtype=torch.long)
    out[groups.flatten()] = torch.arange(groups.shape[0]).repeat_interleave(groups.shape[1])
    return out


def oracle_scores(info: InformationMap, layer: int) -> torch.Tensor:
    """(Nv,) scores whose stable descending order is the information oracle's ranking at ``layer``.

    Window 1: the information itself. Window s > 1: whole windows by their value p_keep (the release ranks
    by the raw p, the same order as p - p_text), ties to the lower window, then token order inside a window,
    so a keep that is a multiple of s*s keeps whole windows even where two windows tie exactly."""
    if info.window == 1:
        return info.at(layer)
    n = info.p_keep.shape[1]
    groups = windows(info.grid, n, info.window)
    value = info.p_keep[info.layers.index(layer)][groups[:, 0]]  # (n_windows,)
    dev = value.device  # the map's (a CUDA map stays on its GPU)
    rank = torch.empty(groups.shape[0], dtype=torch.long, device=dev)
    rank[torch.sort(value, descending=True, stable=True).indices] = torch.arange(groups.shape[0], device=dev)
    return -(rank[window_of(groups).to(dev)] * n + torch.arange(n, device=dev)).float()  # exact in float32 to 2**24


@torch.inference_mode()
def information_map(
    loaded: LoadedModel,
    prompt: Prompt,
    answer_token: int,
    layers: Sequence[int],
    *,
    mode: str = "remove",
    chunk: int | None = None,
    progress: Callable[[int], None] | None = None,
    window: int = 1,
) -> InformationMap:
    """The information of every visual token of ``prompt`` (one sample) at each of ``layers``; ``chunk`` rows
    per batch (default: as many as fit ``CHUNK_TOKENS`` tokens); ``window`` s > 1 keeps one s x s window of
    the visual grid per suffix run and gives each token its window's value (:func:`windows`)."""
    if mode not in MODES:
        raise ValueError(f"information mode {mode!r} is not one of {', '.join(MODES)}")
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if prompt.batch != 1:
        raise ValueError(f"information is measured one sample at a time; the prompt holds {prompt.batch}")
    vocab = loaded.model.lm_head.out_features
    if not 0 <= answer_token < vocab:
        raise ValueError(f"answer token {answer_token} is outside the vocabulary 0..{vocab - 1}")
    layers = check_layers(layers, loaded.n_layers)
    grid = visual_grid(prompt)
    groups = windows(grid, prompt.n_visual, window)  # (n_windows, s*s)
    of = window_of(groups)
    p_full, snapshots, kv = _prefix(loaded, prompt, answer_token, layers)
    p_text, p_keep = [], []
    for i in layers:
        probs = _suffix_probs(loaded, snapshots[i], kv, answer_token, mode, chunk, groups)  # (n_windows + 1,)
        p_keep.append(probs[:-1][of.to(probs.device)])
        p_text.append(probs[-1])
        if progress is not None:
            progress(i)
    return InformationMap(layers, answer_token, p_full, torch.stack(p_text), torch.stack(p_keep), mode, grid, window)


KV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer (keys, values), (1, KV, S, hd) each
Rows = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # suffix rows: hidden, cos, sin, 2-D mask
# DeepStack in the suffix rows: each row's prompt row (after the shared text) and whether it still receives its
# injections (a removed or zeroed visual token does not: removing it also removes its later DeepStack features)
Injected = tuple[torch.Tensor, torch.Tensor]


def _prefix(
    loaded: LoadedModel, prompt: Prompt, y: int, layers: Sequence[int]
) -> tuple[float, dict[int, Snapshot], KV]:
    """One unpruned forward keeping the state entering each of ``layers`` and every layer's keys/values;
    returns p_full, the states and the keys/values."""
    out, snapshots = unpruned_snapshots(loaded, prompt, layers, use_cache=True)
    kv = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
    return float(out.logits[0, -1].float().softmax(-1)[y]), snapshots, kv


def _suffix_probs(
    loaded: LoadedModel, snap: Snapshot, kv: KV, y: int, mode: str, chunk: int | None, groups: torch.Tensor
) -> torch.Tensor:
    """p(y) for each window of visual tokens (``groups``, (n_windows, w)) alone, then for the text alone:
    (n_windows + 1,) float32.

    The text rows before the first visual token never attend to a visual token, so their keys/values in
    layers i.. are the unpruned run's: they are shared by every row as a cache, and only the rows from the
    first visual token on are computed per candidate."""
    seq = snap.seq
    visual = seq.visual[0]  # (S,) bool
    vis_rows = visual.nonzero().squeeze(-1)  # (Nv,)
    n_pre = int(vis_rows[0])
    groups = groups.to(vis_rows.device)
    if n_pre == 0:
        raise ValueError("the prompt starts with a visual token; the information metric needs text before it")
    pad = torch.ones(visual.shape, dtype=torch.bool, device=visual.device) if seq.pad is None else seq.pad[0].bool()
    h, cos, sin = seq.h[0, n_pre:], seq.cos[0, n_pre:], seq.sin[0, n_pre:]  # the rows after the shared text
    row_len = int((~visual[n_pre:]).sum()) + groups.shape[1] if mode == "remove" else h.shape[0]
    deep = [level[0, n_pre:] for level in snap.deepstack]  # (S - n_pre, D) each: DeepStack's levels (Qwen3-VL)
    chunk = chunk or max(1, CHUNK_TOKENS // row_len)
    n_groups, out = groups.shape[0], []
    for start in range(0, n_groups + 1, chunk):
        candidates = torch.arange(start, min(start + chunk, n_groups + 1), device=vis_rows.device)  # (b,)
        if mode == "remove":
            rows, injected = _removed(h, cos, sin, pad[n_pre:], visual[n_pre:], vis_rows - n_pre, groups, candidates)
        else:
            rows, injected = _zeroed(h, cos, sin, pad[n_pre:], vis_rows - n_pre, groups, candidates)
        shared = pad[:n_pre].long().expand(candidates.numel(), -1)  # (b, n_pre)
        out.append(_run_rest(loaded, rows, shared, kv, snap.layer, y, deep, injected))
    return torch.cat(out)


def _removed(
    h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, pad: torch.Tensor, visual: torch.Tensor,
    vis_rows: torch.Tensor, groups: torch.Tensor, candidates: torch.Tensor,
) -> tuple[Rows, Injected]:  # fmt: skip
    """Rows [text + the w visual tokens of window g] for each candidate g; candidate n_windows is text only
    (it borrows window 0's slots, masked); with each row's source row (every row keeps its injections: the
    removed tokens are not there)."""
    text_rows = (~visual).nonzero().squeeze(-1)  # (nt,)
    n_groups, b = groups.shape[0], candidates.numel()
    chosen = vis_rows[groups[candidates.clamp(max=n_groups - 1)]]  # (b, w)
    idx = torch.cat([text_rows.expand(b, -1), chosen], 1).sort(1).values  # (b, nt + w)
    row_pad = pad[idx].long()
    row_pad = torch.where(visual[idx] & (candidates[:, None] == n_groups), 0, row_pad)
    return (h[idx], cos[idx], sin[idx], row_pad), (idx, torch.ones_like(idx, dtype=torch.bool))  # (b, nt + w, ...)


def _zeroed(
    h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, pad: torch.Tensor, vis_rows: torch.Tensor,
    groups: torch.Tensor, candidates: torch.Tensor,
) -> tuple[Rows, Injected]:  # fmt: skip
    """The whole prompt per candidate window, every other visual state zeroed (candidate n_windows: all); a zeroed
    token receives no later DeepStack injection (it stands for a removed one)."""
    b, S = candidates.numel(), h.shape[0]
    rows = h.expand(b, -1, -1).clone()  # (b, S, D)
    drop = torch.ones(b, vis_rows.numel(), dtype=torch.bool, device=h.device)  # (b, Nv)
    keep = candidates < groups.shape[0]
    drop[keep.nonzero().squeeze(-1)[:, None], groups[candidates[keep]]] = False
    zero = torch.zeros(b, S, dtype=torch.bool, device=h.device)
    zero[:, vis_rows] = drop
    rows[zero] = 0
    source = torch.arange(S, device=h.device).expand(b, -1)
    return (rows, cos.expand(b, -1, -1), sin.expand(b, -1, -1), pad.long().expand(b, -1)), (source, ~zero)


def _run_rest(loaded: LoadedModel, rows: Rows, shared_pad: torch.Tensor, kv: KV, start: int, y: int,
              deep: Sequence[torch.Tensor] = (), injected: Injected | None = None) -> torch.Tensor:  # fmt: skip
    """Layers ``start..L-1`` on the rows after the shared text (whose keys/values come from ``kv``), then
    p(y) at the last position: (b,) float32. DeepStack (``deep``: level k per row after the shared text, zero on
    text rows): after each layer k >= ``start`` with a level, level k joins the rows ``injected`` says receive it."""
    dec = loaded.decoder
    h, cos, sin, row_pad = rows
    b, n_pre = h.shape[0], shared_pad.shape[1]
    cache = DynamicCache(config=dec.config)
    for j in range(start, len(dec.layers)):
        keys, values = kv[j]  # (1, KV, S, hd)
        cache.layers[j].update(keys[:, :, :n_pre].expand(b, -1, -1, -1), values[:, :, :n_pre].expand(b, -1, -1, -1))  # type: ignore[union-attr]
    pad = torch.cat([shared_pad, row_pad], 1)
    if start >= len(deep) or injected is None:
        h = decoder_span(dec, h, (cos, sin), pad, cache, range(start, len(dec.layers)))  # the engine's layer loop
    else:  # the DeepStack layers one at a time, each level added after its layer, then the rest
        source, live = injected
        for k in range(start, len(deep)):
            h = decoder_span(dec, h, (cos, sin), pad, cache, range(k, k + 1))
            h = torch.where(live[..., None], h + deep[k].to(h.dtype)[source], h)
        h = decoder_span(dec, h, (cos, sin), pad, cache, range(len(deep), len(dec.layers)))
    logits = loaded.model.lm_head(dec.norm(h[:, -1]))  # (b, V)
    return logits.float().softmax(-1)[:, y]


@torch.inference_mode()
def information_naive(
    loaded: LoadedModel,
    prompt: Prompt,
    answer_token: int,
    layers: Sequence[int],
    tokens: Sequence[int] | None = None,
    window: int = 1,
) -> InformationMap:
    """The same map one window at a time: a full pruned prefill through the engine per candidate and layer
    (``oracle@i:#w`` with a score that is one on the window's w tokens and zero elsewhere keeps that window;
    ``vtw@i`` keeps none). Physical removal only. ``tokens`` limits the candidates to the windows holding
    them (the other tokens are NaN)."""
    from horizon.engine.run import run

    layers = check_layers(layers, loaded.n_layers)
    n_visual, grid = prompt.n_visual, visual_grid(prompt)
    groups = windows(grid, n_visual, window)
    wanted = sorted({int(g) for g in window_of(groups)[list(range(n_visual) if tokens is None else tokens)]})
    full = run(loaded, prompt, Schedule(), max_new_tokens=1, stop_at_eos=False)
    keep = Keep(groups.shape[1], absolute=True)
    p_text, p_keep = [], []
    for i in layers:
        text = run(loaded, prompt, Schedule((Stage("vtw", i),)), max_new_tokens=1, stop_at_eos=False)
        p_text.append(text.first_token_probs[0, answer_token])
        row = torch.full((n_visual,), float("nan"))
        for g in wanted:
            one_hot = torch.zeros(1, n_visual)
            one_hot[0, groups[g]] = 1.0
            out = run(loaded, prompt, Schedule((Stage("oracle", i, keep),)), max_new_tokens=1,
                      stop_at_eos=False, information={i: one_hot})  # fmt: skip
            row[groups[g]] = out.first_token_probs[0, answer_token]
        p_keep.append(row)
    p_full = float(full.first_token_probs[0, answer_token])
    return InformationMap(
        layers, answer_token, p_full, torch.stack(p_text), torch.stack(p_keep), "remove", grid, window
    )


def oracle_information(
    loaded: LoadedModel, prompt: Prompt, answer_token: int, layers: Sequence[int], **kwargs: object
) -> dict[int, torch.Tensor]:
    """{layer: (1, Nv)} information of one sample's visual tokens, as the oracle method reads it (with a
    ``window`` > 1 among ``kwargs``, the window ranking of :func:`oracle_scores`)."""
    info = information_map(loaded, prompt, answer_token, layers, **kwargs)  # type: ignore[arg-type]
    return {layer: oracle_scores(info, layer)[None] for layer in info.layers}
