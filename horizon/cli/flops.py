"""``horizon flops``: analytic prefill FLOPs and KV storage of a schedule, and the paper's Table 3 (no weights)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from horizon.cli.options import check_at_least, schedule_option


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("flops", help="analytic prefill FLOPs and KV-cache storage of a schedule (no weights)")
    p.add_argument("--model", help="a preset (its architecture numbers are used)")
    p.add_argument("--schedule", help="e.g. 'random@2:0.5+vtw@26' or a preset 'paper:...' (default full)")
    p.add_argument("--text-tokens", type=int, help="non-visual prompt tokens (e.g. 116 for TextVQA)")
    p.add_argument("--table3", action="store_true", help="every row of the paper's Table 3 beside its published values")
    p.add_argument("--paper", type=Path, default=Path("baselines/paper"), help="the paper's tables (for --table3)")
    p.add_argument("--visual-tokens", type=int, help="visual tokens (default: the preset's fixed count)")
    p.add_argument("--kv-bytes", type=int, help="bytes per cached value, >= 1 (default 2 = fp16/bf16; 1 = 8-bit)")


def cmd_flops(args: argparse.Namespace) -> int:
    from horizon.efficiency.flops import FORMULA_NAME, kv_cache_bytes, prefill_flops
    from horizon.models.presets import MODELS
    from horizon.report.run import layer_ranges

    check_at_least(args.text_tokens, "--text-tokens", 1, "non-visual prompt tokens")
    check_at_least(args.visual_tokens, "--visual-tokens", 0, "visual tokens")
    check_at_least(args.kv_bytes, "--kv-bytes", 1, "bytes per cached value: 2 for fp16/bf16, 1 for 8-bit")
    if args.table3:
        return _print_table3(args)
    if args.model is None or args.text_tokens is None:
        raise ValueError("horizon flops needs --model and --text-tokens (or --table3)")
    preset = MODELS.get(args.model)
    n_visual = args.visual_tokens if args.visual_tokens is not None else preset.visual_tokens
    if n_visual is None:
        raise ValueError(f"{preset.name} has no fixed visual-token count: give --visual-tokens")
    schedule = schedule_option("full" if args.schedule is None else args.schedule)
    schedule.check_depth(preset.arch.layers, preset.name)
    kv_bytes = 2 if args.kv_bytes is None else args.kv_bytes
    visual = schedule.tokens_per_layer(preset.arch.layers, n_visual)
    tokens = [args.text_tokens + v for v in visual]
    full = [args.text_tokens + n_visual] * preset.arch.layers
    flops, full_flops = prefill_flops(preset.arch, tokens), prefill_flops(preset.arch, full)
    kv, full_kv = (kv_cache_bytes(preset.arch, t, kv_bytes) / 2**20 for t in (tokens, full))
    print(f"{preset.name} · {schedule} · {args.text_tokens} text + {n_visual} visual tokens")
    print(f"visual tokens per layer: {layer_ranges(visual)} (average {sum(visual) / len(visual):.1f})")
    rows = [("prefill FLOPs (T)", f"{flops / 1e12:.2f}", f"{full_flops / 1e12:.2f}", f"{flops / full_flops:.3f}"),
            ("KV cache (MB)", f"{kv:.1f}", f"{full_kv:.1f}", f"{kv / full_kv:.3f}")]  # fmt: skip
    print(tabulate(rows, headers=["", "schedule", "unpruned", "ratio"], disable_numparse=True))
    print(f"\nFLOPs: {FORMULA_NAME}; KV: 2·n·kv_heads·head_dim·{kv_bytes} bytes per layer, MB = 2^20 bytes.")
    return 0


def _print_table3(args: argparse.Namespace) -> int:
    from horizon.efficiency.flops import FORMULA_NAME
    from horizon.efficiency.table3 import TABLE3_MODEL, TABLE3_TEXT_TOKENS, reproduce_table3
    from horizon.models.presets import MODELS
    from horizon.report.tables import load_paper

    if args.model not in (None, TABLE3_MODEL):
        raise ValueError(f"--table3 is LLaVA-1.5-7B's table; got --model {args.model!r}")
    given = [o for o, v in (("--schedule", args.schedule), ("--visual-tokens", args.visual_tokens),
                            ("--kv-bytes", args.kv_bytes)) if v is not None]  # fmt: skip
    if given:
        raise ValueError(
            f"--table3 prints the paper's fixed rows (its schedules, 576 visual tokens, fp16 values): "
            f"{', '.join(given)} does not apply; leave it out, or drop --table3 to compute one schedule"
        )
    text = TABLE3_TEXT_TOKENS if args.text_tokens is None else args.text_tokens
    arch, paper = MODELS.get(TABLE3_MODEL).arch, load_paper(args.paper, "table3")
    if not paper:
        raise ValueError(f"--table3 needs the published table {args.paper / 'table3.json'}: run from the repository "
                         "root or pass --paper <folder>")  # fmt: skip
    rows, published_rows = [], reproduce_table3(arch, paper, text, published_accounting=True)
    for table5, published in zip(reproduce_table3(arch, paper, text), published_rows, strict=True):
        row = [table5.label, table5.schedule, f"{table5.average_visual:.1f}"]
        row += [f"{table5.flops_t:.2f} ({table5.flops_delta:+.1%})", f"{table5.kv_mb:.1f} ({table5.kv_delta:+.1%})"]
        if published.schedule != table5.schedule:
            row += [published.schedule, f"{published.flops_t:.2f} ({published.flops_delta:+.1%})",
                    f"{published.kv_mb:.1f} ({published.kv_delta:+.1%})"]  # fmt: skip
        else:
            row += ["", "", ""]
        row += [f"{table5.paper_flops_t}", f"{table5.paper_kv_mb}"]
        rows.append(row)
    headers = ["row", "Table 5 schedule", "avg visual", "FLOPs T (vs paper)", "KV MB (vs paper)",
               "released scripts / published accounting", "FLOPs T", "KV MB", "paper FLOPs", "paper KV"]  # fmt: skip
    print(f"Table 3 · {TABLE3_MODEL} · {text} text + 576 visual tokens\n")
    print(tabulate(rows, headers=headers, disable_numparse=True))
    print(
        f"\nFLOPs: {FORMULA_NAME}; KV: fp16, MB = 2^20 bytes. Hybrid rows: the released scripts' counts (the paper "
        "protocol's presets). FastV and DART rows have no script: the counts their published numbers imply (FastV full "
        "through layer 3; DART 4 + 8*ceil((r*576-4)/8) tokens, not DART's code's 4 + 8*floor(r*576/8)); see "
        "horizon/efficiency/table3.py."
    )
    return 0
