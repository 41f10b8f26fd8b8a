"""A suite session's own logic, without pytest: its markers, its options checked once, which cases it selects, and
what its end says (baselines merged or kept, stale files). The root ``conftest.py`` is a thin pytest plugin over
these functions; each raises ``ValueError`` naming the option, the value and what is allowed (the plugin turns it
into one usage error) or returns what the session end prints.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from horizon.harness.merge import merge_session, stale_files
from horizon.models.settings import DEFAULT_ATTENTION, DEFAULT_DEVICE, DEFAULT_DTYPE
from horizon.protocol import DEFAULT_PROTOCOL, PAPER_PROTOCOL

MARKERS = {
    "default": "the embedded CPU default (organisms on held-out synth rows, tiny models on fixture data)",
    "organism": "the trained model organisms on synth (horizon/organism/)",
    "organism_full": "the organisms' finding cases on 4200 held-out rows (paired, seeded; about 40 minutes on 2 cores): "
    "run only when -m names it",
    "deepstack": "organism-qwen3-vl (DeepStack) on the default's held-out synth rows, the DeepStack pair's other half "
    "beside organism-qwen2.5-vl: run only when -m names it",
    "gpu": "real checkpoints, meant for a CUDA device",
    "nightly": "nightly matrix on real checkpoints and data",
    "paper": "reproduces a table of the paper",
    "sweep": "layer sweeps (Figures 1, 2, 9, 10)",
    "efficiency": "latency, memory and FLOPs cases (Table 3)",
    "information": "visual-token information cases",
    "stand_in_sample": "a deterministic sample of the real-checkpoint cases touching every paper table, figure, "
    "benchmark, method and preset (horizon/harness/stand_ins.py; CI runs it with --stand-ins)",
}
# tiers: cases that run only when -m names them (organism_full: half an hour of CPU; deepstack: minutes the default
# run has no room for)
TIER_MARKERS = ("organism_full", "deepstack")
FOLDERS = ("baselines", "results", "reports")
# The settings the default's cases (and the stand-ins' baselines) were recorded at: --device/--dtype/--attn/--batch
# reach only the real-checkpoint cases, and a stand-in run at other settings is run but not compared.
RECORDED_SETTINGS: Mapping[str, Any] = {"device": DEFAULT_DEVICE, "dtype": DEFAULT_DTYPE, "attn": DEFAULT_ATTENTION,
                                        "batch": 1}  # fmt: skip
_PYTEST_MARKS = {"and", "or", "not", "skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"}


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``--shard i/n`` as (i, n), or None when not given."""
    if value is None:
        return None
    m = re.fullmatch(r"(\d+)/(\d+)", value)
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise ValueError(f"--shard {value!r}: write i/n with 1 <= i <= n, e.g. --shard 2/4")
    return int(m[1]), int(m[2])


def parse_models(value: str | None) -> set[str] | None:
    """``--models a,b`` as the set of presets (each a known one), or None when not given."""
    if value is None:
        return None
    from horizon.models.presets import MODELS

    names = {v.strip() for v in value.split(",") if v.strip()}
    if not names:
        raise ValueError(f"--models {value!r} names no model: give comma-separated presets (horizon list models)")
    for name in names:
        if name not in MODELS:
            raise ValueError(f"--models: {MODELS.unknown_message(name)}")
    return names


def parse_methods(value: str | None) -> tuple[str, ...]:
    """``--methods a,b``: registered methods (a plugin's, loaded first with ``--plugin`` or its entry point) that
    join every layer sweep and information study; () when not given."""
    if value is None:
        return ()
    from horizon.methods import METHODS

    names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if not names:
        raise ValueError(f"--methods {value!r} names no method: give comma-separated methods (horizon list methods)")
    for name in names:
        if name not in METHODS:
            raise ValueError(f"--methods: {METHODS.unknown_message(name)} (a plugin's method needs --plugin FILE, "
                             "or its package installed)")  # fmt: skip
    return names


