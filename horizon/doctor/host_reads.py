"""Where a run reads a tensor's value on the host: on a GPU each such read makes the host wait for the device.

``torch.cuda.set_sync_debug_mode`` counts synchronisations on CUDA only (:func:`horizon.doctor.numbers.host_syncs`).
This counter works on any device, so CI keeps it true on CPU: a :class:`torch.overrides.TorchFunctionMode` sees
every tensor operation of a run and counts those that need a value on the host (``bool(t)``, ``t.item()``,
``t.tolist()``, ``t.cpu()``, ``nonzero``, ...), each attributed to the innermost ``horizon/`` source line that
led to it (a read inside transformers' mask code counts at the engine line that called it). A count that grows
with the decoded tokens or with the depth of a stage is a read inside the loop.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.overrides import TorchFunctionMode

from horizon.engine.run import run
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.paper_presets import resolve_schedule

# operations whose result needs a device tensor's values on the host (a CUDA synchronisation)
HOST_READS = frozenset({
    "__bool__", "__int__", "__float__", "__index__", "item", "tolist", "numpy", "cpu",
    "nonzero", "masked_select", "unique", "unique_consecutive", "argwhere",
})  # fmt: skip
_PACKAGE = str(Path(__file__).resolve().parents[1])  # .../horizon


class HostReadCounter(TorchFunctionMode):
    """Counts host reads while active, keyed by ``horizon/<file>:<line>`` of the innermost horizon frame."""

    def __init__(self) -> None:
        super().__init__()
        self.sites: Counter[str] = Counter()

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if getattr(func, "__name__", "") in HOST_READS:
            self.sites[_site()] += 1
        return func(*args, **(kwargs or {}))

    @property
    def count(self) -> int:
        return sum(self.sites.values())


def _site() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_PACKAGE) and not name.endswith("host_reads.py"):
            return f"horizon/{Path(name).relative_to(_PACKAGE).as_posix()}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "outside horizon"


@dataclass(frozen=True, slots=True)
class HostReads:
    """Host reads of one schedule's run: its prefill, and each decoded token beyond the first."""

    schedule: str
    prefill: Counter[str]  # site -> reads in the prefill (the first token comes from its logits)
    per_token: Counter[str]  # site -> reads per further decoded token (the difference of two run lengths, per token)

    @property
    def prefill_count(self) -> int:
        return sum(self.prefill.values())

    @property
    def per_token_count(self) -> float:
        return sum(self.per_token.values())


def _count(loaded: LoadedModel, prompt: Prompt, schedule: str, new_tokens: int, stop_at_eos: bool) -> Counter[str]:
    with HostReadCounter() as counter:
        run(loaded, prompt, resolve_schedule(schedule), max_new_tokens=new_tokens, stop_at_eos=stop_at_eos)
    return counter.sites


def host_reads(
    loaded: LoadedModel, prompt: Prompt, schedule: str, *, tokens: int = 4, stop_at_eos: bool = False
) -> HostReads:
    """The host reads of a prefill-only run of ``schedule`` (one token, from the prefill's logits) and, per
    further token, of a run decoding ``1 + tokens`` (``stop_at_eos``: with the per-token end-of-answer check)."""
    if tokens < 1:
        raise ValueError(f"tokens must be >= 1, got {tokens}")
    one = _count(loaded, prompt, schedule, 1, stop_at_eos)
    more = _count(loaded, prompt, schedule, 1 + tokens, stop_at_eos)
    grown = Counter({site: n for site, n in (more - one).items() if n})
    per_token = Counter({site: n // tokens for site, n in grown.items() if n % tokens == 0})
    odd = {site: n for site, n in grown.items() if n % tokens}
    if odd:  # reads that do not scale with the tokens are still reads during decoding: keep them whole
        per_token.update(odd)
    return HostReads(schedule, one, per_token)
