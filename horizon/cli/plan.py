"""``horizon plan``: what a ``pytest suite`` selection costs before it runs, so a farm sizes its nightly job.

The selection is pytest's own: the suite is collected (``--collect-only``, in a subprocess: horizon never imports
pytest) with the given ``-m``, ``-k``, ``--models``, ``--protocol`` and ``--shard``, and each collected case is
costed by :mod:`horizon.efficiency.budget`: samples, seeds, analytic FLOPs, and GPU-hours from a doctor JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from horizon.cli.options import add_protocol_option, check_at_least, check_output_file

if TYPE_CHECKING:
    from horizon.efficiency.budget import CaseCost, Throughput

NODE = re.compile(r"::test_(case|information)\[(.+)\]$")
REPO = Path(__file__).resolve().parents[2]  # a checkout: horizon/ beside suite/ and conftest.py


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plan", help="what a pytest suite selection costs: cases, samples, FLOPs, GPU-hours")
    p.add_argument("-m", dest="markexpr", default=None, help="pytest marker expression, e.g. 'paper or nightly'")
    p.add_argument("-k", dest="keyword", default=None, help="pytest keyword expression, e.g. 'qwen and dart'")
    p.add_argument("--models", default=None, help="comma-separated presets (as pytest suite --models)")
    add_protocol_option(p, "every case under this protocol (as pytest suite --protocol)", default=None)
    p.add_argument("--shard", default=None, help="i/n: one deterministic slice (as pytest suite --shard)")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu: the device the selection would run on")
    p.add_argument("--doctor", type=Path, default=None,
                   help="a doctor JSON from this kind of GPU (horizon doctor --device cuda --json FILE): GPU-hours")
    p.add_argument("--text-tokens", type=int, default=None,
                   help="text tokens per prompt (default: each benchmark's measured mean per family and protocol, "
                        "horizon/efficiency/text_tokens.py; 64 where none was measured)")
    p.add_argument("--answer-tokens", type=int, default=8,
                   help="tokens assumed per answer, at most each benchmark's generation length (default 8)")
    p.add_argument("--json", type=Path, default=None, help="also write every case's cost to this JSON file")


def cmd_plan(args: argparse.Namespace) -> int:
    from horizon.efficiency.budget import throughputs

    if args.device not in ("cuda", "cpu") and not re.fullmatch(r"cuda:\d+", args.device):
        raise ValueError(f"--device {args.device!r}: give cuda, cuda:N or cpu")
    if args.text_tokens is not None:
        check_at_least(args.text_tokens, "--text-tokens", 1, "text tokens per prompt")
    check_at_least(args.answer_tokens, "--answer-tokens", 1, "tokens per answer")
    check_output_file(args.json)
    speeds: dict[str, Throughput] = {}
    if args.doctor is not None:
        if not args.device.startswith("cuda"):
            raise ValueError("--doctor gives GPU-hours: use it with --device cuda")
        try:
            data = json.loads(args.doctor.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"--doctor {args.doctor}: cannot read it as JSON ({err})") from None
        if not str(data.get("device", "")).startswith("cuda"):
            raise ValueError(f"--doctor {args.doctor} was measured on {data.get('device')!r}, not a GPU: its times "
                             "say nothing of a GPU farm")  # fmt: skip
        speeds = throughputs(data, str(args.doctor))
    ids = collect(args)
    costed, default = case_costs(ids, args, speeds)
    _print(costed, default, args, speeds)
    if args.json:
        from horizon.files import write_atomic

        write_atomic(args.json, json.dumps({"assumptions": _assumptions(args), "default_cases": default,
                                            "cases": [_as_dict(c) for c in costed]}, indent=1) + "\n")  # fmt: skip
    return 0


def collect(args: argparse.Namespace) -> list[str]:
    """The case ids ``pytest suite`` would run for this selection, collected by pytest itself."""
    if not (REPO / "suite" / "test_matrix.py").is_file():
        raise ValueError(f"horizon plan collects the suite of a checkout, and {REPO} has no suite/ (install horizon "
                         "from a clone with pip install -e .)")  # fmt: skip
    cmd = [sys.executable, "-m", "pytest", "suite", "--collect-only", "-q", "-p", "no:cacheprovider"]
    for flag, value in (("-m", args.markexpr), ("-k", args.keyword), ("--models", args.models),
                        ("--protocol", args.protocol), ("--shard", args.shard)):  # fmt: skip
        cmd += [flag, value] if value is not None else []
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 5):  # 5: nothing collected, a plan of nothing
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise ValueError("the selection was refused by pytest: " + " | ".join(said))
    return [m[2] for m in map(NODE.search, done.stdout.splitlines()) if m]


def case_costs(
    ids: list[str], args: argparse.Namespace, speeds: dict[str, Throughput]
) -> tuple[list[CaseCost], int]:
    """The cost of each collected real-checkpoint case, and how many embedded-default cases (CPU; not costed)."""
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.efficiency.budget import eval_cost, information_cost
    from horizon.efficiency.text_tokens import text_tokens_for
    from horizon.harness.matrix import InfoCase, all_cases, information_matrix, under_protocol
    from horizon.models.presets import MODELS

    known = {c.id: c for c in under_protocol(all_cases(), args.protocol)}
    info = {c.id: c for c in under_protocol(information_matrix(), args.protocol)}
    out, default = [], 0
    for case_id in ids:
        case = known.get(case_id) or info.get(case_id)
        if case is None:
            raise ValueError(f"pytest collected {case_id!r}, which horizon.harness.matrix does not hold")
        preset = MODELS.get(case.model)
        if not preset.real:
            default += 1
            continue
        bench = BENCHMARKS.get(case.benchmark).under(case.protocol)
        samples = case.limit or bench.rows
        if samples is None:
            raise ValueError(f"{case_id}: {bench.name} has no split size (Benchmark.rows) and the case no limit")
        speed = speeds.get(case.model)
        text = args.text_tokens or round(text_tokens_for(preset.family, case.protocol, bench.name)[0])
        if isinstance(case, InfoCase):
            layers = tuple(case.layers or range(preset.arch.layers))
            out.append(information_cost(case_id, preset, bench.name, layers, samples, text_tokens=text,
                                        speed=speed))  # fmt: skip
            continue
        answer = min(args.answer_tokens, case.max_new_tokens or bench.max_new_tokens)
        out.append(eval_cost(case_id, preset, bench.name, str(case.resolved), samples, len(case.seeds),
                             text_tokens=text, answer_tokens=answer,
                             lower_bound=bench.expand is not None and case.limit is None, speed=speed))  # fmt: skip
    return out, default


def _print(costed: list[CaseCost], default: int, args: argparse.Namespace, speeds: dict[str, Throughput]) -> None:
    groups: dict[tuple[str, str, str], list[CaseCost]] = defaultdict(list)
    for c in costed:
        groups[(c.model, c.benchmark, c.kind)].append(c)
    rows = [(m, b, k, len(cs), _runs(cs), f"{sum(c.tflops for c in cs) / 1e3:.1f}", _hours(cs))
            for (m, b, k), cs in sorted(groups.items())]  # fmt: skip
    print(f"horizon plan · {len(costed)} real-checkpoint cases" + (f" · {default} embedded-default cases (CPU, tiny "
          "models and organisms: minutes, not costed)" if default else ""))  # fmt: skip
    if rows:
        print(tabulate(rows, headers=["model", "benchmark", "kind", "cases", "runs", "PFLOPs", "GPU-h"]))
        print(f"\ntotal: {_runs(costed)} runs, {sum(c.tflops for c in costed) / 1e3:.1f} PFLOPs of prefill, "
              f"{_hours(costed)} GPU-hours")  # fmt: skip
    for model in sorted({c.model for c in costed} - set(speeds)):
        print(f"no GPU-hours for {model}: " + ("no doctor JSON given (horizon doctor --device cuda --json FILE, then "
              "--doctor FILE)" if args.doctor is None else f"{args.doctor} did not measure it"))  # fmt: skip
    for model, speed in sorted(speeds.items()):
        print(f"{model}: times from {speed.device} ({args.doctor}), unpruned prefill {speed.prefill_ms:.1f} ms at "
              f"{speed.n_visual}+{speed.text_tokens} tokens, decode {speed.decode_ms_per_token:.2f} ms/token")  # fmt: skip
    print("assumptions: " + "; ".join(_assumptions(args)))


def _assumptions(args: argparse.Namespace) -> list[str]:
    from horizon.efficiency.budget import visual_tokens
    from horizon.efficiency.text_tokens import ASSUMED, MEASURED_ON, QUESTIONS_FROM
    from horizon.models.presets import MODELS

    def most(model: str) -> int:
        return visual_tokens(MODELS.get(model))

    text = (f"{args.text_tokens} text tokens per prompt (--text-tokens)" if args.text_tokens else
            f"each benchmark's mean text tokens per prompt for the model's family and protocol, measured with the real "
            f"tokenizers on {QUESTIONS_FROM} where they hold it, else on {MEASURED_ON} "
            f"(horizon/efficiency/text_tokens.py; {ASSUMED} where none was measured)")
    return [text,
            f"LLaVA's {most('llava-1.5-7b')} visual tokens; Qwen's most at lmms-eval's max_pixels, an upper bound "
            f"(Qwen2.5-VL: {most('qwen2.5-vl-7b')}, Qwen3-VL: {most('qwen3-vl-8b')})",
            f"{args.answer_tokens} tokens per answer at most (--answer-tokens), decoded at the unpruned speed",
            "a case without a limit reads its benchmark's whole split (Benchmark.rows); runs = samples x seeds",
            "'+' after runs: a benchmark whose rows expand into more questions (a lower bound)"]  # fmt: skip


def _runs(cases: list[CaseCost]) -> str:
    return f"{sum(c.runs for c in cases)}" + ("+" if any(c.lower_bound for c in cases) else "")


def _hours(cases: list[CaseCost]) -> str:
    known = [c.gpu_seconds for c in cases if c.gpu_seconds is not None]
    if not known:
        return "-"
    text = f"{sum(known) / 3600:.2f}"
    return text if len(known) == len(cases) else f">= {text}"


def _as_dict(cost: CaseCost) -> dict[str, Any]:
    return {"case": cost.case, "model": cost.model, "benchmark": cost.benchmark, "kind": cost.kind,
            "samples": cost.samples, "seeds": cost.seeds, "runs": cost.runs, "samples_lower_bound": cost.lower_bound,
            "tflops": cost.tflops, "gpu_hours": None if cost.gpu_seconds is None else cost.gpu_seconds / 3600}  # fmt: skip
