"""``horizon run``: one image and question under a pruning schedule."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from horizon.cli.options import (
    add_model_options,
    add_protocol_option,
    check_at_least,
    check_max_new_tokens,
    check_model_name,
    check_options_early,
    check_output_file,
    check_question,
    check_schedule_before_loading,
    check_schedule_on,
    check_seed,
    note,
    preset_of,
    protocol_option,
    schedule_option,
)

if TYPE_CHECKING:
    from horizon.schedule import Schedule


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run one image and question under a pruning schedule")
    add_model_options(p)
    p.add_argument("--image", help="image file (default: the embedded demo image)")
    p.add_argument("--question", default="What is written on the sign?")
    p.add_argument("--schedule", default="full", help="e.g. 'random@2:0.5+vtw@26' or a preset 'paper:...'")
    p.add_argument("--seed", type=int, default=0, help="seed of the generator random selections draw from")
    add_protocol_option(p, "the conversation and the form of paper presets (lmms-eval: the checkpoint's chat template; "
                           "paper: LLaVA's vicuna_v1 conversation, the released presets)")
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--top-k", type=int, default=5, help="first-token probabilities to show")
    p.add_argument("--json", type=Path, help="also write the whole record to this JSON file")
    p.add_argument("--guide", help="guide model for SGL stages (a smaller preset of the same family, or a folder)")
    p.add_argument("--guide-path", help="checkpoint folder for the guide preset")


def cmd_run(args: argparse.Namespace) -> int:
    from horizon.engine.plan import stages_needing
    from horizon.engine.run import prepare, run
    from horizon.images import demo_image, load_image
    from horizon.models.loading import load_model

    # every option is checked here, before the model loads
    protocol = protocol_option(args.protocol, args.model, args.path)
    schedule = schedule_option(args.schedule, form=protocol.presets)
    oracle = stages_needing(schedule, "information")
    if oracle:
        raise ValueError(
            f"{', '.join(oracle)} ranks visual tokens by their information, measured with each sample's gold answer, "
            f"and horizon run has no answer: run it on a benchmark with `horizon eval --bench BENCH --schedule "
            f"{str(schedule)!r}` (horizon list benchmarks)"
        )
    check_options_early(args)
    check_output_file(args.json)
    check_max_new_tokens(args.max_new_tokens)
    check_seed(args.seed)
    check_question(args.question)
    check_at_least(args.top_k, "--top-k", 1, "first-token probabilities to show")
    check_schedule_before_loading(schedule, args.model, args.path)
    guide_name = _guide_name(args, schedule)
    image = load_image(args.image) if args.image else demo_image()
    loaded = load_model(args.model, path=args.path, dtype=args.dtype, attn_implementation=args.attn, device=args.device)
    check_schedule_on(schedule, loaded)
    protocol.check_family(loaded.adapter.family, loaded.name)
    try:
        prompt = prepare(loaded, [image], [args.question], conversation=protocol.conversation)
    except ValueError as err:  # the processor refuses the image (Qwen: an aspect ratio over 200, ...)
        raise ValueError(f"image {args.image or '(the demo image)'!r}: {loaded.name}'s processor refuses it: {err}") from None
    guide = None
    if guide_name is not None:
        from horizon.engine.guide import guide_importance

        guide_model = load_model(
            guide_name, path=args.guide_path, dtype=args.dtype, attn_implementation=args.attn, device=args.device
        )
        guide = guide_importance(guide_model, [image], [args.question], new_tokens=args.max_new_tokens)
    out = run(loaded, prompt, schedule, max_new_tokens=args.max_new_tokens, seed=args.seed, guide_importance=guide)
    from horizon.report.run import render_run, run_record

    top_k = args.top_k
    vocab = int(out.first_token_probs.shape[-1])
    if top_k > vocab:
        note(f"--top-k {top_k} is more than {loaded.name}'s vocabulary of {vocab} tokens: showing all {vocab}")
        top_k = vocab
    print(render_run(out, loaded, top_k=top_k))
    if args.json:
        args.json.write_text(json.dumps(run_record(out, loaded, top_k=top_k), indent=2) + "\n")
    return 0


def _guide_name(args: argparse.Namespace, schedule: Schedule) -> str | None:
    """The guide model of the schedule's SGL stages (``--guide``, else the preset's default guide), checked before
    anything loads; None when no stage needs one (an unused ``--guide`` is said out loud)."""
    from horizon.engine.plan import stages_needing

    if not stages_needing(schedule, "guide_importance"):
        if args.guide is not None or args.guide_path is not None:
            note(f"--guide/--guide-path are not used: schedule {schedule} has no sgl stage")
        return None
    preset = preset_of(args.model)
    name: str | None = args.guide or (preset.guide if preset is not None else None)
    if not name:
        raise ValueError(f"schedule {schedule} has an SGL stage: give its guide model with --guide MODEL")
    if args.guide_path is None:
        check_model_name(name, "--guide")
    return name
