"""The lmms-eval model classes: horizon's pruned engine behind lmms-eval's ``generate_until``.

``model_args``: ``pretrained`` (a horizon preset or a checkpoint folder), ``schedule`` (syntax or a
``paper:`` preset; default ``full``), ``dtype``, ``attn_implementation``, ``device``, ``seed``. The plugin always runs
the ``lmms-eval`` protocol (horizon/protocol.py): lmms-eval's own prompts and scorers, the checkpoint's chat
template, a paper preset in its transcribed (Tables 4/5) form. Each request runs one image and its prompt through
:func:`horizon.engine.run.run`; the answer is cut at the request's ``until`` strings as the family's own lmms-eval
wrapper cuts it (none for LLaVA; all but a blank line for Qwen), and the sample's token counts report the prompt
tokens, the answer tokens and the average visual tokens per decoder layer (``visual_tokens``), so kept visual
tokens are logged per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmms_eval.api.instance import GenerationResult, TokenCounts
from lmms_eval.api.model import lmms

from horizon.benchmarks.wrappers import wrapper_length, wrapper_stops
from horizon.engine.run import prepare, run
from horizon.models.loading import load_model
from horizon.paper_presets import resolve_schedule
from horizon.protocol import DEFAULT_PROTOCOL, PROTOCOLS

PROTOCOL = DEFAULT_PROTOCOL  # lmms-eval owns the prompts and the scoring; horizon prunes


@dataclass
class PrunedTokenCounts(TokenCounts):
    visual_tokens: float | None = None  # average visual tokens entering each decoder layer

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(super().to_dict())
        if self.visual_tokens is not None:
            out["visual_tokens"] = self.visual_tokens
        return out


def _cut(text: str, until: Any, family: str) -> str:
    """``text`` cut as ``family``'s own lmms-eval wrapper cuts it at the request's ``until`` (some, or none of them:
    horizon/benchmarks/wrappers.py); lmms-eval strips it afterwards."""
    stops = [until] if isinstance(until, str) else list(until or [])
    for stop in wrapper_stops(family, stops):
        text = text.split(stop)[0]
    return text


class _HorizonModel(lmms):  # type: ignore[misc]
    is_simple = True
    family = ""

    def __init__(
        self,
        pretrained: str,
        schedule: str = "full",
        dtype: str = "float32",
        attn_implementation: str = "sdpa",
        device: str = "cpu",
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.loaded = load_model(pretrained, dtype=dtype, attn_implementation=attn_implementation, device=device)
        if self.loaded.adapter.family != self.family:
            raise ValueError(
                f"{pretrained} is a {self.loaded.adapter.family} model; this entry point is for {self.family}"
            )
        self.schedule = resolve_schedule(schedule, PROTOCOLS.get(PROTOCOL).presets)
        self.seed = int(seed)

    def generate_until(self, requests: list[Any]) -> list[GenerationResult]:
        results = []
        for req in requests:
            ctx, gen_kwargs, doc_to_visual, doc_id, task, split = req.args
            images = doc_to_visual(self.task_dict[task][split][doc_id])
            if len(images) != 1:
                raise ValueError(f"{task} doc {doc_id}: horizon runs one image per prompt, got {len(images)}")
            prompt = prepare(self.loaded, [images[0].convert("RGB")], [ctx], conversation=PROTOCOLS.get(PROTOCOL).conversation)
            max_new = int(gen_kwargs.get("max_new_tokens", wrapper_length(self.family)))
            out = run(self.loaded, prompt, self.schedule, max_new_tokens=max_new, seed=self.seed)
            counts = PrunedTokenCounts(out.prompt_len, len(out.token_ids[0]), None, out.average_visual_tokens)
            results.append(GenerationResult(_cut(out.answers[0], gen_kwargs.get("until"), self.family), counts))
        return results

    def loglikelihood(self, requests: list[Any]) -> list[Any]:
        raise NotImplementedError("horizon's lmms-eval models only generate")

    def generate_until_multi_round(self, requests: list[Any]) -> list[Any]:
        raise NotImplementedError("horizon's lmms-eval models answer single-round tasks")


class HorizonLlava(_HorizonModel):
    family = "llava"


class HorizonQwen25VL(_HorizonModel):
    family = "qwen2_5_vl"
