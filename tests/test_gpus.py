"""One GPU per xdist worker (horizon/harness/gpus.py): the pinning rule and the session's pinning line."""

from __future__ import annotations

import pytest

from horizon.harness.gpus import pinning_summary, worker_gpu


@pytest.mark.parametrize(
    ("worker", "visible", "count", "expected"),
    [
        ("gw0", None, 2, "0"),
        ("gw1", None, 2, "1"),
        ("gw2", None, 2, "0"),  # more workers than GPUs: round robin
        ("gw1", "3,5", 2, "5"),  # the GPUs the farm gave the controller, not 0..n-1
        ("gw0", " 7 ", 1, "7"),
        ("gw3", None, 0, None),  # no GPU: nothing pinned
        ("main", None, 4, None),  # not an xdist worker
    ],
)
def test_each_worker_takes_its_own_gpu(worker, visible, count, expected):
    assert worker_gpu(worker, visible, count) == expected


def test_two_workers_on_two_gpus_is_said_and_passes():
    line, failed = pinning_summary({"gw1": {"H100 (GPU-b; CUDA_VISIBLE_DEVICES=1, cuda)"},
                                    "gw0": {"H100 (GPU-a; CUDA_VISIBLE_DEVICES=0, cuda)"}}, 2)  # fmt: skip
    assert not failed
    assert line.index("gw0 -> H100 (GPU-a") < line.index("gw1 -> H100 (GPU-b")
    assert line.startswith("GPU pinning (2 workers, 2 GPUs visible)")


def test_two_workers_sharing_a_gpu_fail_when_each_could_have_its_own():
    same = "H100 (GPU-a; CUDA_VISIBLE_DEVICES=0, cuda)"
    line, failed = pinning_summary({"gw0": {same}, "gw1": {same}}, 2)
    assert failed and "gw0, gw1 shared one GPU although 2 are visible" in line
    # on a one-GPU machine they have to share: said, not failed
    assert pinning_summary({"gw0": {same}, "gw1": {same}}, 1)[1] is False


def test_a_worker_on_two_gpus_fails():
    line, failed = pinning_summary({"gw0": {"H100 (GPU-a; x, cuda)", "H100 (GPU-b; x, cuda)"}}, 2)
    assert failed and "gw0 ran on 2 GPUs" in line


def test_no_gpu_case_no_line():
    assert pinning_summary({}, 8) == ("", False)
