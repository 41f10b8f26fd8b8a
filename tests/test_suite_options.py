"""Suite options: bad values fail with a clear message; --models and --shard select deterministically."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from horizon.harness.matrix import all_cases, information_matrix
from horizon.harness.session import TIER_MARKERS

ROOT = Path(__file__).parents[1]


def _collect(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "suite/test_matrix.py",
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_bad_options_are_usage_errors():
    for args, message in (
        (["--models", "llava-1.5-7"], "unknown model 'llava-1.5-7'; did you mean 'llava-1.5-7b'"),
        (["--models", ","], "--models ',' names no model"),
        (["-m", "papper"], "unknown marker 'papper'"),
        (["--shard", "3/2"], "--shard '3/2': write i/n with 1 <= i <= n"),
        (["--update-baselines", "--record-baselines"], "not both"),
        (["--dtype", "float8"], "dtype 'float8' is not one of float32, float16, bfloat16"),
        (["--attn", "flash"], "attention implementation 'flash' is not one of"),
        (["--device", "gpu"], "'gpu'"),
        (["--batch", "0"], "--batch must be >= 1"),
        (["--protocol", "papr"], "--protocol: unknown protocol 'papr'; did you mean 'paper'?"),
        (["--results", "pyproject.toml"], "pyproject.toml' is a file: give a folder"),
        (["--record-baselines", "--baselines", "/proc/self/b"], "/b': cannot write in /proc/"),
    ):
        done = _collect(*args)
        assert done.returncode == 4 and message in done.stderr, (args, done.stderr[-500:])


def test_a_cuda_device_without_cuda_is_one_usage_error_and_the_header_says_what_the_options_reach():
    import torch

    done = _collect("--device", "cuda")
    if torch.cuda.is_available():
        assert done.returncode == 0
    else:
        assert done.returncode == 4 and "CUDA is not available here" in done.stderr, done.stderr[-500:]
    header = subprocess.run([sys.executable, "-m", "pytest", "suite/test_matrix.py", "--collect-only", "-p",
                             "no:cacheprovider", "-k", "nothing-matches-this", "--dtype", "bfloat16"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert "--dtype bfloat16" in header.stdout and "apply to the real-checkpoint cases" in header.stdout


def test_models_and_shards_select_deterministically():
    ids = lambda done: [x for x in done.stdout.splitlines() if "::" in x]  # noqa: E731
    tiny = ids(_collect("--models", "tiny-qwen2.5-vl"))
    assert tiny and all("tiny-qwen2.5-vl-" in x for x in tiny)
    parts = [ids(_collect("--shard", f"{i}/3")) for i in (1, 2, 3)]
    joined = sum(parts, [])
    matrix = len([c for c in [*all_cases(), *information_matrix()] if not set(TIER_MARKERS) & set(c.marks)])
    assert len(joined) == len(set(joined)) == matrix  # disjoint slices covering the matrix but the -m tiers
    assert parts[0] == ids(_collect("--shard", "1/3"))  # the same slice every time
    paper = ids(_collect("-m", "paper and not sweep", "-k", "qwen and dart"))  # 7 benchmarks x 3 DART rows, 2 tables
    assert len(paper) == 2 * 7 * 3 and all(("qwen2.5-vl-7b" in x or "qwen3-vl-8b" in x) and "dart" in x for x in paper)


def test_protocol_option_moves_every_case_and_skips_the_families_it_does_not_define():
    done = _collect("--protocol", "paper", "-k", "tiny and pope-full", "-rs")
    ids = [x for x in done.stdout.splitlines() if "::" in x]
    assert ids == ["suite/test_matrix.py::test_case[tiny-llava-pope-full-paper]",
                   "suite/test_matrix.py::test_case[tiny-qwen2.5-vl-pope-full-paper]"], done.stdout[-800:]  # fmt: skip
    ran = subprocess.run([sys.executable, "-m", "pytest", "suite/test_matrix.py", "-q", "-p", "no:cacheprovider",
                          "--protocol", "paper", "-k", "tiny-qwen2.5-vl-pope-full", "-rs",
                          "--results", "/tmp/horizon-protocol-results"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert "1 skipped" in ran.stdout and "defined for llava models only" in ran.stdout, ran.stdout[-800:]


def test_a_plugins_method_joins_every_sweep_with_its_own_baselines(tmp_path: Path) -> None:
    """``--plugin FILE --methods NAME`` (issue 34): the method joins the organisms' sweeps, the paper figures' layer
    sweeps and the information studies; its baselines must go to a folder the user names."""
    plugin = str(ROOT / "examples" / "horizon-norm-topk" / "src" / "horizon_norm_topk" / "__init__.py")
    refused = _collect("--plugin", plugin, "--methods", "norm-topk")
    assert refused.returncode == 4 and "a plugin's baselines go to a folder you name" in refused.stderr
    unknown = _collect("--methods", "norm-topk", "--baselines", str(tmp_path))
    assert unknown.returncode == 4 and "unknown method 'norm-topk'" in unknown.stderr and "--plugin" in unknown.stderr
    bad = _collect("--plugin", str(tmp_path / "absent.py"))
    assert bad.returncode == 4 and "plugin" in bad.stderr and "no such file" in bad.stderr
    done = _collect("--plugin", plugin, "--methods", "norm-topk", "--baselines", str(tmp_path), "-k", "norm-topk")
    assert done.returncode == 0, done.stderr[-2000:]
    ids = [line for line in done.stdout.splitlines() if "norm-topk" in line]
    organism = [i for i in ids if "organism-" in i and "@" in i]
    assert len(organism) == 2 * 2 * 7  # two organisms x two task families x layers 1-7
    assert sum("llava-1.5-7b-" in i for i in ids) == 3 * 31  # Figure 1: three benchmarks x layers 1-31
    assert sum("qwen2.5-vl-7b-" in i for i in ids) == 2 * 2 * 27  # Figures 2 and 10: two ratios x layers 1-27
    # the information studies score it too (their ids stay; their retained-information tables gain it)
    studies = [c for c in information_matrix(("random", "sgl")) if c.methods]
    assert all(c.methods.count("random") == 1 and "sgl" not in c.methods for c in studies)  # sgl needs a guide
