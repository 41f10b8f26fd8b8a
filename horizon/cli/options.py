"""Option helpers shared by several ``horizon`` commands."""

from __future__ import annotations

import argparse
from pathlib import Path


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a preset (horizon list models) or a checkpoint folder")
    p.add_argument("--path", help="checkpoint folder for the preset (overrides $HORIZON_MODELS and the HF cache)")
    p.add_argument("--dtype", default="float32", help="float32 | float16 | bfloat16 (default float32)")
    p.add_argument("--attn", default="sdpa", help="sdpa | eager | flash_attention_2 (default sdpa)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")


def names(text: str) -> list[str]:
    """A comma-separated option ('a,b', '' for none) as a list of names."""
    return [m for m in text.split(",") if m]


def check_output_file(path: Path | None, option: str = "--json") -> None:
    """Refuse an output path that cannot be written as a file, before any work (a folder, a missing folder)."""
    if path is None:
        return
    if path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a folder: give a file path, e.g. {str(path / 'out.json')!r}")
    if not path.parent.is_dir():
        raise ValueError(f"{option} {str(path)!r}: the folder {str(path.parent)!r} does not exist")


def check_max_new_tokens(value: int | None) -> None:
    """``--max-new-tokens`` is a count of at least 1 token in every command (None: the command's default)."""
    if value is not None and value < 1:
        raise ValueError(f"--max-new-tokens must be >= 1 (a count of generated tokens), got {value}")
