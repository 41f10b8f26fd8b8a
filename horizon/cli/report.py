"""``horizon report``: one Markdown report from case records (from many machines), or, with ``--from-baselines``,
a page from the baseline files that can be read without running anything (docs/report.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from horizon.cli.options import check_output_folder, note

PAPER = Path("baselines/paper")
BASELINES = Path("baselines")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="render one Markdown report from case records (from many machines), or from "
                                      "the baseline files (--from-baselines)")  # fmt: skip
    p.add_argument("results", type=Path, nargs="?", help="folder of records (searched recursively)")
    p.add_argument("--from-baselines", type=Path, nargs="?", const=BASELINES, metavar="FOLDER",
                   help=f"render the cases of the baseline files under FOLDER (default: {BASELINES}) instead of records: "
                        "OUT/report.md with its figures in OUT/report/ (`--from-baselines baselines --out docs` "
                        "writes docs/report.md)")  # fmt: skip
    p.add_argument("--stand-ins", action="store_true",
                   help="with --from-baselines: the stand-ins' baselines too (FOLDER/stand-in/), in their own part")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports)")
    p.add_argument("--paper", type=Path, help=f"the paper's tables (default: {PAPER} when there)")
    p.add_argument("--baselines", type=Path, help=f"baselines for the regressions section (default: {BASELINES} when there)")  # fmt: skip


def cmd_report(args: argparse.Namespace) -> int:
    if args.from_baselines is not None:
        return _from_baselines(args)
    if args.stand_ins:
        raise ValueError("--stand-ins goes with --from-baselines (a records folder's stand-in records are always "
                         "reported, in their own part)")  # fmt: skip
    from horizon.report.write import write_report

    results: Path | None = args.results
    if results is None:
        raise ValueError("give a folder of records (horizon report results/) or --from-baselines [FOLDER]")
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


def _from_baselines(args: argparse.Namespace) -> int:
    from horizon.report.write import write_baseline_page

    folder: Path = args.from_baselines
    if args.results is not None:
        raise ValueError(f"give a records folder ({str(args.results)!r}) or --from-baselines, not both")
    if args.baselines is not None:
        raise ValueError("--baselines checks records against baselines; --from-baselines renders the baselines "
                         "themselves: give one")  # fmt: skip
    if not folder.is_dir():
        raise ValueError(f"--from-baselines {str(folder)!r} is not a folder of baseline files "
                         "(<device>/<model>/<benchmark>.json)")  # fmt: skip
    check_output_folder(args.out)
    paper = _optional_folder(args.paper, PAPER, "--paper", "the page has no paper values beside its numbers")
    out, n = write_baseline_page(folder, args.out, paper or args.paper or PAPER, stand_ins=args.stand_ins)
    print(f"{n} cases from the baselines under {folder} -> {out}")
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
