"""How a baseline file keeps its cases' per-unit values compactly (horizon/harness/baselines.py writes and reads them).

The cases of one file mostly share their units (the same samples), so the unit ids are written once per file,
under ``unit_ids``, keyed by a short digest of the sorted list. Each case keeps that key and its values in the
ids' order: a string of ``0``/``1`` where every value is one (a flipped answer is one changed character in the
diff), else the numbers separated by spaces (scores, or correctness averaged over seeds). 4200 units take one
line, not 4200.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

DIGITS = 4


def digest(ids: list[str]) -> str:
    """A short key for a sorted list of unit ids."""
    return hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:12]


def encode(units: Mapping[str, float], shared: dict[str, list[str]]) -> dict[str, Any]:
    """A case's ``{"ids": key, "values": ...}``; its sorted ids are added to ``shared`` under their key."""
    ids = sorted(units)
    key = digest(ids)
    shared.setdefault(key, ids)
    values = [float(units[u]) for u in ids]
    if all(v in (0.0, 1.0) for v in values):
        return {"ids": key, "values": "".join("1" if v else "0" for v in values)}
    return {"ids": key, "values": " ".join(f"{v:.{DIGITS}f}".rstrip("0").rstrip(".") for v in values)}


def decode(entry: Mapping[str, Any], shared: Mapping[str, list[str]]) -> dict[str, float]:
    """A case's units from its ``encode`` entry and the file's ``unit_ids``; ValueError when they do not match."""
    ids = shared.get(str(entry["ids"]))
    if ids is None:
        raise ValueError(f"unit ids {entry['ids']!r} are not in the file's unit_ids")
    values = str(entry["values"])
    parsed = [float(c) for c in values] if not set(values) - {"0", "1"} else [float(v) for v in values.split()]
    if len(parsed) != len(ids) or not all(0.0 <= v <= 1.0 for v in parsed):
        raise ValueError(f"{len(parsed)} unit values for {len(ids)} unit ids (or values outside [0, 1])")
    return dict(zip(ids, parsed, strict=True))
