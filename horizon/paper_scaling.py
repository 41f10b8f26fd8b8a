"""Table 1's hybrid settings carried to another decoder depth: a stated rule, derived here, not the paper's.

The paper gives its Qwen2.5-VL-7B settings for 28 layers only (supplementary Table 4): DART from layer 2 and DivPrune
from layer 0, random pruning added at layer 25 (keeping 25 % of the visual tokens) or every visual token withdrawn at
layer 26 (VTW), each at a 50 % average visual budget over the layers. For a decoder of another depth (Qwen3-VL-8B's
36 layers) the rule is:

* **deep layers at the same relative depth**: random at ``round(25 * L / 28)``, VTW at ``round(26 * L / 28)``
  (36 layers: 32 and 33);
* **the same first stage** (DART at layer 2, DivPrune at layer 0) and the same random keep (25 %);
* **keeps solved for the budget**: the method alone keeps the ratio (to two decimals) whose average over the layers
  is nearest 50 %; both hybrids keep the ratio solved for the +Random one, as Table 4 does (its +VTW rows keep the
  +Random rows' ratio, averaging a little under 50 %).

Applied to 28 layers the rule gives Table 4's six settings exactly (tests/test_paper_scaling.py): its keeps are solved
as the paper's were. Placing the deep stages at the same relative depth is a stated choice, not something Table 4
decides (the same distance from the last layer, 2 and 3, would also give 25 and 26 at 28 layers, and 33 and 34 at 36).
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER_DEPTH = 28  # Qwen2.5-VL-7B, the depth Table 4's settings were written for
PAPER_RANDOM_AT = 25
PAPER_VTW_AT = 26
RANDOM_KEEP = 0.25
BUDGET = 0.5  # the average share of visual tokens over the layers
FIRST_LAYER = {"dart": 2, "divprune": 0}  # where each Table 1 method prunes (Table 4)


@dataclass(frozen=True, slots=True)
class Hybrids:
    """One method's three Table 1 settings at one depth (schedule syntax, horizon/schedule.py)."""

    alone: str
    with_random: str
    with_vtw: str


def deep_layers(layers: int) -> tuple[int, int]:
    """(random's layer, VTW's layer) at ``layers`` deep: Table 4's 25 and 26 of 28 at the same relative depth; each
    must lie after the first stages and before the last layer, and apart."""
    at_random, at_vtw = round(PAPER_RANDOM_AT * layers / PAPER_DEPTH), round(PAPER_VTW_AT * layers / PAPER_DEPTH)
    if not max(FIRST_LAYER.values()) < at_random < at_vtw < layers:
        raise ValueError(f"a decoder of {layers} layers is too shallow for Table 1's hybrids: random would prune at "
                         f"layer {at_random} and VTW at {at_vtw}, which must lie after layer "
                         f"{max(FIRST_LAYER.values())}, apart, and within layers 0..{layers - 1}")  # fmt: skip
    return at_random, at_vtw


def average(layers: int, first: int, keep: float, until: int | None = None, tail: float = 0.0) -> float:
    """The average share of visual tokens over ``layers``: all before ``first``, ``keep`` from there to ``until``
    (exclusive; None: the end), ``tail`` after it."""
    end = layers if until is None else until
    return (first + (end - first) * keep + (layers - end) * tail) / layers


def _solve(layers: int, first: int, until: int | None = None, tail: float = 0.0) -> float:
    """The keep ratio (two decimals) that brings :func:`average` nearest :data:`BUDGET`."""
    return min((k / 100 for k in range(1, 101)),
               key=lambda keep: (abs(average(layers, first, keep, until, tail) - BUDGET), keep))  # fmt: skip


def hybrids(method: str, layers: int) -> Hybrids:
    """``method``'s (dart or divprune) Table 1 settings at ``layers`` deep, by the rule above."""
    if method not in FIRST_LAYER:
        raise ValueError(f"Table 1's hybrids are written for {', '.join(FIRST_LAYER)}, not {method!r}")
    first = FIRST_LAYER[method]
    at_random, at_vtw = deep_layers(layers)
    alone = _solve(layers, first)
    shared = _solve(layers, first, at_random, RANDOM_KEEP)
    return Hybrids(alone=f"{method}@{first}:{alone:g}",
                   with_random=f"{method}@{first}:{shared:g}+random@{at_random}:{RANDOM_KEEP:g}",
                   with_vtw=f"{method}@{first}:{shared:g}+vtw@{at_vtw}")  # fmt: skip


def presets(group: str, layers: int) -> dict[str, str]:
    """``paper:<group>-50:<method>[+random|+vtw]`` -> schedule for Table 1's six rows at ``layers`` deep."""
    out: dict[str, str] = {}
    for method in FIRST_LAYER:
        h = hybrids(method, layers)
        out |= {f"paper:{group}-50:{method}": h.alone, f"paper:{group}-50:{method}+vtw": h.with_vtw,
                f"paper:{group}-50:{method}+random": h.with_random}  # fmt: skip
    return out
