"""One GPU per pytest-xdist worker: which GPU a worker takes, what it reports it used, and the session's summary.

The root conftest pins each worker before CUDA starts (``CUDA_VISIBLE_DEVICES`` narrowed to one GPU, round robin
over the GPUs the controller sees); each real-checkpoint case on CUDA then reports the GPU its process really ran
on (:func:`gpu_identity`), and the session end prints :func:`pinning_summary`, failing when two workers shared a
GPU although each could have had its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping


def worker_gpu(worker: str, visible: str | None, count: int) -> str | None:
    """The ``CUDA_VISIBLE_DEVICES`` value for xdist ``worker`` (``gw<N>``): the N-th (mod the count) of the GPUs
    ``visible`` names (``"0,1"``; None or empty: ``0..count-1``); None when there is no GPU or no worker."""
    m = re.fullmatch(r"gw(\d+)", worker)
    if m is None or count < 1:
        return None
    gpus = [g.strip() for g in visible.split(",") if g.strip()] if visible else [str(i) for i in range(count)]
    if not gpus:
        return None
    return gpus[int(m[1]) % len(gpus)]


def gpu_identity(device: str) -> str:
    """What this process runs ``device`` on: the GPU's name and UUID and the ``CUDA_VISIBLE_DEVICES`` it was given
    (the UUID tells two GPUs of one model apart)."""
    import torch

    index = torch.device(device).index or 0
    props = torch.cuda.get_device_properties(index)
    uuid = str(getattr(props, "uuid", "")) or "no uuid"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
    return f"{props.name} ({uuid}; CUDA_VISIBLE_DEVICES={visible}, {device})"


def pinning_summary(used: Mapping[str, set[str]], gpus: int) -> tuple[str, bool]:
    """One line saying which GPU each worker used (``used``: worker -> the identities its cases reported), and
    whether the pinning failed: a worker on two GPUs, or two workers sharing one while ``gpus`` >= workers."""
    if not used:
        return "", False
    parts, problems = [], []
    owners: dict[str, list[str]] = {}
    for worker in sorted(used, key=_worker_order):
        ids = sorted(used[worker])
        parts.append(f"{worker} -> {' + '.join(ids)}")
        if len(ids) > 1:
            problems.append(f"{worker} ran on {len(ids)} GPUs")
        for gpu in ids:
            owners.setdefault(_uuid_of(gpu), []).append(worker)
    shared = {g: w for g, w in owners.items() if len(w) > 1}
    if shared and gpus >= len(used):
        problems += [f"{', '.join(w)} shared one GPU although {gpus} are visible" for w in shared.values()]
    line = f"GPU pinning ({len(used)} workers, {gpus} GPUs visible): " + "; ".join(parts)
    return (line + (" -- " + "; ".join(problems) if problems else "")), bool(problems)


def _uuid_of(identity: str) -> str:
    """The GPU an identity names: its UUID, else the whole text (a GPU without one)."""
    m = re.search(r"\(([^;]+);", identity)
    return m[1] if m and m[1] != "no uuid" else identity


def _worker_order(worker: str) -> tuple[int, str]:
    m = re.fullmatch(r"gw(\d+)", worker)
    return (int(m[1]) if m else -1, worker)
