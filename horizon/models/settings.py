"""The run settings a model loads under, by name (no torch import: the CLI and the pytest options read them to
build their help before anything loads): dtypes, attention implementations, devices, and each one's default."""

from __future__ import annotations

DTYPE_NAMES: tuple[str, ...] = ("float32", "float16", "bfloat16")
ATTENTION: tuple[str, ...] = ("sdpa", "eager", "flash_attention_2")
DEVICES = "cpu, cuda, or cuda:N (N a GPU index: cuda:0, cuda:1, ...)"
DEFAULT_DTYPE = "float32"
DEFAULT_ATTENTION = "sdpa"
DEFAULT_DEVICE = "cpu"
