"""``horizon report``: one Markdown report from case records (from many machines)."""

from __future__ import annotations

import argparse
from pathlib import Path

from horizon.cli.options import check_output_folder, note

PAPER = Path("baselines/paper")
BASELINES = Path("baselines")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="render one Markdown report from case records (from many machines)")
    p.add_argument("results", type=Path, help="folder of records (searched recursively)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports)")
    p.add_argument("--paper", type=Path, help=f"the paper's tables (default: {PAPER} when there)")
    p.add_argument("--baselines", type=Path, help=f"baselines for the regressions section (default: {BASELINES} when there)")  # fmt: skip


def cmd_report(args: argparse.Namespace) -> int:
    from horizon.report.write import write_report

    results: Path = args.results
    if not results.exists():
        raise ValueError(f"no records under {str(results)!r}: the folder does not exist")
    if not results.is_dir():
        raise ValueError(
            f"{str(results)!r} is a file: horizon report reads a folder of records (searched recursively), "
            f"e.g. {str(results.parent)!r}"
        )
    if not any(results.rglob("*.json")):
        raise ValueError(f"no records under {str(results)!r} (no *.json files)")
    check_output_folder(args.out)
    if args.out.resolve().is_relative_to(results.resolve()):
        raise ValueError(
            f"--out {str(args.out)!r} is inside the records folder {str(results)!r}: the report's cases.json would "
            "be read as a record next time; give a folder outside it"
        )
    # a missing paper folder gives no tables: the report then has no paper values
    paper = _optional_folder(args.paper, PAPER, "--paper", "the report has no paper values beside its numbers")
    baselines = _optional_folder(args.baselines, BASELINES, "--baselines", "the report has no regressions section")
    out, n = write_report(results, args.out, paper or args.paper or PAPER, baselines)
    print(f"{n} records -> {out}")
    return 0


def _optional_folder(given: Path | None, default: Path, option: str, without: str) -> Path | None:
    """An input folder the report can do without: the default when there; a given one that is not a folder is
    said out loud (``without`` says what is missing then)."""
    if given is None:
        return default if default.is_dir() else None
    if not given.is_dir():
        note(f"{option} {str(given)!r} is not a folder: {without}")
        return None
    return given
