"""``horizon run``: one image and question under a pruning schedule."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from horizon.cli.options import _add_model_options, check_max_new_tokens, check_output_file


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run one image and question under a pruning schedule")
    _add_model_options(p)
    p.add_argument("--image", help="image file (default: the embedded demo image)")
    p.add_argument("--question", default="What is written on the sign?")
    p.add_argument("--schedule", default="full", help="e.g. 'random@2:0.5+vtw@26' or a preset 'paper:...'")
    p.add_argument("--seed", type=int, default=0, help="seed of the generator random selections draw from")
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--top-k", type=int, default=5, help="first-token probabilities to show")
    p.add_argument("--json", type=Path, help="also write the whole record to this JSON file")
    p.add_argument("--guide", help="guide model for SGL stages (a smaller preset of the same family, or a folder)")
    p.add_argument("--guide-path", help="checkpoint folder for the guide preset")


def cmd_run(args: argparse.Namespace) -> int:
    from horizon.engine.plan import check_methods
    from horizon.engine.run import prepare, run
    from horizon.images import demo_image, load_image
    from horizon.models.loading import load_model
    from horizon.paper_presets import resolve_schedule

    schedule = resolve_schedule(args.schedule)
    check_methods(schedule)  # fail before loading a model
    check_output_file(args.json)
    check_max_new_tokens(args.max_new_tokens)
    image = load_image(args.image) if args.image else demo_image()
    loaded = load_model(args.model, path=args.path, dtype=args.dtype, attn_implementation=args.attn, device=args.device)
    prompt = prepare(loaded, [image], [args.question])
    guide = None
    if any("guide_importance" in m.needs for m in check_methods(schedule)):
        guide_name = args.guide or (loaded.preset.guide if loaded.preset is not None else None)
        if not guide_name:
            raise ValueError(f"schedule {schedule} has an SGL stage: give its guide model with --guide MODEL")
        from horizon.engine.guide import guide_importance

        guide_model = load_model(
            guide_name, path=args.guide_path, dtype=args.dtype, attn_implementation=args.attn, device=args.device
        )
        guide = guide_importance(guide_model, [image], [args.question], new_tokens=args.max_new_tokens)
    out = run(loaded, prompt, schedule, max_new_tokens=args.max_new_tokens, seed=args.seed, guide_importance=guide)
    from horizon.report.run import render_run, run_record

    print(render_run(out, loaded, top_k=args.top_k))
    if args.json:
        args.json.write_text(json.dumps(run_record(out, loaded, top_k=args.top_k), indent=2) + "\n")
    return 0
