"""Root pytest configuration: a thin plugin over the regression harness (:mod:`horizon.harness.session`).

Options are declared here and checked once, at configure, on the controller (a bad one is one usage error, worded by
the harness); relative folders are resolved from the rootdir (defaults) or the invocation folder (given ones). Each
session has an id (``SESSION``, handed to xdist workers): its baseline shards carry it and only it merges them at its
end, unless it was interrupted. Each xdist worker is pinned to one GPU before CUDA starts. The session end merges
baselines, writes the report and checks the paper tables whose every case ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from horizon.harness import session as hs
from horizon.models.settings import ATTENTION, DEVICES, DTYPE_NAMES


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("horizon", "horizon benchmark suite")
    add = g.addoption
    add("--update-baselines", action="store_true", help="rewrite baselines with the obtained values (changed ones still fail)")
    add("--record-baselines", action="store_true", help="record baselines for cases that have none")
    add("--baselines", default=None, help="baseline folder (default: <rootdir>/baselines)")
    add("--results", default=None, help="folder for case records (default: <rootdir>/results)")
    add("--reports", default=None, help="where the session's report is written (default: <rootdir>/reports)")
    add("--shard", default=None, help="i/n: run only the i-th of n deterministic slices of the cases")
    add("--models", default=None, help="comma-separated model presets: run only their cases")
    rec = hs.RECORDED_SETTINGS
    add("--device", default=rec["device"], help=f"real-checkpoint cases: {DEVICES} (one GPU per xdist worker)")
    add("--dtype", default=rec["dtype"], help=f"real-checkpoint cases: {' | '.join(DTYPE_NAMES)}")
    add("--attn", default=rec["attn"], help=f"real-checkpoint cases: {' | '.join(ATTENTION)}")
    add("--protocol", default=None, help="run every case under this protocol (default: each case's own; docs/protocol.md)")
    add("--stand-ins", action="store_true",
        help="run each real-checkpoint case on its stand-in (random weights of the same depth and visual geometry, "
             "fixture rows): checks the plumbing and a machine's configuration, measures nothing; records in "
             "<results>/stand-in, baselines in <baselines>/stand-in, report in reports/stand-in (docs/stand-ins.md)")  # fmt: skip
    add("--batch", type=int, default=rec["batch"], help="samples per forward in real models' sweep groups (same answers, faster)")  # fmt: skip
    add("--plugin", action="append", default=[], metavar="MODULE_OR_FILE",
        help="register a plugin's methods (a module name or a .py file; repeatable; docs/plugins.md); installed "
             "horizon.methods entry points load always")  # fmt: skip
    add("--progress", default="auto", choices=("auto", "always", "never"),
        help="a line as each long sweep group or information study starts, every 20 s while it runs and as it ends "
             "(auto: when stderr is a terminal; suite/progress.py)")  # fmt: skip
    add("--methods", default=None,
        help="comma-separated methods (a plugin's) that join every layer sweep and information study; their "
             "baselines need --baselines FOLDER")  # fmt: skip


SESSION = pytest.StashKey[str]()  # this session's id (the controller's, on a worker)
RAN = pytest.StashKey[hs.CasesRan]()
FINISH = pytest.StashKey[list[str]]()  # what the session end has to say


class _Counter:
    """Feeds each case's call report to the session's :class:`~horizon.harness.session.CasesRan` (controller)."""

    def __init__(self, ran: hs.CasesRan) -> None:
        self.ran = ran

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and not report.skipped:
            self.ran.saw(report.user_properties)


def _usage(check: Callable[[], object]) -> object:
    try:
        return check()
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None


def _given(config: pytest.Config) -> dict[str, object]:
    return {k: config.getoption(k) for k in hs.RECORDED_SETTINGS}


def pytest_configure(config: pytest.Config) -> None:
    for name, text in hs.MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    opt = config.getoption
    if opt("--plugin") or opt("--methods") is not None or hs.runs_suite(config.args, config.invocation_params.dir,
                                                                          config.rootpath):  # fmt: skip
        from horizon.methods.plugins import load_plugins

        _usage(lambda: load_plugins(opt("--plugin")))  # before the matrix is built: on the controller and each worker
    _usage(lambda: hs.parse_methods(opt("--methods")))
    _usage(lambda: hs.parse_shard(opt("--shard")))
    _usage(lambda: hs.parse_models(opt("--models")))
    _usage(lambda: hs.check_protocol(opt("--protocol")))
    _usage(lambda: hs.check_markexpr(opt("markexpr") or ""))
    _usage(lambda: hs.check_batch(opt("--batch")))
    _usage(lambda: hs.check_modes(opt("--update-baselines"), opt("--record-baselines")))
    given = {name: getattr(config.option, name) for name in hs.FOLDERS}
    for name, path in hs.resolve_folders(config.rootpath, config.invocation_params.dir, given,
                                         stand_ins=opt("--stand-ins")).items():  # fmt: skip
        setattr(config.option, name, path)
    _usage(lambda: hs.check_plugin_baselines(hs.parse_methods(opt("--methods")), Path(opt("baselines")),
                                             config.rootpath / "baselines"))  # fmt: skip
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        from horizon.harness.merge import new_session
        from horizon.models.loading import check_options

        try:  # on the controller only: a worker must not start CUDA before pinning
            check_options(opt("--dtype"), opt("--attn"), opt("--device"))
        except ValueError as err:
            raise pytest.UsageError(f"{err} (options --device/--dtype/--attn)") from None
        writes = {"results", "reports"} | ({"baselines"} if opt("--update-baselines") or opt("--record-baselines")
                                           else set())  # fmt: skip
        if hs.runs_suite(config.args, config.invocation_params.dir, config.rootpath):  # `pytest tests/` writes none
            _usage(lambda: hs.check_folders({k: getattr(config.option, k) for k in hs.FOLDERS}, writes))
        config.stash[SESSION] = new_session()
        config.stash[RAN] = hs.CasesRan()
        config.pluginmanager.register(_Counter(config.stash[RAN]), "horizon-cases-ran")
    else:
        config.stash[SESSION] = workerinput["horizon_session"]
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if workers > 1:  # share the CPU cores between xdist workers instead of oversubscribing them
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    if worker and opt("--device").startswith("cuda"):  # one GPU per worker, before CUDA starts
        from horizon.harness.gpus import worker_gpu

        gpu = worker_gpu(worker, os.environ.get("CUDA_VISIBLE_DEVICES"), hs.gpu_count())
        if gpu is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = gpu


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist: hand the controller's session id to a worker, so its shards are this session's."""
    node.workerinput["horizon_session"] = node.config.stash[SESSION]  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> list[str]:
    return hs.header(config.stash[SESSION], config.getoption("--baselines"), _given(config),
                     config.getoption("--protocol"), config.getoption("--stand-ins"))  # fmt: skip


