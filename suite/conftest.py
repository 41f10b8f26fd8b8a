"""Suite fixtures: case runners per worker for the tiny models (fixture data), the organisms (held-out synth rows,
shipped weights) and real runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from horizon.evaluation.runner import CaseRunner
from horizon.matrix import ORGANISMS, TINY, Case, InfoCase


@dataclass
class Suite:
    tiny: CaseRunner
    organism: CaseRunner
    real: CaseRunner
    baselines: Path
    results: Path
    mode: str
    owner: str  # this session and worker: the name of the baseline shards this process writes

    def runner(self, case: Case | InfoCase) -> CaseRunner:
        if case.model in ORGANISMS:
            return self.organism
        return self.tiny if case.model in TINY else self.real


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, horizon_cache: Path,
          horizon_session: str) -> Suite:  # fmt: skip
    from horizon.evaluation.runner import default_runners

    opt = request.config.getoption
    model_env = {k: v for k, v in os.environ.items() if k in ("HORIZON_MODELS", "HF_HUB_CACHE", "HF_HOME")}
    common = dict(device=opt("--device"), dtype=opt("--dtype"), attn=opt("--attn"))
    # the tiny models on fixture rows; the organisms on the first held-out synth rows, 16 samples per forward
    tiny, organism = default_runners(tmp_path_factory.mktemp("default-data"), horizon_cache)
    real_data = {k: v for k, v in os.environ.items() if k in ("HORIZON_DATA", "HF_HOME", "HF_DATASETS_CACHE")}
    real = CaseRunner(real_data, model_env, batch=opt("--batch"), **common)
    mode = "update" if opt("--update-baselines") else "record" if opt("--record-baselines") else "compare"
    owner = f"{horizon_session}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    return Suite(tiny, organism, real, Path(opt("--baselines")), Path(opt("--results")), mode, owner)
