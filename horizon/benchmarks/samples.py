"""A benchmark's samples from local disk (or generated), and deterministic subsets of whole groups."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from horizon.benchmarks.base import Benchmark, DatasetFormatError, Sample
from horizon.benchmarks.local import DataNotFoundError, find_data, read_rows


def load_samples(
    bench: Benchmark, *, path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[list[Sample], list[str]]:
    """All samples of ``bench`` from local disk, and one message per row that could not be read."""
    try:
        data = find_data(bench, path=path, env=env)
        source, rows = str(data.files[0].parent), read_rows(data, bench.columns)
    except DataNotFoundError:
        if bench.generate is None or path is not None:
            raise
        source = f"{bench.name} (generated: no local data)"
        rows = ((Path(source), i, row) for i, row in enumerate(bench.generate()))
    images: dict[str, Any] | None = None
    samples, bad = [], []
    for file, i, row in rows:
        try:
            items = bench.expand(row) if bench.expand is not None else [row]
        except DatasetFormatError as err:
            bad.append(f"{file} row {i}: {err}")
            continue
        for k, item in enumerate(items):
            try:
                if "image" not in item and bench.images is not None:
                    images = _image_table(bench, env) if images is None else images
                    item = _join_image(item, images, bench)
                samples.append(bench.to_sample(item, i if len(items) == 1 else i * 1000 + k))
            except (DatasetFormatError, KeyError) as err:
                bad.append(f"{file} row {i}: {err}")
    if not samples:
        raise DatasetFormatError(f"no readable samples for {bench.name!r} in {source}: {bad[:3]}")
    return samples, bad


def _image_table(bench: Benchmark, env: Mapping[str, str] | None) -> dict[str, Any]:
    """id -> image cell of a benchmark whose images live in a separate table (GQA)."""
    src = bench.images
    if src is None:
        raise ValueError(f"{bench.name} has no separate image table")
    spec = replace(bench, name=src.name, config=src.config, columns=(src.id_column, "image"))
    table: dict[str, Any] = {}
    for _, _, row in read_rows(find_data(spec, env=env), spec.columns):
        table[str(row[src.id_column])] = row["image"]
    return table


def _join_image(item: Mapping[str, Any], images: dict[str, Any], bench: Benchmark) -> Mapping[str, Any]:
    src = bench.images
    if src is None:
        raise ValueError(f"{bench.name} has no separate image table")
    if src.key_column not in item:
        raise DatasetFormatError(f"column {src.key_column!r} is missing, and the row has no 'image' column")
    key = str(item[src.key_column])
    if key not in images:
        raise DatasetFormatError(f"image {key!r} (column {src.key_column!r}) is not in the {src.name} image table")
    return {**item, "image": images[key]}


def subset(samples: Sequence[Sample], limit: int | None, seed: int = 0) -> list[Sample]:
    """A deterministic subset of at most ``limit`` samples made of whole groups (MME pairs, MMBench rotations)."""
    if limit is None or limit >= len(samples):
        return list(samples)
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.group].append(s)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    chosen: list[Sample] = []
    for key in order:
        if len(chosen) + len(groups[key]) <= limit:
            chosen += groups[key]
    return chosen
