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

    def runner(self, case: Case | InfoCase) -> CaseRunner:
        if case.model in ORGANISMS:
            return self.organism
        return self.tiny if case.model in TINY else self.real


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, horizon_cache: Path) -> Suite:
    from horizon.benchmarks.fixtures import write_all, write_parquet
    from horizon.benchmarks.synth import HELD_OUT_SEED, rows
    from horizon.matrix import SUITE_ROWS

    opt = request.config.getoption
    fixtures = write_all(tmp_path_factory.mktemp("fixture-data"))
    model_env = {k: v for k, v in os.environ.items() if k in ("HORIZON_MODELS", "HF_HUB_CACHE", "HF_HOME")}
    common = dict(device=opt("--device"), dtype=opt("--dtype"), attn=opt("--attn"))
    tiny = CaseRunner({"HORIZON_DATA": str(fixtures)}, {"HORIZON_CACHE": str(horizon_cache)}, device="cpu")
    # the organisms: the first SUITE_ROWS held-out synth rows; their shipped weights (or $HORIZON_MODELS/<name>)
    held_out = tmp_path_factory.mktemp("organism-data")
    write_parquet("synth", held_out / "synth", rows(SUITE_ROWS, seed=HELD_OUT_SEED))
    organism_models = {k: v for k, v in os.environ.items() if k == "HORIZON_MODELS"}
    # samples run 16 per forward in the organisms' sweep groups: the same answers (tests/test_benchmarks.py), ~5x faster
    organism = CaseRunner({"HORIZON_DATA": str(held_out)}, organism_models, device="cpu", batch=16)
    real_data = {k: v for k, v in os.environ.items() if k in ("HORIZON_DATA", "HF_HOME", "HF_DATASETS_CACHE")}
    real = CaseRunner(real_data, model_env, batch=opt("--batch"), **common)
    mode = "update" if opt("--update-baselines") else "record" if opt("--record-baselines") else "compare"
    return Suite(tiny, organism, real, Path(opt("--baselines")), Path(opt("--results")), mode)