def check_plugin_baselines(methods: tuple[str, ...], baselines: Path, default: Path) -> None:
    """A plugin's cases keep their baselines in a folder the user names, never the repo's own."""
    from horizon.methods import METHODS
    from horizon.methods.plugins import method_source

    plugins = [m for m in methods if method_source(METHODS.get(m)) != "built-in"]
    if plugins and baselines.resolve() == default.resolve():
        raise ValueError(f"--methods {','.join(plugins)}: a plugin's baselines go to a folder you name "
                         f"(--baselines FOLDER), never horizon's own {default}")  # fmt: skip


def check_protocol(value: str | None) -> None:
    """``--protocol``: a known protocol, or None (each case's own)."""
    if value is None:
        return
    from horizon.protocol import PROTOCOLS

    if value not in PROTOCOLS:
        raise ValueError(f"--protocol: {PROTOCOLS.unknown_message(value)}")


def check_markexpr(expr: str) -> None:
    """``-m``: every word a suite marker, a pytest builtin or an xdist one."""
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr):
        if word not in MARKERS and word not in _PYTEST_MARKS and not word.startswith("xdist"):
            raise ValueError(f"-m {expr!r}: unknown marker {word!r} (markers: {', '.join(MARKERS)})")


def check_batch(value: int) -> None:
    if value < 1:
        raise ValueError(f"--batch must be >= 1, got {value}")


def check_modes(update: bool, record: bool) -> None:
    if update and record:
        raise ValueError("give --update-baselines or --record-baselines, not both")


def baseline_mode(update: bool, record: bool) -> str:
    """The baseline mode of a session (:data:`horizon.harness.check.MODES`)."""
    return "update" if update else "record" if record else "compare"


def resolve_folders(root: Path, invoked: Path, given: Mapping[str, str | None], *, stand_ins: bool) -> dict[str, str]:
    """``--baselines/--results/--reports`` as absolute paths: a default under the rootdir ``root`` (a stand-in
    session's report under ``reports/stand-in``, never replacing the real one), a given relative path under the
    folder pytest was ``invoked`` from (so ``pytest <repo>/suite`` from elsewhere uses the repo's)."""
    out = {}
    for name in FOLDERS:
        default = root / name
        if name == "reports" and stand_ins:
            default = default / "stand-in"
        value = given.get(name)
        out[name] = str((default if value is None else invoked / Path(value)).resolve())
    return out


def check_folders(folders: Mapping[str, str], writes: Iterable[str]) -> None:
    """Before any case runs: each of ``folders`` (name -> path) is a folder or can become one, and each named in
    ``writes`` can be written (a file is created and removed in it, or in its nearest existing parent): so a
    ``--results`` that is a file, or a read-only folder, is one usage error, not a failure in every case."""
    import tempfile

    for name, value in folders.items():
        path = Path(value)
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not existing.is_dir():
            where = "is a file" if existing == path else f"is under {existing}, which is a file"
            raise ValueError(f"--{name} {value!r} {where}: give a folder")
        if name in writes:
            try:
                with tempfile.TemporaryFile(dir=existing):
                    pass
            except OSError as err:
                raise ValueError(f"--{name} {value!r}: cannot write in {existing} ({err.strerror or err}); give a "
                                 "writable folder") from None  # fmt: skip


def runs_suite(args: Sequence[str], invoked: Path, root: Path) -> bool:
    """Whether a pytest invocation's paths (``args``; none: the testpaths, suite included) reach the suite's cases,
    whose records, report and baselines are written: ``pytest tests/`` writes none of them."""
    suite = (root / "suite").resolve()
    if not args:
        return True
    for arg in args:
        path = (invoked / arg.split("::")[0]).resolve()
        if path == suite or suite in path.parents or path in suite.parents:
            return True
    return False


