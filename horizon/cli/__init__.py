"""The ``horizon`` command: run one prompt under a schedule, list what exists, benchmark the engine."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from horizon.cli import (
    baselines,
    bench,
    check_method,
    compare,
    doctor,
    evaluate,
    flops,
    info,
    listing,
    organism,
    plan,
    report,
    run,
    verdict,
    vocab,
)
from horizon.cli.progress import INTERRUPTED_EXIT
from horizon.registry import UnknownNameError

log = logging.getLogger(__name__)

AddParser = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
Command = Callable[[argparse.Namespace], int]

# command name -> (adds its parser, runs it); the order is ``horizon --help``'s
COMMANDS: dict[str, tuple[AddParser, Command]] = {
    "run": (run.add_parser, run.cmd_run),
    "eval": (evaluate.add_parser, evaluate.cmd_eval),
    "info": (info.add_parser, info.cmd_info),
    "organism": (organism.add_parser, organism.cmd_organism),
    "flops": (flops.add_parser, flops.cmd_flops),
    "report": (report.add_parser, report.cmd_report),
    "compare": (compare.add_parser, compare.cmd_compare),
    "baselines": (baselines.add_parser, baselines.cmd_baselines),
    "list": (listing.add_parser, listing.cmd_list),
    "bench": (bench.add_parser, bench.cmd_bench),
    "doctor": (doctor.add_parser, doctor.cmd_doctor),
    "plan": (plan.add_parser, plan.cmd_plan),
    "vocab": (vocab.add_parser, vocab.cmd_vocab),
    "check-method": (check_method.add_parser, check_method.cmd_check_method),
    "verdict": (verdict.add_parser, verdict.cmd_verdict),
}


def build_parser() -> argparse.ArgumentParser:
    import horizon

    parser = argparse.ArgumentParser(prog="horizon", description=plain(__doc__ or ""))
    parser.add_argument("--version", action="version", version=f"horizon {horizon.__version__}")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE_OR_FILE",
                        help="register the methods of a plugin (a module name or a .py file; may be repeated, and "
                             "given anywhere on the line); installed horizon.methods entry points load always "
                             "(docs/plugins.md)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parser, _ in COMMANDS.values():
        add_parser(sub)
    return parser


def plugins_first(argv: Sequence[str]) -> list[str]:
    """``argv`` with every ``--plugin X`` / ``--plugin=X`` moved to the front, so the option works on every command
    and sub-command (argparse reads it at the top level only)."""
    front: list[str] = []
    rest: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        arg = items[i]
        if arg == "--plugin" and i + 1 < len(items):
            front += [arg, items[i + 1]]
            i += 2
            continue
        (front if arg.startswith("--plugin=") else rest).append(arg)
        i += 1
    return front + rest


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(plugins_first(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _quiet_transformers()
    try:
        from horizon.methods.plugins import load_plugins

        load_plugins(args.plugin)
        return COMMANDS[args.command][1](args)
    except (ValueError, FileNotFoundError, UnknownNameError) as err:  # includes missing data, corrupt records
        print(f"horizon: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # Ctrl-C where a command keeps nothing of its own: one line, not a traceback
        said = str(err)
        print(f"horizon: {said}" if said.startswith("interrupted") else "horizon: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT


def plain(text: str) -> str:
    """``text`` without reStructuredText's literal markup (````x```` reads as ``x`` in a terminal)."""
    return text.replace("``", "")


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
