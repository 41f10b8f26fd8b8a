"""Suite fixtures: one case runner per worker for the embedded default (fixture data) and one for real runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from horizon.matrix import TINY, Case
from horizon.suite_runner import CaseRunner


@dataclass
class Suite:
    tiny: CaseRunner
    real: CaseRunner
    baselines: Path
    results: Path
    mode: str

    def runner(self, case: Case) -> CaseRunner:
        return self.tiny if case.model in TINY else self.real


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, horizon_cache: Path) -> Suite:
    from horizon.benchmarks.fixtures import write_all

    opt = request.config.getoption
    fixtures = write_all(tmp_path_factory.mktemp("fixture-data"))
    model_env = {k: v for k, v in os.environ.items() if k in ("HORIZON_MODELS", "HF_HUB_CACHE", "HF_HOME")}
    common = dict(device=opt("--device"), dtype=opt("--dtype"), attn=opt("--attn"))
    tiny = CaseRunner({"HORIZON_DATA": str(fixtures)}, {"HORIZON_CACHE": str(horizon_cache)}, device="cpu")
    real_data = {k: v for k, v in os.environ.items() if k in ("HORIZON_DATA", "HF_HOME", "HF_DATASETS_CACHE")}
    real = CaseRunner(real_data, model_env, **common)
    mode = "update" if opt("--update-baselines") else "record" if opt("--record-baselines") else "compare"
    return Suite(tiny, real, Path(opt("--baselines")), Path(opt("--results")), mode)
