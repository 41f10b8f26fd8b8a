"""``horizon info``: an information study of one model on one benchmark (JSON, PNG figures, Markdown)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from horizon.cli.options import add_data_options, add_model_options, add_protocol_option, add_stand_in_option
from horizon.cli.progress import INTERRUPTED_EXIT, bar
from horizon.files import write_atomic

if TYPE_CHECKING:
    from horizon.evaluation.study import Study


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("info", help="visual-token information and the information horizon (the paper, Sec. 3-4)")
    add_model_options(p)
    add_data_options(p)
    add_stand_in_option(p)
    p.add_argument("--samples", type=int, default=200, help="a seeded subset of N samples (the paper: 200 on MME)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", default="all", help="'all', a list '0,4,8' or a range '0-15' (0 = before the LLM)")
    p.add_argument("--mode", default="remove", help="remove (physical, default) | zero (the paper's literal Eq. 2-3)")
    p.add_argument("--chunk", type=int, help="suffix runs per batch (default: 8192 tokens' worth)")
    add_protocol_option(p, "prompts, windows and the answer y (paper: vicuna_v1 prompts, 2x2 windows, the release's y)")
    p.add_argument("--window", type=int, default=None,
                   help="keep s x s windows of the visual grid together (default: the protocol's; 1 = each token, "
                        "the paper's release: 2)")  # fmt: skip
    p.add_argument("--answer-rule", default=None,
                   help="which reference gives y: frequent | paper (the release's, TextVQA and MME); default: the "
                        "protocol's (paper: paper where defined)")  # fmt: skip
    p.add_argument("--methods", default="random,divprune,fastv,sparsevlm,dart",
                   help="methods whose retained information is measured ('' for none)")  # fmt: skip
    p.add_argument(
        "--keeps", default="0.1,0.25,0.5", help="keep fractions for --methods (the paper: 60/148/292 of 576)"
    )
    p.add_argument("--oracle-keeps", default="0.25,0.125", help="keep fractions pruned by information ('' for none)")
    p.add_argument("--no-withdraw", action="store_true", help="skip the withdraw-all accuracy per layer")
    p.add_argument("--max-new-tokens", type=int, help="default: the benchmark's")
    p.add_argument("--out", type=Path, default=Path("reports/information"), help="output folder")


def parse_layers(text: str, n_layers: int) -> tuple[int, ...] | None:
    """'all' -> None (every layer); '0,4,8' or '0-15' (or a mix) -> the layers; bad text names itself."""
    if text.strip() == "all":
        return None
    layers: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                a, b = (int(x) for x in part.split("-"))
                layers += range(a, b + 1)
            elif part.strip():
                layers.append(int(part))
    except ValueError:
        raise ValueError(f"--layers {text!r}: give 'all', a list '0,4,8' or a range '0-15'") from None
    bad = [i for i in layers if not 0 <= i < n_layers]
    if bad or not layers:
        raise ValueError(f"--layers {text!r}: layers must be in 0..{n_layers - 1} (got {bad or 'none'})")
    return tuple(sorted(set(layers)))


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{option} {text!r}: give comma-separated fractions in [0, 1]") from None


def cmd_info(args: argparse.Namespace) -> int:
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.samples import load_samples, subset
    from horizon.cli.options import check_seed, note, preset_of, protocol_option, stand_in_model, stand_in_samples
    from horizon.evaluation.study import StudyConfig, StudyInterrupted, run_study
    from horizon.information.answer import rule_for
    from horizon.models.loading import load_model

    if args.stand_ins:
        args.model = stand_in_model(args.model, args.path)
    protocol = protocol_option(args.protocol, args.model, args.path)
    bench = BENCHMARKS.get(args.bench).under(protocol.name)
    window = protocol.window if args.window is None else args.window
    rule = rule_for(protocol.answer_rule, bench.name) if args.answer_rule is None else args.answer_rule
    methods = tuple(m for m in args.methods.split(",") if m.strip())
    config_args: dict[str, Any] = dict(
        mode=args.mode, chunk=args.chunk, methods=methods, keeps=_floats(args.keeps, "--keeps"),
        oracle_keeps=_floats(args.oracle_keeps, "--oracle-keeps"), withdraw=not args.no_withdraw,
        seed=args.seed, max_new_tokens=args.max_new_tokens, window=window, answer_rule=rule,
    )  # fmt: skip
    StudyConfig(**config_args).check_benchmark(bench.name)  # bad options fail before any loading
    if args.samples < 1:
        raise ValueError(f"--samples must be >= 1, got {args.samples}")
    check_seed(args.seed)
    preset = preset_of(args.model) if args.path is None else None
    if preset is not None:  # a preset's depth is known before its weights load
        parse_layers(args.layers, preset.arch.layers)
    samples, bad = stand_in_samples(bench) if args.stand_ins and not args.data else load_samples(bench, path=args.data)
    chosen = subset(samples, args.samples, seed=args.seed, what="--samples")  # nothing selected: an error
    if args.samples > len(samples):
        note(f"--samples {args.samples} is more than the {len(samples)} samples {bench.name} has here: all of them "
             "run")  # fmt: skip
    loaded = load_model(args.model, path=args.path, dtype=args.dtype, attn_implementation=args.attn, device=args.device)
    protocol.check_family(loaded.adapter.family, loaded.name)
    config = StudyConfig(layers=parse_layers(args.layers, loaded.n_layers), **config_args)
    label = f"{loaded.name} · {bench.name}"
    with bar(len(chosen) * config.passes, f"{label} · information maps") as shown:

        def accuracy_step(k: int) -> None:  # the second pass: the same bar, named for what it now runs
            if shown.n <= len(chosen):
                shown.set_description(f"{label} · accuracies (withdrawn, oracle)")
            shown.update(k)

        try:
            study = run_study(loaded, bench, chosen, config, progress=lambda _: shown.update(),
                              accuracy_progress=accuracy_step)  # fmt: skip
        except StudyInterrupted as err:
            shown.leave = False
            shown.close()
            if err.study is None:
                print(f"horizon: {err}; nothing was written", file=sys.stderr)
                return INTERRUPTED_EXIT
            stem, _ = _write(err.study, args.out, f"info-{loaded.name}-{bench.name}.partial")
            print(f"horizon: {err}; partial results (marked partial) in {args.out}/{stem}.*", file=sys.stderr)
            return INTERRUPTED_EXIT
    stem, markdown = _write(study, args.out, f"info-{loaded.name}-{bench.name}")
    print(markdown)
    warning = small_n_warning(study)
    if warning:
        print(warning)
    print(f"{study.n} samples ({len(study.failures)} failed, {len(bad)} unreadable rows) -> {args.out}/{stem}.*")
    return 0


NOISE_POINTS = 10.0  # a study whose samples cannot detect a withdrawal costing less than this says so


def small_n_warning(study: Study) -> str:
    """What the study's n can place: the smallest drop a paired test of its samples detects (power 0.8), and, when
    the withdraw horizon is the first measured layer, that this may only mean no drop was detectable."""
    from horizon.stats.power import ALPHA, POWER, mde_binary

    if study.full is None or not study.withdraw:
        return ""
    floor = mde_binary(study.n, 0.0)
    said = (f"note: {study.n} samples detect only a withdrawal that costs at least {floor:.0f} points (paired, "
            f"alpha {ALPHA:g}, power {POWER:g})")  # fmt: skip
    if study.withdraw_horizon is not None and study.withdraw_horizon == min(study.withdraw):
        return (f"{said}; the withdraw horizon at layer {study.withdraw_horizon}, the first measured, may only mean "
                "that no withdrawal was detectably worse: give --samples 200 (the paper's) or more to place it")  # fmt: skip
    if floor > NOISE_POINTS:
        return f"{said}; a horizon placed on so few samples is noise more than finding (the paper: --samples 200)"
    return ""


def _write(study: Study, out: Path, stem: str) -> tuple[str, str]:
    """The study's JSON, Markdown and figures under ``out`` (atomically); returns the stem and the Markdown. A
    partial study's Markdown opens by saying so."""
    from horizon.report.information import plot_information, render_information

    data = study.to_dict()
    write_atomic(out / f"{stem}.json", json.dumps(data, indent=1, sort_keys=True) + "\n")
    figures = [f.name for f in plot_information(data, out, "partial-" if study.partial else "")]
    markdown = render_information(data, figures)
    if study.partial:
        markdown = f"**Partial study**: {study.partial}.\n\n{markdown}"
    write_atomic(out / f"{stem}.md", markdown)
    return stem, markdown
