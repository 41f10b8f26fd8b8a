"""The pruned decoder loop, installed on one model instance's text decoder.

``PrunedDecoder(decoder, mrope=...)`` (for a loaded model: ``PrunedDecoder.of(loaded)``) replaces ``decoder.forward`` (an instance attribute, never the
class) with a loop over the stock decoder layers that drops visual tokens at the stages of the active
:class:`~horizon.engine.plan.RunPlan`. The stock outer model keeps doing the vision tower, feature
scatter, Qwen's 3-D positions and the lm head. The transformers internals it relies on: docs/engine.md.

* at a stage, gather the kept rows of hidden states, (cos, sin), positions and the padding mask; the
  rope positions stay the original ones unless the stage re-indexes them (1-D RoPE only);
* masks are rebuilt per distinct length with ``create_causal_mask(..., layer_idx=i)``, never with
  gapped ``position_ids`` (which would turn on packed-sequence masking);
* each layer's KV cache keeps its own length; decoding continues at the original positions (minus the
  shift of re-indexed segments).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from transformers.cache_utils import DynamicCache
from transformers.modeling_outputs import MoeModelOutputWithPast

from horizon.engine.layers import causal_mask, decoder_layer, decoder_span
from horizon.engine.plan import PlanError, RunPlan, Trace
from horizon.engine.sequence import Sequence
from horizon.engine.state import RunState, Segment, Snapshot
from horizon.engine.views import LazyTokenView
from horizon.methods import Selection, check_selection


class PrunedDecoder:
    """Installs the pruned loop on ``decoder`` (a LlamaModel or Qwen2_5_VLTextModel instance)."""

    def __init__(
        self, decoder: Any, *, mrope: bool, rope_positions: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> None:
        """``rope_positions``: the family's reading of the position ids its outer model passes (the adapter's
        :meth:`~horizon.models.adapter.Adapter.rope_positions`; default: as given)."""
        layer_types = getattr(decoder.config, "layer_types", None) or []
        if any(t != "full_attention" for t in layer_types):
            raise ValueError(f"sliding-window layers are not supported (layer_types={sorted(set(layer_types))})")
        self.decoder = decoder
        self.mrope = mrope
        self._rope_positions = rope_positions
        self._state: RunState | None = None
        self._installed = False

    @classmethod
    def of(cls, loaded: Any) -> PrunedDecoder:
        """The pruned loop for a loaded model (its decoder, its family's positions)."""
        adapter = loaded.adapter
        return cls(loaded.decoder, mrope=adapter.mrope, rope_positions=adapter.rope_positions)

    # -- installation -------------------------------------------------------------------------------
    def install(self) -> PrunedDecoder:
        if "forward" in vars(self.decoder):
            raise RuntimeError("the decoder's forward is already replaced on this instance")
        self.decoder.forward = types.MethodType(self._forward, self.decoder)
        self._installed = True
        return self

    def remove(self) -> None:
        if self._installed:
            del self.decoder.forward
            self._installed = False
        self._state = None

    def __enter__(self) -> PrunedDecoder:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # -- one run ------------------------------------------------------------------------------------
    def begin(self, plan: RunPlan, *, snapshot_layers: frozenset[int] = frozenset()) -> None:
        """Start a run of ``plan``; its prefill keeps the state entering each of ``snapshot_layers``."""
        self._state = RunState(plan, snapshot_layers)

    def snapshots(self) -> dict[int, Snapshot]:
        """The states the active run's prefill kept (see :meth:`begin`)."""
        return dict(self._require_state().snapshots)

    def finish(self) -> Trace:
        if self._state is None:
            raise RuntimeError("finish() without begin()")
        trace, self._state = self._state.trace, None
        return trace

    def next_position_ids(self, steps: int = 1) -> torch.Tensor:
        """Position ids for the next ``steps`` decoded tokens: (B, steps), or (3, B, steps) for M-RoPE."""
        state = self._require_state()
        if state.next_pos is None:
            raise RuntimeError("no prefill has run")
        pos = state.next_pos + torch.arange(steps, device=state.next_pos.device)  # (R, B, steps)
        return pos if self.mrope else pos[0]

    def _require_state(self) -> RunState:
        if self._state is None:
            raise RuntimeError("the pruned decoder has no active run: call begin(plan) first")
        return self._state

    # -- the forward --------------------------------------------------------------------------------
    def _rope(self, h: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos, sin = self.decoder.rotary_emb(h, pos if self.mrope else pos[0])
        return cos, sin  # (B, S, hd) each

    def _forward(
        self,
        dec: Any,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs: Any,
    ) -> MoeModelOutputWithPast:
        state = self._require_state()
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give exactly one of input_ids or inputs_embeds")
        h = dec.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds  # (B, S, D)
        use_cache = dec.config.use_cache if use_cache is None else use_cache
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache(config=dec.config)
        pos = self._positions(state, h, position_ids)  # (R, B, S)
        deepstack = self._deepstack(h, kwargs, prefill=state.seen == 0)
        if state.seen == 0:
            h = self._prefill(state, h, pos, attention_mask, past_key_values, use_cache, kwargs, deepstack)
        else:
            h = self._decode(state, h, pos, attention_mask, past_key_values, use_cache, kwargs)
        state.seen += pos.shape[-1]
        state.next_pos = pos[..., -1:] + 1
        # the MoE output class (router_logits None): BaseModelOutputWithPast's fields, and what a mixture-of-experts
        # outer model (Qwen3-VL-MoE) reads from its text model's output; the dense models read the same fields
        return MoeModelOutputWithPast(last_hidden_state=dec.norm(h), past_key_values=past_key_values)

    @staticmethod
    def _deepstack(h: torch.Tensor, kwargs: dict[str, Any], *, prefill: bool) -> tuple[torch.Tensor, ...]:
        """DeepStack's levels (Qwen3-VL), taken out of ``kwargs`` so that no decoder layer receives them: the outer
        model hands ``deepstack_visual_embeds`` (per level, the visual rows' features, row-major over the batch) with
        ``visual_pos_masks`` (B, S) for the prefill; each level becomes (B, S, D), zero on text rows."""
        masks, levels = kwargs.pop("visual_pos_masks", None), kwargs.pop("deepstack_visual_embeds", None)
        if levels is None:
            return ()
        if not prefill or masks is None:
            raise ValueError("DeepStack features outside the prefill (or without visual_pos_masks): not supported")
        masks = masks.to(h.device)
        out = []
        for level in levels:
            full = h.new_zeros(h.shape)
            full[masks] = level.to(h.device, h.dtype)
            out.append(full)
        return tuple(out)

    def _positions(self, state: RunState, h: torch.Tensor, position_ids: torch.Tensor | None) -> torch.Tensor:
        B, S, _ = h.shape
        if position_ids is None:
            start = 0 if state.next_pos is None else state.next_pos
            base = torch.arange(S, device=h.device).view(1, 1, S).expand(3 if self.mrope else 1, B, S)
            return base + start
        if position_ids.ndim == 2:  # (B, S): one row, expanded to 3 for M-RoPE
            return position_ids[None].expand(3 if self.mrope else 1, B, S)
        return position_ids if self._rope_positions is None else self._rope_positions(position_ids)

    def _prefill(
        self,
        state: RunState,
        h: torch.Tensor,
        pos: torch.Tensor,
        attention_mask: torch.Tensor | None,
        cache: Any,
        use_cache: bool,
        kwargs: dict[str, Any],
        deepstack: tuple[torch.Tensor, ...] = (),
    ) -> torch.Tensor:
        plan, trace = state.plan, state.trace
        B, S, _ = h.shape
        if plan.visual_mask.shape != (B, S):
            raise ValueError(f"visual mask {tuple(plan.visual_mask.shape)} does not match the prompt ({B}, {S})")
        trace.prompt_len = S
        state.prompt_pad = (
            attention_mask if attention_mask is not None else torch.ones(B, S, dtype=torch.long, device=h.device)
        )
        state.padded = attention_mask is not None and not bool(attention_mask.all())  # one host read per run
        cos, sin = self._rope(h, pos)
        rows = torch.arange(S, device=h.device).expand(B, S)
        seq = Sequence(h, cos, sin, pos, rows, plan.visual_mask.to(h.device), attention_mask, deepstack)
        shift = torch.zeros(pos.shape[:2], dtype=pos.dtype, device=pos.device)  # (R, B)
        start = Snapshot(0, seq, shift, None, h, plan.n_visual, deepstack)
        return self._layers(state, start, cache, use_cache, kwargs)

    def _layers(self, state: RunState, at: Snapshot, cache: Any, use_cache: bool, kwargs: dict[str, Any]) -> torch.Tensor:
        """Run decoder layers ``at.layer..L-1`` from the state ``at`` (its sequence is updated in place), applying
        the plan's stages; returns the last hidden state."""
        dec, plan, trace = self.decoder, state.plan, state.trace
        seq, start, prev_h, embeddings, shift, n_visual = at.seq, at.layer, at.prev_h, at.embeddings, at.shift, at.n_visual
        stage_at = {stage.layer: k for k, stage in enumerate(plan.schedule.stages)}
        if state.prompt_pad is None:
            raise RuntimeError("the run's prompt padding mask is not set (prefill or resume sets it)")
        prompt_pad, mask = state.prompt_pad, None
        for i in range(start, len(dec.layers)):
            if i in state.snapshot_layers:  # references only: later steps replace tensors, never mutate them
                state.snapshots[i] = Snapshot(i, replace(seq), shift.clone(), prev_h, embeddings, n_visual, at.deepstack)
            if i in stage_at or i == start:
                if i in stage_at:
                    shift = self._apply_stage(state, stage_at[i], i, seq, prev_h, embeddings, shift)
                    n_visual = plan.counts[stage_at[i]] + trace.merged[-1]  # on the host: no device sync
                state.segments.append(Segment(i, seq.prompt_pad(prompt_pad), shift.clone()))
                mask = causal_mask(dec, seq.h, seq.pad, cache, i)
            trace.visual_per_layer.append(n_visual)
            trace.tokens_per_layer.append(int(seq.h.shape[1]))
            prev_h = seq.h
            seq.h = decoder_layer(dec, i, seq.h, mask, (seq.cos, seq.sin), cache, use_cache, **kwargs)
            if seq.deep:  # DeepStack: after layer i, level i joins the visual rows still there
                seq.add_to_prompt_visual()
        return seq.h

    def resume(self, plan: RunPlan, snapshot: Snapshot, cache: Any, prompt_pad: torch.Tensor) -> torch.Tensor:
        """Prefill from ``snapshot`` (taken at layer i of an unpruned run) under ``plan``, whose first stage is
        at layer >= i; ``cache`` already holds layers 0..i-1. Returns the normed last hidden state and leaves
        the run active for decoding."""
        if plan.schedule.stages and plan.schedule.stages[0].layer < snapshot.layer:
            raise ValueError(f"{plan.schedule} prunes before the snapshot's layer {snapshot.layer}")
        state = RunState(plan)
        self._state = state
        seq = replace(snapshot.seq)
        B, S = seq.rows.shape
        state.prompt_pad = prompt_pad
        state.padded = not bool(prompt_pad.all())  # one host read per run
        state.trace.prompt_len = S
        if snapshot.layer > 0:
            state.segments.append(Segment(0, prompt_pad, torch.zeros_like(snapshot.shift)))
        state.trace.visual_per_layer += [plan.n_visual] * snapshot.layer
        state.trace.tokens_per_layer += [S] * snapshot.layer
        h = self._layers(state, replace(snapshot, seq=seq), cache, True, {})
        state.seen = S
        state.next_pos = snapshot.seq.pos[..., -1:] + 1
        return self.decoder.norm(h)

    def select_at(self, plan: RunPlan, snapshot: Snapshot) -> torch.Tensor:
        """The prompt rows (B, keep) that ``plan``'s single stage keeps at the snapshot's layer (taken in an
        unpruned run), computed without running any layer; -1 marks a merged token."""
        stages = plan.schedule.stages
        if len(stages) != 1 or stages[0].layer != snapshot.layer:
            raise ValueError(f"select_at needs one stage at layer {snapshot.layer}, got {plan.schedule}")
        state = RunState(plan)
        self._apply_stage(state, 0, snapshot.layer, replace(snapshot.seq), snapshot.prev_h, snapshot.embeddings,
                          snapshot.shift)  # fmt: skip
        return state.trace.kept[0]

    def _apply_stage(
        self,
        state: RunState,
        k: int,
        i: int,
        seq: Sequence,
        prev_h: torch.Tensor | None,
        embeddings: torch.Tensor,
        shift: torch.Tensor,
    ) -> torch.Tensor:
        """Run stage ``k`` at layer ``i`` on ``seq`` in place; returns the new position shift."""
        plan = state.plan
        view = LazyTokenView(
            decoder=self.decoder,
            layer=i,
            hidden=seq.h,
            prev_hidden=prev_h,
            cos=seq.cos,
            sin=seq.sin,
            pad=None if seq.pad is None else seq.pad.bool(),
            visual_rows=torch.stack([r.nonzero().squeeze(-1) for r in seq.visual]),
            visual_index=torch.stack([ix[r] for ix, r in zip(seq.rows, seq.visual, strict=True)]),
            input_embeddings=embeddings,
            n_visual_original=plan.n_visual,
            rows=seq.rows,
            prompt_visual_mask=plan.visual_mask.to(seq.h.device),
            guide=plan.guide_importance,
            information=None if plan.information is None else plan.information.get(i),
            grid=plan.grid,
            tower=plan.tower,
        )
        keep_rows, selection = self._select(state, k, view)  # (B, S') rows of the current sequence
        merged, keep = selection.merged, selection.keep.shape[1]
        deep = self._new_levels(seq, view.visual_rows, selection)
        if keep_rows.shape[1] < seq.h.shape[1]:  # keep-all is the identity: nothing to gather
            seq.gather(keep_rows)
        if selection.values is not None and selection.replaced is not None:
            seq.replace_visual(selection.values, selection.replaced, None if deep is None else tuple(
                level[:, :keep] for level in deep))  # fmt: skip
        if merged is not None and merged.shape[1]:
            seq.insert_after_visual(merged, None if deep is None else tuple(level[:, keep:] for level in deep))
        if plan.positions[k] == "reindex":
            new_pos = self._reindexed(seq.pos, seq.pad)
            shift = shift + seq.pos[..., -1] - new_pos[..., -1]
            seq.pos = new_pos
            seq.cos, seq.sin = self._rope(seq.h, seq.pos)
        elif merged is not None and merged.shape[1]:
            seq.cos, seq.sin = self._rope(seq.h, seq.pos)
        return shift

    @staticmethod
    def _new_levels(seq: Sequence, visual_rows: torch.Tensor, selection: Selection) -> tuple[torch.Tensor, ...] | None:
        """DeepStack: the pending levels of every visual token the stage outputs (B, keep + m, D each), formed from the
        view's visual rows ``visual_rows`` with ``selection.mix`` as their states were (docs/engine.md); None when the
        stage makes no new token, no level is pending or the method gave no mix (its new tokens then receive none)."""
        merged = selection.merged
        new = selection.values is not None or (merged is not None and merged.shape[1] > 0)
        if not new or not seq.deep or selection.mix is None:
            return None
        return seq.visual_levels(visual_rows, selection.mix)

    @staticmethod
    def _reindexed(pos: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        """Contiguous positions 0, 1, ... for the kept rows (R=1), counting real (unpadded) rows only."""
        R, B, S = pos.shape
        if pad is None:
            return torch.arange(S, device=pos.device).expand(R, B, S)
        steps = (pad.long().cumsum(-1) - 1).clamp(min=0)  # (B, S'); padding rows sit at 0
        return steps[None].expand(R, B, S).to(pos.dtype)

    def _select(self, state: RunState, k: int, view: LazyTokenView) -> tuple[torch.Tensor, Selection]:
        """Kept rows of the current sequence (B, S') and the method's checked selection."""
        plan = state.plan
        method, keep = plan.methods[k], plan.counts[k]
        if keep > view.n_visual:
            raise PlanError(f"{plan.schedule.stages[k]} keeps {keep} visual tokens but only {view.n_visual} survive")
        selection = check_selection(
            method.name, method.select(view, keep, plan.generators(k)), view.batch, keep, view.n_visual
        )
        if not method.merges and (selection.merged is not None or selection.values is not None):
            raise RuntimeError(f"method {method.name!r} returned new tokens but does not declare merges=True")
        chosen = selection.keep.to(view.visual_rows.device)
        visual_rows = view.visual_rows.gather(1, chosen)  # (B, keep)
        kept = view.visual_index.gather(1, chosen)  # (B, keep); a replaced token is a new one: -1
        state.trace.kept.append((kept if selection.replaced is None else kept.masked_fill(
            selection.replaced.to(kept.device), -1)).cpu())
        state.trace.merged.append(0 if selection.merged is None else int(selection.merged.shape[1]))
        state.trace.inputs_used.append(tuple(sorted(view.accessed)))
        is_visual = torch.zeros(view.hidden.shape[:2], dtype=torch.bool, device=view.hidden.device)
        is_visual.scatter_(1, view.visual_rows, True)
        keep_mask = ~is_visual
        keep_mask.scatter_(1, visual_rows, True)
        return torch.stack([r.nonzero().squeeze(-1) for r in keep_mask]), selection

    def _decode(
        self,
        state: RunState,
        h: torch.Tensor,
        pos: torch.Tensor,
        attention_mask: torch.Tensor | None,
        cache: Any,
        use_cache: bool,
        kwargs: dict[str, Any],
    ) -> torch.Tensor:
        dec = self.decoder
        P = state.trace.prompt_len
        bounds = [seg.start for seg in state.segments[1:]] + [len(dec.layers)]
        for seg, end in zip(state.segments, bounds, strict=True):
            cos, sin = self._rope(h, pos - seg.shift[..., None])
            pad = None  # an unpadded prompt: decoded tokens attend every row (no mask to inspect per token)
            if attention_mask is not None and state.padded:
                pad = torch.cat([seg.prompt_pad.to(attention_mask.dtype), attention_mask[:, P:]], 1)
            h = decoder_span(dec, h, (cos, sin), pad, cache, range(seg.start, end), use_cache, **kwargs)
        return h
