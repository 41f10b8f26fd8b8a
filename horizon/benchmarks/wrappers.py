"""What each model family's lmms-eval 0.7.3 wrapper decides under the ``lmms-eval`` protocol, not the task: which of
a task's stop strings cut an answer, and how long an answer may be when the task sets no length.

A task's ``until`` (its yaml's, else lmms-eval's default ``["\\n\\n"]``, api/task.py l.186-187) reaches the model
wrapper, which may cut the decoded answer at them or not; lmms-eval then strips it (api/task.py l.1585-1589). A
task whose yaml sets no ``max_new_tokens`` (TextVQA) runs at the wrapper's default.

* LLaVA (``llava``, ``llava_hf``): no cut at all. ``models/simple/llava.py`` has the cut commented out
  (l.415-421); ``llava_hf.py`` pops ``until`` (l.303-312) and returns the decoded text as it is (l.378-381).
  Default length 1024 (llava.py l.374-375, llava_hf.py l.353-354).
* Qwen2.5-VL: every ``until`` string but ``"\\n\\n"`` (``qwen2_5_vl.py`` l.206-214 and l.352-356); default length
  32768 (l.317-324).
* Qwen3-VL: as Qwen2.5-VL (``qwen3_vl.py`` l.284-289 and l.440-442); default length 128 (l.71-76, l.243).

A family the table does not hold is refused by name: its wrapper must be read before its answers are cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from horizon.registry import Registry


@dataclass(frozen=True, kw_only=True)
class Wrapper:
    """One family's lmms-eval wrapper: whether it cuts at the task's ``until`` strings, which it drops, and its
    answer length when the task sets none."""

    family: str
    wrapper: str  # lmms-eval's model name(s)
    cuts: bool
    drops: tuple[str, ...] = ()
    max_new_tokens: int
    source: str

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ValueError(f"family {self.family!r}: a wrapper's rules must name their source (file and line)")
        if self.drops and not self.cuts:
            raise ValueError(f"family {self.family!r}: a wrapper that never cuts has nothing to drop")
        if self.max_new_tokens < 1:
            raise ValueError(f"family {self.family!r}: max_new_tokens must be >= 1, got {self.max_new_tokens}")

    def stops(self, until: Sequence[str]) -> tuple[str, ...]:
        """The strings this wrapper cuts an answer at, of the task's ``until``."""
        return tuple(s for s in until if s and s not in self.drops) if self.cuts else ()


WRAPPERS: Registry[Wrapper] = Registry("lmms-eval model wrapper (family)")
WRAPPERS.add("llava", Wrapper(
    family="llava", wrapper="llava, llava_hf", cuts=False, max_new_tokens=1024,
    source="lmms_eval/models/simple/llava.py l.374-375, l.415-421 (commented out); llava_hf.py l.303-312, "
           "l.353-354, l.378-381",
))  # fmt: skip
WRAPPERS.add("qwen2_5_vl", Wrapper(
    family="qwen2_5_vl", wrapper="qwen2_5_vl", cuts=True, drops=("\n\n",), max_new_tokens=32768,
    source="lmms_eval/models/simple/qwen2_5_vl.py l.206-214, l.317-324, l.352-356",
))  # fmt: skip
WRAPPERS.add("qwen3_vl", Wrapper(
    family="qwen3_vl", wrapper="qwen3_vl", cuts=True, drops=("\n\n",), max_new_tokens=128,
    source="lmms_eval/models/simple/qwen3_vl.py l.71-76, l.243, l.284-289, l.440-442",
))  # fmt: skip


def wrapper_stops(family: str, until: Sequence[str]) -> tuple[str, ...]:
    """The stop strings ``family``'s lmms-eval wrapper cuts at, of ``until`` (an unknown family names the known)."""
    return WRAPPERS.get(family).stops(until)


def wrapper_length(family: str) -> int:
    """``family``'s lmms-eval wrapper's answer length when the task sets none."""
    return WRAPPERS.get(family).max_new_tokens
