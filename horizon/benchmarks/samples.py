"""A benchmark's samples from local disk (or generated), and deterministic subsets of whole groups."""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from horizon.benchmarks.base import Benchmark, DatasetFormatError, Sample
from horizon.benchmarks.local import DataNotFoundError, candidate_folders, find_data, read_rows, unusable

Where = tuple[Path, int]  # a data file and a row number in it


def load_samples(
    bench: Benchmark, *, path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[list[Sample], list[str]]:
    """All samples of ``bench`` from local disk, and one message per row that could not be read.

    Rows are numbered across all the data files (ids made from the row number stay distinct over shards). Two
    samples with one id, or no readable sample at all, is an error naming the files; a benchmark scored on whole
    groups (MME's image pairs) leaves out, and reports, the rows of a group that is not complete."""
    try:
        data = find_data(bench, path=path, env=env)
        source, rows = str(data.files[0].parent), read_rows(data, bench.columns)
    except DataNotFoundError:
        if bench.generate is None or path is not None:
            raise
        _refuse_empty_folders(bench, os.environ if env is None else env)
        source = f"{bench.name} (generated: no local data)"
        rows = ((Path(source), i, row) for i, row in enumerate(bench.generate()))
    images: dict[str, Any] | None = None
    samples: list[Sample] = []
    where: list[Where] = []  # the file and row of each sample
    bad: list[str] = []
    n_rows = 0
    for n, (file, i, row) in enumerate(rows):
        n_rows += 1
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
                samples.append(bench.to_sample(item, n if len(items) == 1 else n * 1000 + k))
                where.append((file, i))
            except DatasetFormatError as err:
                bad.append(f"{file} row {i}: {err}")
            except KeyError as err:
                bad.append(f"{file} row {i}: column {err} is missing")
    if bench.group_size:
        samples, where = _whole_groups(bench, samples, where, bad)
    if not samples:
        why = f"every row is unreadable; first: {bad[0]}" if bad else "the data holds no rows"
        raise DatasetFormatError(f"no readable samples for {bench.name!r} in {source}: {why}")
    _refuse_duplicate_ids(bench, samples, where, source)
    return samples, bad


def _refuse_empty_folders(bench: Benchmark, env: Mapping[str, str]) -> None:
    """A benchmark generated without local data (synth) is not generated when a folder meant for its data exists
    but holds none: that folder is an error, not silently replaced by generated rows."""
    for folder in candidate_folders(bench, None, env):
        why = unusable(folder)
        if why:
            raise DatasetFormatError(
                f"{folder} ({why}) holds no data for benchmark {bench.name!r}, so its rows are not generated "
                f"instead: write them there (horizon organism data --out {folder} --n 600 --seed 0), remove the "
                "folder, or unset HORIZON_DATA to evaluate on the generated held-out rows"
            )


def _whole_groups(
    bench: Benchmark, samples: list[Sample], where: list[Where], bad: list[str]
) -> tuple[list[Sample], list[Where]]:
    """The samples of complete groups (``bench.group_size`` members); the others are reported in ``bad``."""
    members: dict[str, list[int]] = defaultdict(list)
    for k, s in enumerate(samples):
        members[s.group].append(k)
    keep = [k for k in range(len(samples)) if len(members[samples[k].group]) == bench.group_size]
    for k in range(len(samples)):
        size = len(members[samples[k].group])
        if size != bench.group_size:
            bad.append(
                f"{where[k][0]} row {where[k][1]}: left out: {bench.name} is scored on whole groups of {bench.group_size} and group "
                f"{samples[k].group!r} has {size} readable sample(s)"
            )
    return [samples[k] for k in keep], [where[k] for k in keep]


def _refuse_duplicate_ids(bench: Benchmark, samples: list[Sample], where: list[Where], source: str) -> None:
    """Every sample id once: predictions, failures and information maps are keyed by it."""
    seen: dict[str, list[Where]] = defaultdict(list)
    for s, at in zip(samples, where, strict=True):
        seen[s.id].append(at)
    dupes = {sid: ats for sid, ats in seen.items() if len(ats) > 1}
    if not dupes:
        return
    shown = "; ".join(f"{sid!r} at {_rows(ats)}" for sid, ats in list(dupes.items())[:3])
    more = f" (and {len(dupes) - 3} more ids)" if len(dupes) > 3 else ""
    raise DatasetFormatError(
        f"benchmark {bench.name!r}: {len(dupes)} sample id(s) occur more than once in {source}: {shown}{more}. "
        f"Ids come from {bench.ids} and must be distinct (predictions are keyed by them): remove the duplicated "
        "rows or give them their own ids"
    )


def _rows(ats: Sequence[Where]) -> str:
    """'file rows 0, 4, 9' per file (at most 5 rows each)."""
    by_file: dict[Path, list[int]] = defaultdict(list)
    for file, i in ats:
        by_file[file].append(i)
    return ", ".join(
        f"{file} row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:5]))}"
        + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        for file, rows in by_file.items()
    )


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


def subset(samples: Sequence[Sample], limit: int | None, seed: int = 0, *, what: str = "a limit of") -> list[Sample]:
    """A deterministic subset of at most ``limit`` samples made of whole groups (MME pairs, MMBench rotations).

    A limit that selects nothing (smaller than every group) is an error; ``what`` names the limit there (e.g. the
    command's option)."""
    if limit is not None and limit < 1:
        raise ValueError(f"{what} {limit}: the number of samples must be >= 1")
    if limit is None or limit >= len(samples):
        return list(samples)
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.group].append(s)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    chosen: list[Sample] = []
    for key in order:
        if len(chosen) + len(groups[key]) <= limit:
            chosen += groups[key]
    if not chosen:
        smallest = min(len(g) for g in groups.values())
        raise ValueError(
            f"{what} {limit} selects no sample: samples are taken in whole groups (MME's image pairs, MMBench's "
            f"circular groups) and the smallest group here has {smallest}; ask for at least {smallest}"
        )
    return chosen