def tiers_deselected(markexpr: str) -> tuple[str, ...]:
    """The tiers (:data:`TIER_MARKERS`) whose cases leave the session: each one ``-m`` does not name."""
    return tuple(t for t in TIER_MARKERS if t not in markexpr)


def shard_keep(nodeids: Sequence[str], shard: tuple[int, int]) -> set[str]:
    """The node ids the ``i``-th of ``n`` deterministic slices keeps (every n-th in sorted order)."""
    i, n = shard
    return {nodeid for k, nodeid in enumerate(sorted(nodeids)) if k % n == i - 1}


def gpu_count(env: Mapping[str, str] | None = None) -> int:
    """The GPUs this session may use, counted without initialising CUDA in this process: ``CUDA_VISIBLE_DEVICES``
    when set, else ``nvidia-smi -L``, else 0."""
    env = os.environ if env is None else env
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return len([d for d in visible.split(",") if d.strip()])
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False).stdout
        return sum(1 for line in out.splitlines() if line.startswith("GPU "))
    return 0


@dataclass
class CasesRan:
    """The suite's cases that ran this session (counted on the controller from each case's reported properties):
    the session end writes a report only after a case ran, checks the paper tables whose every case ran, and says
    which GPU each xdist worker used."""

    ran: int = 0
    real: int = 0  # real-checkpoint cases, stand-ins included (they take the same options)
    ids: set[str] = field(default_factory=set)
    gpus: dict[str, set[str]] = field(default_factory=dict)  # xdist worker -> the GPUs its cases reported

    def saw(self, properties: Iterable[tuple[str, object]]) -> None:
        """One case's call that did not skip, with its ``user_properties`` (suite/test_matrix.py sets them)."""
        props = dict(properties)
        kind = props.get("horizon_case")
        if kind is None:
            return
        self.ran += 1
        self.real += kind in ("real", "stand-in")
        self.ids.add(str(props.get("horizon_id")))
        if "horizon_gpu" in props:  # "<worker>: <identity>"
            worker, _, gpu = str(props["horizon_gpu"]).partition(": ")
            self.gpus.setdefault(worker, set()).add(gpu)


