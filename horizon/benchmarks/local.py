"""Finding and reading a benchmark's data on local disk, strictly offline.

Looked up, in order: an explicit path; ``$HORIZON_DATA/<benchmark>``; ``$HORIZON_DATA/<dataset name>``;
the Hugging Face datasets cache (``HF_DATASETS_CACHE``, else ``$HF_HOME/datasets``) as filled by
``datasets.load_dataset`` elsewhere (lmms-eval <= 0.7.2's ``lmms-lab`` and 0.7.3's ``lmms-lab-encoder``
orgs). A folder may hold parquet files (one per split, or shards named after the split) or a
``save_to_disk`` dataset (arrow files, or a dataset dict with one sub-folder per split). Rows are read
with pyarrow; nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from horizon.benchmarks.base import Benchmark, DatasetFormatError
from horizon.hub import download_command


class DataNotFoundError(FileNotFoundError):
    """No local data for a benchmark; the message names where it looked and what to fetch."""


@dataclass(frozen=True)
class DataFiles:
    benchmark: str
    files: tuple[Path, ...]
    kind: str  # "parquet" or "arrow"


def _split_files(folder: Path, split: str) -> DataFiles | None:
    parquet = sorted(folder.rglob("*.parquet"))
    if parquet:
        named = [p for p in parquet if split in p.name or p.parent.name == split]
        return DataFiles(folder.name, tuple(named or parquet), "parquet")
    arrow = sorted(p for p in folder.rglob("*.arrow") if not p.name.startswith("cache-"))
    if arrow:
        named = [p for p in arrow if p.parent.name == split or f"-{split}" in p.name or f"{split}." in p.name]
        return DataFiles(folder.name, tuple(named or arrow), "arrow")
    return None


def _hf_cache(env: Mapping[str, str]) -> Path:
    if env.get("HF_DATASETS_CACHE"):
        return Path(env["HF_DATASETS_CACHE"])
    home = Path(env["HF_HOME"]) if env.get("HF_HOME") else Path.home() / ".cache" / "huggingface"
    return home / "datasets"


def candidate_folders(bench: Benchmark, path: str | Path | None, env: Mapping[str, str]) -> list[Path]:
    if path is not None:
        return [Path(path).expanduser()]
    out: list[Path] = []
    if env.get("HORIZON_DATA"):
        root = Path(env["HORIZON_DATA"])
        out += [root / bench.name, root / bench.dataset_id.split("/")[1]]
    org, name = bench.dataset_id.split("/")
    cache = _hf_cache(env)
    owners = [org, "lmms-lab-encoder"] if org == "lmms-lab" else [org]
    if cache.is_dir():
        for entry in sorted(cache.iterdir()):
            owner, _, dataset = entry.name.partition("___")
            if owner in owners and _norm(dataset) == _norm(name):
                out.append(_config_folder(entry, bench.config))
    else:
        out += [cache / f"{owner}___{name.lower()}" for owner in owners]
    return out


def _norm(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _config_folder(dataset: Path, config: str | None) -> Path:
    """The sub-folder of a cached dataset holding ``config`` (the folder itself if there is none)."""
    if config is not None and dataset.is_dir():
        for sub in dataset.iterdir():
            if sub.is_dir() and _norm(sub.name) == _norm(config):
                return sub
    return dataset


def find_data(bench: Benchmark, *, path: str | Path | None = None, env: Mapping[str, str] | None = None) -> DataFiles:
    env = os.environ if env is None else env
    looked = []
    for folder in candidate_folders(bench, path, env):
        if folder.is_file() and folder.suffix in (".parquet", ".arrow"):
            return DataFiles(bench.name, (folder,), folder.suffix[1:])
        found = _split_files(folder, bench.split) if folder.is_dir() else None
        if found is not None:
            return DataFiles(bench.name, found.files, found.kind)
        looked.append(f"{folder} ({why})" if (why := unusable(folder)) else str(folder))
    if path is None and not env.get("HORIZON_DATA"):
        looked.insert(0, "$HORIZON_DATA (not set)")
    config = f", config {bench.config!r}" if bench.config else ""
    raise DataNotFoundError(
        f"no local data for benchmark {bench.name!r}; looked in: {'; '.join(looked)}. Fetch {bench.dataset_id}"
        f"{config}, split {bench.split!r} on a machine with network access (its parquet files: "
        f"`{download_command(bench.dataset_id, '$HORIZON_DATA/' + bench.name, dataset=True)}`, or "
        "datasets.load_dataset(...).save_to_disk(...)), then set $HORIZON_DATA to the folder above it, or give the "
        "folder (or one file) with --data PATH."
    )


def unusable(folder: Path) -> str:
    """Why ``folder``, which exists but holds no data for :func:`find_data`, is not read ('' if it does not exist)."""
    if folder.is_dir():
        names = sorted(p.name for p in folder.iterdir())
        shown = f": it has {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}" if names else ""
        return f"{'empty' if not names else 'no .parquet or .arrow files'}{shown}"
    if folder.exists():
        return "not a folder, nor a .parquet or .arrow file"
    return ""


def read_rows(data: DataFiles, columns: tuple[str, ...]) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """(file, row number, row) for every row; checks the required columns are there."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for file in data.files:
        try:
            if data.kind == "parquet":
                table = pq.read_table(file)
            else:
                with pa.memory_map(str(file)) as source:
                    try:
                        table = pa.ipc.open_stream(source).read_all()
                    except pa.ArrowInvalid:
                        table = pa.ipc.open_file(source).read_all()
        except (OSError, pa.ArrowException) as err:
            raise DatasetFormatError(f"{file}: not a readable {data.kind} file ({err})") from None
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise DatasetFormatError(
                f"{file}: missing column(s) {missing} for benchmark {data.benchmark!r} (has {table.column_names})"
            )
        for i, row in enumerate(table.to_pylist()):
            yield file, i, row
