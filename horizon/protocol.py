"""Protocols: a named, validated, recorded set of conventions a case runs under (docs/protocol.md).

A protocol decides what surrounds the pruning: the conversation a prompt is wrapped in, each benchmark's prompt,
scorer and generation length (a benchmark's :class:`~horizon.benchmarks.base.Variant` for it), which form of a
paper preset runs (the released scripts' token counts, or Tables 4/5's fractions) and how many seeds a schedule
with a random stage runs.

* ``lmms-eval``: lmms-eval 0.7.3's task conventions and the checkpoint's own chat template (every model family).
* ``paper``: the authors' released pipeline (YahongWang1/Information-Horizon@75909b2, a LLaVA fork): conversation
  ``vicuna_v1``, LLaVA's question files and scorers, the scripts' token counts with re-indexed positions, 3 runs
  of every random setting. LLaVA-1.5 only: the release has no Qwen2.5-VL code.
"""

from __future__ import annotations

from dataclasses import dataclass

from horizon.models.conversation import CONVERSATION_FNS
from horizon.paper_presets import PRESET_FORMS
from horizon.registry import Registry

CONVERSATIONS = tuple(CONVERSATION_FNS)


@dataclass(frozen=True, kw_only=True)
class Protocol:
    name: str
    summary: str
    source: str  # where its conventions were read (docs/protocol.md lists them one by one)
    conversation: str  # "chat-template": the checkpoint's; "vicuna_v1": LLaVA's conv_vicuna_v1
    families: tuple[str, ...]  # the model families it defines; () = every family
    presets: str  # "released": a paper preset's released form where it has one; "transcribed": the tables'
    seeds: int  # runs of a schedule that has a random stage (reported as mean and spread)
    window: int = 1  # the information metric's square windows (horizon/information/metric.py); the release: 2
    answer_rule: str = "frequent"  # which reference answer gives the metric's y (horizon/information/answer.py)

    def __post_init__(self) -> None:
        if self.conversation not in CONVERSATIONS:
            raise ValueError(f"protocol {self.name!r}: conversation {self.conversation!r} is not one of {CONVERSATIONS}")
        if self.presets not in PRESET_FORMS:
            raise ValueError(f"protocol {self.name!r}: presets {self.presets!r} is not one of {PRESET_FORMS}")
        if self.seeds < 1:
            raise ValueError(f"protocol {self.name!r}: seeds must be >= 1, got {self.seeds}")
        if self.window < 1:
            raise ValueError(f"protocol {self.name!r}: window must be >= 1, got {self.window}")

    def seeds_for(self, stochastic: bool, seed: int = 0) -> tuple[int, ...]:
        """The seeds a schedule runs under: ``seeds`` of them from ``seed`` when it has a random stage, else one."""
        return tuple(range(seed, seed + (self.seeds if stochastic else 1)))

    def check_family(self, family: str, model: str) -> None:
        """Refuse a model family this protocol does not define (names what it does define)."""
        if self.families and family not in self.families:
            raise ValueError(
                f"protocol {self.name!r} is defined for {', '.join(self.families)} models only ({self.summary}); "
                f"{model} is a {family} model: run it under --protocol {DEFAULT_PROTOCOL}"
            )


PROTOCOLS: Registry[Protocol] = Registry("protocol")
DEFAULT_PROTOCOL = "lmms-eval"
PAPER_PROTOCOL = "paper"

PROTOCOLS.add(DEFAULT_PROTOCOL, Protocol(
    name=DEFAULT_PROTOCOL,
    summary="lmms-eval 0.7.3's prompts, generation lengths and scorers, the checkpoint's chat template",
    source="lmms-eval 0.7.3 task yamls and utils (docs/benchmarks.md)",
    # 3 runs of a random stage, as the authors averaged theirs: each sample's mean over them is what paired tests use
    conversation="chat-template", families=(), presets="transcribed", seeds=3,
))  # fmt: skip
PROTOCOLS.add(PAPER_PROTOCOL, Protocol(
    name=PAPER_PROTOCOL,
    summary="the authors' released LLaVA-1.5 pipeline",
    source="YahongWang1/Information-Horizon@75909b2936a13d7214e83514f0bc0cb9cc91139e (docs/protocol.md)",
    conversation="vicuna_v1", families=("llava",), presets="released", seeds=3, window=2, answer_rule="paper",
))  # fmt: skip


def protocol(name: str) -> Protocol:
    """The protocol called ``name`` (an unknown name lists the known ones)."""
    return PROTOCOLS.get(name)
