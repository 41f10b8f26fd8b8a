"""One pass of a prompt under a plan: a (pruned) prefill, then greedy decoding; the unit :func:`run` and
:func:`run_many` both drive.

A :class:`Pass` installs the pruned loop on the model's text decoder for its lifetime (``with Pass(...) as p``)
and owns everything the pass produces: the cache, the last prompt position's logits, the states kept for other
passes to resume from (``snapshot_layers``), its timings and the engine's trace. It starts either with a full
prefill through the stock outer model (:meth:`Pass.prefill`) or from the state an unpruned pass kept at a layer
(:meth:`Pass.resume`, prefix reuse), and ends with :meth:`Pass.decode`, which returns the :class:`Output`.
Timing uses :class:`horizon.engine.timing.Span` (CUDA events on CUDA), so the pass never waits for the device
between its layers.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicCache

from horizon.engine.loop import PrunedDecoder
from horizon.engine.output import Output, stage_records
from horizon.engine.plan import RunPlan
from horizon.engine.state import Snapshot
from horizon.engine.timing import Span
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel

KV = list[tuple[torch.Tensor, torch.Tensor]]  # per decoder layer (keys, values) of a prefill


class Pass:
    """Prefill-then-decode of ``prompt`` under ``plan``; ``eos`` ends an answer (empty: never)."""

    def __init__(
        self,
        loaded: LoadedModel,
        prompt: Prompt,
        plan: RunPlan,
        *,
        eos: torch.Tensor,
        snapshot_layers: frozenset[int] = frozenset(),
    ) -> None:
        self.loaded, self.prompt, self.plan, self.eos = loaded, prompt, plan, eos
        self.snapshot_layers = snapshot_layers
        self._pruner = PrunedDecoder.of(loaded)
        self._cache: Any = None
        self._logits: torch.Tensor | None = None  # (B, V) float32 at the last prompt position
        self._prefill = Span(loaded.device)
        self.snapshots: dict[int, Snapshot] = {}

    def __enter__(self) -> Pass:
        self._pruner.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self._pruner.remove()

    @property
    def logits(self) -> torch.Tensor:
        if self._logits is None:
            raise RuntimeError("the pass has not been prefilled (call prefill() or resume() first)")
        return self._logits

    def prefill(self) -> Pass:
        """The whole prompt through the stock outer model under the plan (vision tower, scatter, positions)."""
        model = self.loaded.model
        self.loaded.adapter.reset(model)
        self._pruner.begin(self.plan, snapshot_layers=self.snapshot_layers)
        self._prefill.start()
        out = model(**self.prompt.inputs, use_cache=True, logits_to_keep=1)
        self._logits = out.logits[:, -1].float()  # (B, V)
        self._prefill.stop()
        self._cache = out.past_key_values
        self.snapshots = self._pruner.snapshots()
        return self

    def prefix_kv(self) -> KV:
        """Every layer's keys and values after the prefill (before decoding appends to them)."""
        if self._cache is None:
            raise RuntimeError("the pass has not been prefilled")
        return [(layer.keys, layer.values) for layer in self._cache.layers]

    def resume(self, snapshot: Snapshot, prefix_kv: KV) -> Pass:
        """Prefill from ``snapshot`` (the state an unpruned pass of the same prompt kept entering its layer), with
        that pass's keys/values for the layers before it; the plan's first stage is at or after that layer."""
        cache = DynamicCache(config=self.loaded.decoder.config)
        for j in range(snapshot.layer):  # the shared prefix layers' keys and values
            cache.layers[j].update(*prefix_kv[j])  # type: ignore[union-attr]
        self._prefill.start()
        h = self._pruner.resume(self.plan, snapshot, cache, self.prompt.inputs["attention_mask"])  # (B, S', D)
        self._logits = self.loaded.model.lm_head(h[:, -1:])[:, -1].float()  # (B, V)
        self._prefill.stop()
        self._cache = cache
        return self

    def decode(self, max_new_tokens: int) -> Output:
        """Greedy decoding from the prefill's logits, up to ``max_new_tokens`` tokens; ends the pass's run."""
        loaded, model = self.loaded, self.loaded.model
        pad_id = loaded.processor.tokenizer.pad_token_id
        logits = self.logits
        step_logits, tokens = [logits], [logits.argmax(-1)]
        done = torch.isin(tokens[0], self.eos)
        mask = self.prompt.inputs["attention_mask"]
        span = Span(loaded.device).start()
        stops = self.eos.numel() > 0  # without end tokens no answer ends early: nothing to read per token
        while len(tokens) < max_new_tokens and not (stops and bool(done.all())):  # the one read per token
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], 1)
            out = model(
                input_ids=tokens[-1][:, None],
                attention_mask=mask,
                position_ids=self._pruner.next_position_ids(),
                past_key_values=self._cache,
                use_cache=True,
            )
            logits = out.logits[:, -1].float()
            filler = torch.full_like(tokens[-1], pad_id if pad_id is not None else 0)
            nxt = torch.where(done, filler, logits.argmax(-1))
            step_logits.append(logits)
            tokens.append(nxt)
            done = done | torch.isin(nxt, self.eos)
        span.stop()
        trace = self._pruner.finish()
        ids = torch.stack(tokens, 1).cpu()  # (B, T)
        eos = self.eos.tolist()
        token_ids = tuple(_until_eos(row.tolist(), eos) for row in ids)
        answers = tuple(loaded.processor.tokenizer.decode(t, skip_special_tokens=True).strip() for t in token_ids)
        plan = self.plan
        return Output(
            model=loaded.name,
            schedule=str(plan.schedule),
            dtype=loaded.dtype,
            attn_implementation=loaded.attn_implementation,
            seed=plan.seeds[0] if len(set(plan.seeds)) == 1 else plan.seeds,
            answers=answers,
            token_ids=token_ids,
            first_token_probs=step_logits[0].softmax(-1).cpu(),
            step_logits=tuple(torch.stack(step_logits, 1).cpu().unbind(1)),  # one copy to the host
            n_visual=plan.n_visual,
            prompt_len=trace.prompt_len,
            visual_per_layer=tuple(trace.visual_per_layer),
            tokens_per_layer=tuple(trace.tokens_per_layer),
            stages=stage_records(plan, trace),
            prefill_s=self._prefill.seconds(),
            decode_s=span.seconds(),
        )


def stop_ids(loaded: LoadedModel, stop_at_eos: bool = True) -> torch.Tensor:
    """The token ids that end an answer (none when ``stop_at_eos`` is off)."""
    if not stop_at_eos:
        return torch.empty(0, dtype=torch.long, device=loaded.device)
    eos = loaded.model.generation_config.eos_token_id
    if eos is None:
        eos = loaded.processor.tokenizer.eos_token_id
    ids = [eos] if isinstance(eos, int) else list(eos or [])
    return torch.tensor(ids, dtype=torch.long, device=loaded.device)


def _until_eos(row: list[int], eos: list[int]) -> tuple[int, ...]:
    for i, t in enumerate(row):
        if t in eos:
            return tuple(row[:i])
    return tuple(row)
