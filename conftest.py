"""Root pytest configuration: markers and session fixtures shared by tests/ and suite/ (kept thin)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

MARKERS = {
    "gpu": "needs a CUDA device",
    "nightly": "nightly matrix on real checkpoints and data",
    "paper": "reproduces a table or figure of the paper",
    "sweep": "layer sweeps",
    "efficiency": "latency, memory and FLOPs cases",
    "information": "visual-token information cases",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:  # share the CPU cores between xdist workers instead of oversubscribing them
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


@pytest.fixture(scope="session")
def horizon_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tiny models are built: $HORIZON_CACHE if set (shared between runs), else a session temp dir."""
    env = os.environ.get("HORIZON_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("horizon-cache")


@pytest.fixture(scope="session")
def tiny_model(horizon_cache: Path) -> Callable[..., object]:
    """``tiny_model(name, attn="sdpa", dtype="float32")``: a tiny model loaded once per session."""
    from horizon.models.loading import load_model

    loaded: dict[tuple[str, str, str], object] = {}

    def get(name: str, attn: str = "sdpa", dtype: str = "float32") -> object:
        key = (name, attn, dtype)
        if key not in loaded:
            loaded[key] = load_model(
                name, attn_implementation=attn, dtype=dtype, env={"HORIZON_CACHE": str(horizon_cache)}
            )
        return loaded[key]

    return get
