"""Root pytest configuration: options, markers, session fixtures, xdist GPU pinning, baseline merging.

Thin on purpose: the logic lives in ``horizon`` (``horizon/evaluation/``, ``horizon/baselines.py``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

MARKERS = {
    "default": "the embedded CPU default (organisms on held-out synth rows, tiny models on fixture data)",
    "organism": "the trained model organisms on synth (horizon/organism/)",
    "gpu": "real checkpoints, meant for a CUDA device",
    "nightly": "nightly matrix on real checkpoints and data",
    "paper": "reproduces a table of the paper",
    "sweep": "layer sweeps (Figures 1, 2, 9, 10)",
    "efficiency": "latency, memory and FLOPs cases (Table 3)",
    "information": "visual-token information cases",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("horizon", "horizon benchmark suite")
    g.addoption(
        "--update-baselines",
        action="store_true",
        help="rewrite baselines with the obtained values (changed ones still fail)",
    )
    g.addoption("--record-baselines", action="store_true", help="record baselines for cases that have none")
    g.addoption("--baselines", default="baselines", help="baseline folder (default: baselines)")
    g.addoption("--results", default="results", help="folder for case records (default: results)")
    g.addoption("--reports", default="reports", help="where the session's Markdown report is written")
    g.addoption("--shard", default=None, help="i/n: run only the i-th of n deterministic slices of the cases")
    g.addoption("--models", default=None, help="comma-separated model presets: run only their cases")
    g.addoption("--device", default="cpu", help="cpu or cuda (xdist workers each pin one GPU)")
    g.addoption("--dtype", default="float32", help="float32 | float16 | bfloat16")
    g.addoption("--attn", default="sdpa", help="sdpa | eager | flash_attention_2")
    g.addoption(
        "--batch", type=int, default=1, help="samples per forward in real models' sweep groups (same answers, faster)"
    )


def _shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    m = re.fullmatch(r"(\d+)/(\d+)", value)
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise pytest.UsageError(f"--shard {value!r}: write i/n with 1 <= i <= n, e.g. --shard 2/4")
    return int(m[1]), int(m[2])


def _gpu_count() -> int:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return len([d for d in visible.split(",") if d.strip()])
    if shutil.which("nvidia-smi"):  # counting without initialising CUDA in this process
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False).stdout
        return sum(1 for line in out.splitlines() if line.startswith("GPU "))
    return 0


def _models(value: str | None) -> set[str] | None:
    if value is None:
        return None
    from horizon.models.presets import MODELS

    names = {v.strip() for v in value.split(",") if v.strip()}
    for name in names:
        if name not in MODELS:
            raise pytest.UsageError(f"--models: {MODELS.unknown_message(name)}")
    return names


def _check_markexpr(expr: str) -> None:
    builtin = {"and", "or", "not", "skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"}
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr):
        if word not in MARKERS and word not in builtin and not word.startswith("xdist"):
            raise pytest.UsageError(f"-m {expr!r}: unknown marker {word!r} (markers: {', '.join(MARKERS)})")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    _shard(config.getoption("--shard"))
    _models(config.getoption("--models"))
    _check_markexpr(config.getoption("markexpr") or "")
    if config.getoption("--batch") < 1:
        raise pytest.UsageError(f"--batch must be >= 1, got {config.getoption('--batch')}")
    if config.getoption("--update-baselines") and config.getoption("--record-baselines"):
        raise pytest.UsageError("give --update-baselines or --record-baselines, not both")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if workers > 1:  # share the CPU cores between xdist workers instead of oversubscribing them
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    if worker and config.getoption("--device").startswith("cuda"):  # one GPU per worker, before CUDA starts
        gpus = _gpu_count()
        if gpus:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES", ",".join(map(str, range(gpus)))).split(",")
            os.environ["CUDA_VISIBLE_DEVICES"] = visible[int(worker.removeprefix("gw")) % gpus].strip()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    models = _models(config.getoption("--models"))
    if models is not None:
        chosen = [i for i in items if getattr(getattr(i, "callspec", None), "params", {}).get("case") is None
                  or i.callspec.params["case"].model in models]  # fmt: skip
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen
    shard = _shard(config.getoption("--shard"))
    if shard is None:
        return
    i, n = shard
    order = sorted(items, key=lambda item: item.nodeid)
    keep = {id(item) for k, item in enumerate(order) if k % n == i - 1}
    deselected = [item for item in items if id(item) not in keep]
    items[:] = [item for item in items if id(item) in keep]
    config.hook.pytest_deselected(items=deselected)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a worker: the controller merges everyone's shards
    root = Path(session.config.getoption("--baselines"))
    if root.is_dir():
        from horizon.baselines import merge_all_shards

        merge_all_shards(root)
    results = Path(session.config.getoption("--results"))
    if results.is_dir() and any(results.rglob("*.json")):
        from horizon.report.write import write_report

        write_report(results, Path(session.config.getoption("--reports")), root / "paper", root)


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
