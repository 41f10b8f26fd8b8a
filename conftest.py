"""Root pytest configuration: options, markers, session fixtures, xdist GPU pinning, baseline merging.

Thin on purpose: the logic lives in ``horizon`` (``horizon/evaluation/``, ``horizon/baselines.py``). Every option
is checked once, at configure, on the controller (a bad one is one usage error); relative folders are resolved from
the rootdir (defaults) or the invocation folder (given ones), never from a worker's cwd. Each session has an id
(``SESSION``, handed to xdist workers): its baseline shards carry it and only it merges them at its end, unless it
was interrupted; other sessions' leftovers are reported, never merged.
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
    "organism_full": "the organisms' finding cases on 4200 held-out rows (paired, seeded; about 40 minutes on 2 cores): "
    "run only when -m names it",
    "gpu": "real checkpoints, meant for a CUDA device",
    "nightly": "nightly matrix on real checkpoints and data",
    "paper": "reproduces a table of the paper",
    "sweep": "layer sweeps (Figures 1, 2, 9, 10)",
    "efficiency": "latency, memory and FLOPs cases (Table 3)",
    "information": "visual-token information cases",
    "stand_in_sample": "a deterministic sample of the real-checkpoint cases touching every paper table, figure, "
    "benchmark, method and preset (horizon/stand_ins.py; CI runs it with --stand-ins)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("horizon", "horizon benchmark suite")
    g.addoption(
        "--update-baselines",
        action="store_true",
        help="rewrite baselines with the obtained values (changed ones still fail)",
    )
    g.addoption("--record-baselines", action="store_true", help="record baselines for cases that have none")
    g.addoption("--baselines", default=None, help="baseline folder (default: <rootdir>/baselines)")
    g.addoption("--results", default=None, help="folder for case records (default: <rootdir>/results)")
    g.addoption("--reports", default=None, help="where the session's report is written (default: <rootdir>/reports)")
    g.addoption("--shard", default=None, help="i/n: run only the i-th of n deterministic slices of the cases")
    g.addoption("--models", default=None, help="comma-separated model presets: run only their cases")
    g.addoption("--device", default="cpu", help="real-checkpoint cases: cpu, cuda or cuda:N (one GPU per xdist worker)")
    g.addoption("--dtype", default="float32", help="real-checkpoint cases: float32 | float16 | bfloat16")
    g.addoption("--attn", default="sdpa", help="real-checkpoint cases: sdpa | eager | flash_attention_2")
    g.addoption("--protocol", default=None,
                help="run every case under this protocol: paper | lmms-eval (default: each case's own; docs/protocol.md)")
    g.addoption("--stand-ins", action="store_true",
                help="run each real-checkpoint case on its stand-in (random weights of the same depth and visual "
                     "geometry, fixture rows): checks the plumbing and a machine's configuration, measures nothing; "
                     "records in <results>/stand-in, baselines in <baselines>/stand-in, report in reports/stand-in "
                     "(docs/stand-ins.md)")
    g.addoption(
        "--batch", type=int, default=1, help="samples per forward in real models' sweep groups (same answers, faster)"
    )


SESSION = pytest.StashKey[str]()  # this session's id (the controller's, on a worker)
FOLDERS = ("baselines", "results", "reports")
# the options that reach only the real-checkpoint cases: the default cases keep the settings of their baselines
REAL_ONLY = {"device": "cpu", "dtype": "float32", "attn": "sdpa", "batch": 1}
FINISH = pytest.StashKey[list[str]]()  # what the session end has to say (merge problems, stale files)


class CasesRan:
    """Counts the suite's cases that ran, and the real-checkpoint ones among them (stand-ins included: they take the
    same options; suite/test_matrix.py marks their reports), on the controller: the session end writes a report only
    after a case ran, and checks the paper tables whose every case ran."""

    def __init__(self) -> None:
        self.ran = 0
        self.real = 0
        self.ids: set[str] = set()
        self.gpus: dict[str, set[str]] = {}  # xdist worker -> the GPUs its real-checkpoint cases reported

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or report.skipped:
            return
        props = dict(report.user_properties)
        kinds = props.get("horizon_case")
        self.ran += kinds is not None
        self.real += kinds in ("real", "stand-in")
        if kinds is not None:
            self.ids.add(str(props.get("horizon_id")))
        if "horizon_gpu" in props:  # "<worker>: <identity>" (suite/test_matrix.py)
            worker, _, gpu = str(props["horizon_gpu"]).partition(": ")
            self.gpus.setdefault(worker, set()).add(gpu)


RAN = pytest.StashKey[CasesRan]()


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


def _protocol(value: str | None) -> None:
    if value is None:
        return
    from horizon.protocol import PROTOCOLS

    if value not in PROTOCOLS:
        raise pytest.UsageError(f"--protocol: {PROTOCOLS.unknown_message(value)}")


def _check_markexpr(expr: str) -> None:
    builtin = {"and", "or", "not", "skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"}
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr):
        if word not in MARKERS and word not in builtin and not word.startswith("xdist"):
            raise pytest.UsageError(f"-m {expr!r}: unknown marker {word!r} (markers: {', '.join(MARKERS)})")


def _resolve_folders(config: pytest.Config) -> None:
    """``--baselines/--results/--reports`` as absolute paths: a default under the rootdir, a given relative path
    under the folder pytest was invoked from (so ``pytest <repo>/suite`` from elsewhere uses the repo's)."""
    for name in FOLDERS:
        value = getattr(config.option, name)
        default = config.rootpath / name
        if name == "reports" and config.getoption("--stand-ins"):  # a stand-in session's report never replaces the real one
            default = default / "stand-in"
        path = default if value is None else config.invocation_params.dir / Path(value)
        setattr(config.option, name, str(path.resolve()))


def _check_model_options(config: pytest.Config) -> None:
    from horizon.models.loading import check_options

    try:
        check_options(config.getoption("--dtype"), config.getoption("--attn"), config.getoption("--device"))
    except ValueError as err:
        raise pytest.UsageError(f"{err} (options --device/--dtype/--attn)") from None


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    _shard(config.getoption("--shard"))
    _models(config.getoption("--models"))
    _protocol(config.getoption("--protocol"))
    _check_markexpr(config.getoption("markexpr") or "")
    if config.getoption("--batch") < 1:
        raise pytest.UsageError(f"--batch must be >= 1, got {config.getoption('--batch')}")
    if config.getoption("--update-baselines") and config.getoption("--record-baselines"):
        raise pytest.UsageError("give --update-baselines or --record-baselines, not both")
    _resolve_folders(config)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        from horizon.baselines import new_session

        _check_model_options(config)  # on the controller only: a worker must not start CUDA before pinning
        config.stash[SESSION] = new_session()
        config.stash[RAN] = CasesRan()
        config.pluginmanager.register(config.stash[RAN], "horizon-cases-ran")
    else:
        config.stash[SESSION] = workerinput["horizon_session"]
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if workers > 1:  # share the CPU cores between xdist workers instead of oversubscribing them
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    if worker and config.getoption("--device").startswith("cuda"):  # one GPU per worker, before CUDA starts
        from horizon.evaluation.gpus import worker_gpu

        gpu = worker_gpu(worker, os.environ.get("CUDA_VISIBLE_DEVICES"), _gpu_count())
        if gpu is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = gpu


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist: hand the controller's session id to a worker, so its shards are this session's."""
    node.workerinput["horizon_session"] = node.config.stash[SESSION]  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> list[str]:
    given = {k: config.getoption(k) for k in REAL_ONLY}
    settings = " ".join(f"--{k} {v}" for k, v in given.items())
    return [
        f"horizon: session {config.stash[SESSION]}; baselines {config.getoption('--baselines')}",
        f"horizon: {settings} apply to the real-checkpoint cases; the default cases (tiny models, organisms) run "
        "on cpu float32 sdpa, batch as recorded in their baselines",
        "horizon: protocol " + (f"{config.getoption('--protocol')} for every case (--protocol)"
                                if config.getoption("--protocol") else "of each case (LLaVA-1.5 paper cases: paper; "
                                "the others: lmms-eval; docs/protocol.md)"),
    ] + (["horizon: --stand-ins: each real-checkpoint case runs on its stand-in (random weights, fixture rows; its "
          "numbers carry no meaning); the embedded default's cases are deselected; docs/stand-ins.md"]
         if config.getoption("--stand-ins") else [])  # fmt: skip


def _case_of(item: pytest.Item) -> object:
    """The matrix case an item runs (suite/test_matrix.py), else None."""
    return getattr(getattr(item, "callspec", None), "params", {}).get("case")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "organism_full" not in (config.getoption("markexpr") or ""):  # half an hour of CPU: only when asked for by name
        tier = [i for i in items if i.get_closest_marker("organism_full") is not None]
        if tier:
            config.hook.pytest_deselected(items=tier)
            items[:] = [i for i in items if i.get_closest_marker("organism_full") is None]
    if config.getoption("--stand-ins"):  # only the real checkpoints' cases have stand-ins
        from horizon.stand_ins import has_stand_in

        chosen = [i for i in items if _case_of(i) is None or has_stand_in(_case_of(i))]  # type: ignore[arg-type]
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen
    models = _models(config.getoption("--models"))
    if models is not None:
        chosen = [i for i in items if _case_of(i) is None or _case_of(i).model in models]  # type: ignore[attr-defined]
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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a worker: the controller merges the session's shards
    from horizon.baselines import merge_session, stale_files

    config = session.config
    root = Path(config.getoption("--baselines"))
    said: list[str] = []
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        left = len(stale_files(root)) if root.is_dir() else 0
        said.append(f"interrupted: no baseline was changed ({left} shard/temporary files left in {root}; "
                    "`horizon baselines --clean` removes them)")  # fmt: skip
    else:
        _, problems = merge_session(root, config.stash[SESSION], replace_damaged=config.getoption("--update-baselines"))
        said += problems
        if problems:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        stale = stale_files(root, config.stash[SESSION])
        if stale:
            said.append(f"{len(stale)} stale files from interrupted sessions under {root} (never merged; "
                        f"`horizon baselines --clean` removes them): " + ", ".join(str(p.relative_to(root)) for p in stale[:5])
                        + (" ..." if len(stale) > 5 else ""))  # fmt: skip
    results = Path(config.getoption("--results"))
    if config.stash[RAN].ran and results.is_dir() and any(results.rglob("*.json")):
        from horizon.report.write import write_report

        try:
            stand_ins = bool(config.getoption("--stand-ins"))
            path, _ = write_report(results, Path(config.getoption("--reports")), root / "paper", root,
                                   stand_ins=stand_ins)  # fmt: skip
            said.append(f"report: {path}")
            tables, empty = _paper_tables(results, config.stash[RAN].ids, stand_ins, config.getoption("--protocol"))
            said += [tables] if tables else []
            if empty:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        except ValueError as err:  # a damaged record or paper table, named: the session fails, it does not crash
            said.append(f"report not written: {err}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    from horizon.evaluation.gpus import pinning_summary

    pinning, pinning_failed = pinning_summary(config.stash[RAN].gpus, _gpu_count())
    said += [pinning] if pinning else []
    if pinning_failed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    real = [k for k, default in REAL_ONLY.items() if config.getoption(k) != default]
    if real and not config.stash[RAN].real:
        said.append(f"{', '.join('--' + k for k in real)} reached no case this session: only real-checkpoint "
                    "cases take them, and none ran")  # fmt: skip
    config.stash[FINISH] = said


def _paper_tables(results: Path, ran: set[str], stand_ins: bool, protocol: str | None) -> tuple[str, bool]:
    """For every paper table whose every case ran this session: whether the session's records leave a cell of it empty
    (a case whose label or benchmark is not its layout's does), said in a line; ('', False) when no table ran whole."""
    from horizon.matrix import paper_table, under_protocol
    from horizon.paper_tables import PAPER_TABLES
    from horizon.report.tables import missing_cells, missing_table3
    from horizon.results import read_records

    complete = [name for name in PAPER_TABLES if {c.id for c in under_protocol(paper_table(name), protocol)} <= ran]
    if not complete:
        return "", False
    records = [r for r in read_records(results) if bool(r.stand_in) == stand_ins and r.case in ran]
    found = []
    for name in complete:
        empty = missing_table3(records) if name == "table3" else missing_cells(PAPER_TABLES[name], records)
        found += [f"{name}: {cell}" for cell in empty]
    if not found:
        return f"paper tables complete: {', '.join(complete)} (every case ran; no empty cell)", False
    return (f"{len(found)} empty cells in paper tables whose every case ran (a label or benchmark that is not its "
            "layout's?): " + "; ".join(found[:8]) + (" ..." if len(found) > 8 else "")), True


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(FINISH, [])
    if lines:
        terminalreporter.section("horizon")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def horizon_session(request: pytest.FixtureRequest) -> str:
    """This session's id (the same on every xdist worker): the name its baseline shards carry."""
    return request.config.stash[SESSION]


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