class Deferred:
    """Holds Ctrl-C (SIGINT) and SIGTERM back while a block that must finish runs, then says whether one came: the
    baseline merge is all or nothing, so an interruption during it waits for its end (``with Deferred() as d:``;
    ``d.caught``). Outside the main thread (where signals cannot be handled) it defers nothing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.caught: list[str] = []
        self._before: dict[int, Any] = {}

    def __enter__(self) -> Deferred:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                before = signal.getsignal(sig)
                if before is not signal.SIG_IGN and before is not None:  # ignored stays ignored; None: not Python's
                    self._before[sig] = before
                    signal.signal(sig, self._hold)
        return self

    def _hold(self, signum: int, frame: object) -> None:
        self.caught.append(signal.Signals(signum).name)

    def __exit__(self, *exc: object) -> None:
        for sig, before in self._before.items():
            signal.signal(sig, before)


@dataclass(frozen=True)
class Finished:
    """What the session end's baseline work did: lines to print, whether the session fails, whether a Ctrl-C came
    during the merge (the caller stops there), and how many baseline files it wrote."""

    said: list[str]
    failed: bool
    stopped: bool
    written: int


def finish_baselines(root: Path, session: str, *, interrupted: bool, update: bool) -> Finished:
    """The session end's baseline work: merge this session's shards (not after an interruption; a Ctrl-C during the
    merge waits for it to finish, all or nothing) and say what is left behind."""
    if interrupted:
        left = len(stale_files(root)) if root.is_dir() else 0
        return Finished([f"interrupted: no baseline was changed ({left} shard/temporary files left in {root}; "
                         "`horizon baselines --clean` removes them)"], False, False, 0)  # fmt: skip
    with Deferred() as held:
        try:
            written, problems = merge_session(root, session, replace_damaged=update)
        except OSError as err:  # a full or read-only disk between the first write and the last
            written, problems = [], [f"the baseline merge could not write under {root}: {err}; this session's "
                                     "shards are left there (`horizon baselines` lists them)"]  # fmt: skip
    said = list(problems)
    if held.caught:
        done = (f"the merge finished first ({len(written)} files written, all of this session's)" if not problems
                else f"the merge ended first ({len(written)} files written; see above)")  # fmt: skip
        said.append(f"{held.caught[0]} during the baseline merge: {done}, then the session stopped")
    stale = stale_files(root, session)
    if stale:
        said.append(f"{len(stale)} stale files from interrupted sessions under {root} (never merged; "
                    f"`horizon baselines --clean` removes them): " + ", ".join(str(p.relative_to(root)) for p in stale[:5])
                    + (" ..." if len(stale) > 5 else ""))  # fmt: skip
    return Finished(said, bool(problems), bool(held.caught), len(written))


def unreached_settings(given: Mapping[str, Any], real_cases_ran: int) -> str:
    """A line when ``--device/--dtype/--attn/--batch`` were set but no real-checkpoint case ran to take them."""
    real = [k for k, default in RECORDED_SETTINGS.items() if given.get(k, default) != default]
    if not real or real_cases_ran:
        return ""
    return (f"{', '.join('--' + k for k in real)} reached no case this session: only real-checkpoint cases take them, "
            "and none ran")


def header(session: str, baselines: str, given: Mapping[str, Any], protocol: str | None, stand_ins: bool) -> list[str]:
    """The session's header lines: its id, its settings and whom they reach, its protocol."""
    settings = " ".join(f"--{k} {given[k]}" for k in RECORDED_SETTINGS)
    lines = [
        f"horizon: session {session}; baselines {baselines}",
        f"horizon: {settings} apply to the real-checkpoint cases; the default cases (tiny models, organisms) run "
        f"on {DEFAULT_DEVICE} {DEFAULT_DTYPE} {DEFAULT_ATTENTION}, batch as recorded in their baselines",
        "horizon: protocol " + (f"{protocol} for every case (--protocol)" if protocol else "of each case (LLaVA-1.5 "
                                f"paper cases: {PAPER_PROTOCOL}; the others: {DEFAULT_PROTOCOL}; docs/protocol.md)"),
    ]  # fmt: skip
    if stand_ins:
        lines.append("horizon: --stand-ins: each real-checkpoint case runs on its stand-in (random weights, fixture "
                     "rows; its numbers carry no meaning); the embedded default's cases are deselected; "
                     "docs/stand-ins.md")  # fmt: skip
    return lines


_OPERATORS = {"and", "or", "not"}


def nothing_selected_hint(keyword: str, markexpr: str, case_ids: Sequence[str]) -> str:
    """What to say when ``-k keyword`` / ``-m markexpr`` selected no test: how a case id reads (one real id), how to
    list them, and for each ``-k`` word no id holds, the id parts closest to it."""
    import difflib

    given = " and ".join(f"{flag} {expr!r}" for flag, expr in (("-k", keyword), ("-m", markexpr)) if expr)
    example = next((c for c in case_ids if "@" in c), case_ids[0] if case_ids else "")
    said = (f"no test matched {given}: a case id reads model-benchmark-schedule (e.g. {example}); "
            "`pytest suite --collect-only -q` lists every id, `horizon list models|benchmarks|methods` the names in "
            "them, and -m takes the markers `pytest --markers` lists")  # fmt: skip
    parts = sorted({p for c in case_ids for p in re.split(r"[-@:+]", c) if p})
    words = [w for w in re.findall(r"[\w.@:+#-]+", keyword) if w.lower() not in _OPERATORS]
    for word in words:
        if not any(word.lower() in c.lower() for c in case_ids):
            close = difflib.get_close_matches(word, parts, n=3, cutoff=0.6)
            said += f"; no id holds {word!r}" + (f" (close: {', '.join(close)})" if close else "")
    return said