def _case_of(item: pytest.Item) -> object:
    """The matrix case an item runs (suite/test_matrix.py), else None."""
    return getattr(getattr(item, "callspec", None), "params", {}).get("case")


def _keep(config: pytest.Config, items: list[pytest.Item], keep: Callable[[pytest.Item], bool]) -> None:
    config.hook.pytest_deselected(items=[i for i in items if not keep(i)])
    items[:] = [i for i in items if keep(i)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for tier in hs.tiers_deselected(config.getoption("markexpr") or ""):
        _keep(config, items, lambda i, tier=tier: i.get_closest_marker(tier) is None)
    if config.getoption("--stand-ins"):  # only the real checkpoints' cases have stand-ins
        from horizon.harness.stand_ins import has_stand_in

        _keep(config, items, lambda i: _case_of(i) is None or has_stand_in(_case_of(i)))  # type: ignore[arg-type]
    models = hs.parse_models(config.getoption("--models"))
    if models is not None:
        _keep(config, items, lambda i: _case_of(i) is None or _case_of(i).model in models)  # type: ignore[attr-defined]
    shard = hs.parse_shard(config.getoption("--shard"))
    if shard is not None:
        kept = hs.shard_keep([i.nodeid for i in items], shard)
        _keep(config, items, lambda i: i.nodeid in kept)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a worker: the controller merges the session's shards
    config = session.config
    ran = config.stash[RAN]
    root = Path(config.getoption("--baselines"))
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    end = hs.finish_baselines(root, config.stash[SESSION], interrupted=interrupted,
                              update=config.getoption("--update-baselines"))  # fmt: skip
    said, failed = end.said, end.failed
    results, reports = Path(config.getoption("--results")), Path(config.getoption("--reports"))
    stand_ins = bool(config.getoption("--stand-ins"))
    again = f"`horizon report {results} --out {reports} --baselines {root}`"
    if end.stopped:  # Ctrl-C during the merge: it finished (all or nothing); the session stops there
        said.append(f"report not written (interrupted): {again} writes it")
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    elif ran.ran and results.is_dir() and any(results.rglob("*.json")):
        from horizon.report.completeness import paper_completeness
        from horizon.report.write import write_report

        try:
            path, _ = write_report(results, reports, root / "paper", root, stand_ins=stand_ins)
            said.append(f"report: {path}")
            tables, empty = paper_completeness(results, ran.ids, stand_ins, config.getoption("--protocol"))
            said += [tables] if tables else []
            failed |= empty
        except ValueError as err:  # a damaged record or paper table, named: the session fails, it does not crash
            said.append(f"report not written: {err}")
            failed = True
        except OSError as err:  # a read-only or full reports folder: the records and baselines are kept
            said.append(f"report not written to {reports}: {err}; `horizon report {results} --out <folder> "
                        f"--baselines {root}` writes it elsewhere")  # fmt: skip
            failed = True
        except KeyboardInterrupt:
            merged = f"; the {end.written} baseline files of this session were already merged" if end.written else ""
            said.append(f"report not written (Ctrl-C while writing it{merged}): {again} writes it")
            session.exitstatus = pytest.ExitCode.INTERRUPTED
    from horizon.harness.gpus import pinning_summary

    pinning, pinning_failed = pinning_summary(ran.gpus, hs.gpu_count())
    said += [pinning] if pinning else []
    unreached = hs.unreached_settings(_given(config), ran.real)
    said += [unreached] if unreached else []
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and (config.option.keyword or config.option.markexpr):
        from horizon.harness.matrix import all_cases, information_matrix

        ids = [c.id for c in all_cases()] + [c.id for c in information_matrix()]
        said.append(hs.nothing_selected_hint(config.option.keyword, config.option.markexpr, ids))
    if (failed or pinning_failed) and session.exitstatus != pytest.ExitCode.INTERRUPTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    config.stash[FINISH] = said


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
