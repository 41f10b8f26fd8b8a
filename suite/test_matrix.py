"""Every case of the matrix (horizon/matrix.py): run, write its record, compare with its baseline.

``pytest suite`` runs the embedded default on CPU; real-checkpoint cases skip with the reason (how to
provide the weights or data) unless they are on disk. ``-m paper``, ``-m sweep``, ``-k "qwen and dart"``
select as expected; ``--dist loadgroup`` keeps one model per worker. Information cases (marker
``information``, ``pytest suite -m information -k "qwen and textvqa"``) run a study per model and benchmark
(horizon/information/study.py) and keep the whole study in the record for the report.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from horizon.evaluation.check import check
from horizon.evaluation.runner import Unavailable
from horizon.matrix import Case, InfoCase, all_cases, information_matrix, sweep_groups
from horizon.results import Record, write_record

CASES = all_cases()
GROUPS = sweep_groups(CASES)  # sweep cases sharing a prefix run as one pass per worker


def _param(case: Case | InfoCase):  # type: ignore[no-untyped-def]
    marks = [getattr(pytest.mark, m) for m in case.marks] + [pytest.mark.xdist_group(case.model)]
    return pytest.param(case, id=case.id, marks=marks)


def _run_and_check(suite, case, produce: Callable[[], Record], properties) -> None:  # type: ignore[no-untyped-def]
    # read by the root conftest: a report after a case ran; --device/--dtype/--attn that reached no real case
    properties.append(("horizon_case", "real" if suite.runner(case) is suite.real else "default"))
    try:
        record = produce()
    except Unavailable as err:
        pytest.skip(str(err))
    write_record(suite.results, record)
    problems = check(record, suite.baselines, suite.mode, owner=suite.owner)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: Case, suite, request) -> None:  # type: ignore[no-untyped-def]
    run = lambda: suite.runner(case).run(case, GROUPS.get(case.id, ()))  # noqa: E731
    _run_and_check(suite, case, run, request.node.user_properties)


@pytest.mark.parametrize("case", [_param(c) for c in information_matrix()])
def test_information(case: InfoCase, suite, request) -> None:  # type: ignore[no-untyped-def]
    _run_and_check(suite, case, lambda: suite.runner(case).run_information(case), request.node.user_properties)
