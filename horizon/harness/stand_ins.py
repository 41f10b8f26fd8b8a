"""Which matrix cases run on stand-ins, and the deterministic sample of them that CI runs (docs/stand-ins.md).

A stand-in (``horizon/models/presets.py``: ``stand_in_of``) takes a real checkpoint's place: same family, depth and
visual geometry, random weights. Every case of a real checkpoint has one. The CI sample is the smallest set, chosen
greedily in a fixed order, that touches every paper table, figure (each layer sweep plotted from two of its layers,
each information study), benchmark, method and paper preset of those cases at least once.
"""

from __future__ import annotations

from collections.abc import Sequence

from horizon.harness.matrix import Case, InfoCase, paper_table
from horizon.models.presets import MODELS
from horizon.paper_tables import PAPER_TABLES
from horizon.schedule import sweep_point


def has_stand_in(case: Case | InfoCase) -> bool:
    """Whether ``case`` is a real checkpoint's (one that runs on a stand-in under ``--stand-ins``)."""
    return case.model in MODELS and MODELS.get(case.model).real


def figure_of(case: Case) -> str | None:
    """The layer-sweep figure a sweep case draws a point of (``sweep <model> keep <r>``; ``... withdraw`` for
    Figure 9), else None."""
    point = sweep_point(str(case.resolved))
    if "sweep" not in case.marks or point is None:
        return None
    return f"sweep {case.model} " + ("withdraw" if point.keep is None else f"keep {point.keep}")


def features(case: Case, tables: dict[str, set[str]]) -> set[str]:
    """What running ``case`` touches: its benchmark, methods, paper preset, tables and figure."""
    found = {f"benchmark {case.benchmark}", *(f"method {s.method}" for s in case.resolved.stages)}
    if not case.resolved.stages:
        found.add("unpruned")
    if case.schedule.startswith("paper:"):
        found.add(f"preset {case.schedule}")
    found |= {f"table {name}" for name, ids in tables.items() if case.id in ids}
    figure = figure_of(case)
    if figure is not None:
        found.add(f"figure {figure}")
    return found


def table_ids() -> dict[str, set[str]]:
    """Each paper table's case ids (Table 3's are Table 2 cases that also measure time)."""
    return {name: {c.id for c in paper_table(name)} for name in PAPER_TABLES}


def sample(cases: Sequence[Case], info: Sequence[InfoCase]) -> list[str]:
    """The CI sample's case ids: greedily, the case touching most untouched features (ties: the smaller id), until
    every feature of the real-checkpoint cases is touched; each chosen sweep case with a second layer of its line
    (same model, benchmark, method and ratio), so its figure plots; and every information case (one study per model
    and benchmark of the paper's Figures 5-8, 11 and 12)."""
    tables = table_ids()
    real = sorted((c for c in cases if has_stand_in(c)), key=lambda c: c.id)
    touched = {c.id: features(c, tables) for c in real}
    left = set().union(*touched.values()) if touched else set()
    chosen: list[Case] = []
    while left:
        best = min(real, key=lambda c: (-len(touched[c.id] & left), c.id))
        chosen.append(best)
        left -= touched[best.id]
    ids = [c.id for c in chosen]
    for case in chosen:
        partner = _second_point(case, real)
        if partner is not None and partner.id not in ids:
            ids.append(partner.id)
    return ids + [c.id for c in info if has_stand_in(c)]


def _second_point(case: Case, cases: Sequence[Case]) -> Case | None:
    """Another layer of ``case``'s sweep line (the nearest deeper one, else the nearest shallower), if it is one."""
    point = sweep_point(str(case.resolved))
    if figure_of(case) is None or point is None:
        return None
    line = []
    for other in cases:
        o = sweep_point(str(other.resolved))
        if (o is not None and other.id != case.id and figure_of(other) == figure_of(case)
                and (other.benchmark, o.method, other.protocol) == (case.benchmark, point.method, case.protocol)):
            line.append((o.layer, other))  # fmt: skip
    layer = point.layer
    deeper = sorted((k, c.id, c) for k, c in line if k > layer)
    shallower = sorted(((-k, c.id, c) for k, c in line if k < layer))
    nearest = deeper or shallower
    return nearest[0][2] if nearest else None
