"""Suite fixtures: case runners per worker for the tiny models (fixture data), the organisms (held-out synth rows,
shipped weights), real runs and stand-ins (``--stand-ins``: each real checkpoint's stand-in on fixture data)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from horizon.harness.matrix import ORGANISMS, TINY, Case, InfoCase
from horizon.harness.runner import Announce, CaseRunner, organism_runner
from horizon.harness.session import RECORDED_SETTINGS, baseline_mode
from horizon.harness.stand_ins import has_stand_in

from .progress import GroupProgress

SELECTED = pytest.StashKey[set[str]]()  # the ids of the matrix cases this session runs (after -k, -m, --shard ...)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the selected cases' ids: a sweep group runs only its selected cases in its one pass (``-k`` picking one
    layer of a sweep runs that layer, not the whole figure)."""
    cases = (getattr(getattr(i, "callspec", None), "params", {}).get("case") for i in items)
    # this hook sees every item of the session (tests/ too, whose "case" parameters are other things)
    config.stash[SELECTED] = {c.id for c in cases if isinstance(c, (Case, InfoCase))}


@dataclass
class Suite:
    tiny: CaseRunner
    organism: CaseRunner
    real: CaseRunner
    stand_in: CaseRunner | None  # under --stand-ins: real checkpoints' cases run here
    baselines: Path
    results: Path
    mode: str
    owner: str  # this session and worker: the name of the baseline shards this process writes
    compare_stand_ins: bool = True  # False: stand-ins run at other settings than their baselines' (not compared)
    data: Path | None = None  # where a tier's held-out rows are written, on first use
    tiers: dict[int, CaseRunner] = field(default_factory=dict)  # held-out rows -> the organism_full tier's runner
    announce: Announce | None = None  # every runner's progress lines (suite/progress.py)

    def runner(self, case: Case | InfoCase) -> CaseRunner:
        held_out = getattr(case, "held_out", 0)
        if case.model in ORGANISMS and held_out:
            if held_out not in self.tiers:
                if self.data is None:
                    raise RuntimeError("the suite has no data folder for the organism_full tier's rows")
                self.tiers[held_out] = organism_runner(self.data / f"organism-{held_out}", held_out)
                self.tiers[held_out].announce = self.announce
            return self.tiers[held_out]
        if case.model in ORGANISMS:
            return self.organism
        if case.model in TINY:
            return self.tiny
        return self.stand_in if self.stand_in is not None and has_stand_in(case) else self.real


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, horizon_cache: Path,
          horizon_session: str) -> Suite:  # fmt: skip
    from horizon.harness.runner import default_runners

    opt = request.config.getoption
    model_env = {k: v for k, v in os.environ.items() if k in ("HORIZON_MODELS", "HF_HUB_CACHE", "HF_HOME")}
    common = dict(device=opt("--device"), dtype=opt("--dtype"), attn=opt("--attn"))
    # the tiny models on fixture rows; the organisms on the first held-out synth rows, 16 samples per forward
    tiny, organism = default_runners(tmp_path_factory.mktemp("default-data"), horizon_cache)
    real_data = {k: v for k, v in os.environ.items() if k in ("HORIZON_DATA", "HF_HOME", "HF_DATASETS_CACHE")}
    real = CaseRunner(real_data, model_env, batch=opt("--batch"), **common)
    stand_in = None
    if opt("--stand-ins"):  # the tiny models' fixture rows; built into the same cache; the real cases' settings
        fixtures = {"HORIZON_DATA": tiny.data_env["HORIZON_DATA"]}
        stand_in = CaseRunner(fixtures, {"HORIZON_CACHE": str(horizon_cache)}, batch=opt("--batch"), stand_ins=True,
                              **common)  # fmt: skip
    announce = GroupProgress(request.config)
    for runner in (tiny, organism, real, *([stand_in] if stand_in is not None else [])):
        runner.announce = announce
    mode = baseline_mode(opt("--update-baselines"), opt("--record-baselines"))
    owner = f"{horizon_session}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    recorded = all(opt(f"--{k}") == v for k, v in RECORDED_SETTINGS.items())  # what baselines/stand-in holds
    return Suite(tiny, organism, real, stand_in, Path(opt("--baselines")), Path(opt("--results")), mode, owner,
                 compare_stand_ins=recorded, data=tmp_path_factory.mktemp("tier-data"), announce=announce)  # fmt: skip

