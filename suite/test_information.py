"""Information cases (marker ``information``): a study per model and benchmark (horizon/information/study.py),
its numbers compared with the baselines like every other case, the whole study kept in the record for the
report's information section. ``pytest suite -m information -k "qwen and textvqa"``."""

from __future__ import annotations

import pytest

from horizon.matrix import InfoCase, information_matrix
from horizon.results import write_record
from horizon.suite_runner import Unavailable, check


def _param(case: InfoCase):  # type: ignore[no-untyped-def]
    marks = [getattr(pytest.mark, m) for m in case.marks] + [pytest.mark.xdist_group(case.model)]
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in information_matrix()])
def test_information(case: InfoCase, suite) -> None:  # type: ignore[no-untyped-def]
    try:
        record = suite.runner(case).run_information(case)  # type: ignore[arg-type]
    except Unavailable as err:
        pytest.skip(str(err))
    write_record(suite.results, record)
    problems = check(record, suite.baselines, suite.mode)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
