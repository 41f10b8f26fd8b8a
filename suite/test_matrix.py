"""Every case of the matrix (horizon/harness/matrix.py): run, write its record, compare with its baseline.

``pytest suite`` runs the embedded default on CPU; real-checkpoint cases skip with the reason (how to
provide the weights or data) unless they are on disk; ``--stand-ins`` runs them on their stand-ins instead
(docs/stand-ins.md), ``-m stand_in_sample`` the CI's sample of them. ``-m paper``, ``-m sweep``, ``-k "qwen and dart"``
select as expected; ``--dist loadgroup`` keeps one model per worker. Information cases (marker
``information``, ``pytest suite -m information -k "qwen and textvqa"``) run a study per model and benchmark
(horizon/information/study.py) and keep the whole study in the record for the report.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

import pytest

from horizon.harness import session as hs
from horizon.harness.check import check
from horizon.harness.gpus import gpu_identity
from horizon.harness.matrix import (
    Case,
    InfoCase,
    all_cases,
    information_matrix,
    protocol_refusal,
    sweep_groups,
    under_protocol,
)
from horizon.harness.records import Record, write_record
from horizon.harness.runner import Unavailable
from horizon.harness.stand_ins import sample

from .conftest import SELECTED


@cache
def _matrix(protocol: str | None, methods: tuple[str, ...] = ()) -> tuple[list[Case], dict[str, list[Case]],
                                                                          list[InfoCase], frozenset[str]]:  # fmt: skip
    """The cases (each under its own protocol, or all under ``--protocol``), their sweep groups (cases sharing a
    prefix run as one pass per worker), the information cases and the stand-in sample's ids; ``methods`` (``--methods``,
    a plugin's) join every layer sweep and information study."""
    cases = under_protocol(all_cases(methods), protocol)
    info = under_protocol(information_matrix(methods), protocol)
    return cases, sweep_groups(cases), info, frozenset(sample(cases, info))


def _param(case: Case | InfoCase, sampled: frozenset[str]):  # type: ignore[no-untyped-def]
    marks = [getattr(pytest.mark, m) for m in case.marks] + [pytest.mark.xdist_group(case.model)]
    if case.id in sampled:
        marks.append(pytest.mark.stand_in_sample)
    refusal = protocol_refusal(case)
    if refusal is not None:  # only under --protocol: the matrix gives each case a protocol its model has
        marks.append(pytest.mark.skip(reason=refusal))
    return pytest.param(case, id=case.id, marks=marks)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    cases, _, info, sampled = _matrix(metafunc.config.getoption("--protocol"),
                                      hs.parse_methods(metafunc.config.getoption("--methods")))
    chosen = {"test_case": cases, "test_information": info}.get(metafunc.function.__name__)
    if chosen is not None:
        metafunc.parametrize("case", [_param(c, sampled) for c in chosen])


def _run_and_check(suite, case, produce: Callable[[], Record], properties) -> None:  # type: ignore[no-untyped-def]
    # read by the root conftest: a report after a case ran; --device/--dtype/--attn that reached no real case; the
    # paper tables whose every case ran
    runner = suite.runner(case)
    kind = "stand-in" if runner is suite.stand_in else "real" if runner is suite.real else "default"
    properties += [("horizon_case", kind), ("horizon_id", case.id)]
    if kind != "default" and runner.device.startswith("cuda"):  # which GPU this worker ran on (the pinning line)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        properties.append(("horizon_gpu", f"{worker}: {gpu_identity(runner.device)}"))
    try:
        record = produce()
    except Unavailable as err:
        pytest.skip(str(err))
    try:
        write_record(suite.results, record)
    except OSError as err:  # a full or read-only results folder: the case fails saying where, the session goes on
        pytest.fail(f"{case.id}: its record could not be written under {suite.results}: {err}", pytrace=False)
    if kind == "stand-in" and not suite.compare_stand_ins:  # ran without error: at other settings, that is the check
        return
    problems = check(record, suite.baselines, suite.mode, owner=suite.owner)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_case(case: Case, suite, request) -> None:  # type: ignore[no-untyped-def]
    groups = _matrix(request.config.getoption("--protocol"), hs.parse_methods(request.config.getoption("--methods")))[1]
    selected = request.config.stash.get(SELECTED, set())
    group = [c for c in groups.get(case.id, ()) if c.id in selected]  # only the selected cases of its sweep pass
    run = lambda: suite.runner(case).run(case, group)  # noqa: E731
    _run_and_check(suite, case, run, request.node.user_properties)


def test_information(case: InfoCase, suite, request) -> None:  # type: ignore[no-untyped-def]
    _run_and_check(suite, case, lambda: suite.runner(case).run_information(case), request.node.user_properties)
