"""Option helpers shared by several ``horizon`` commands: each refuses a bad value before any work (model load,
evaluation) with a message naming the option, the value and what is allowed, or says out loud (``note``) what
a legal but surprising value means."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from horizon.models.settings import ATTENTION, DEFAULT_ATTENTION, DEFAULT_DEVICE, DEFAULT_DTYPE, DEVICES, DTYPE_NAMES
from horizon.protocol import DEFAULT_PROTOCOL, PROTOCOLS

if TYPE_CHECKING:
    from horizon.benchmarks.base import Benchmark, Sample
    from horizon.models.loading import LoadedModel
    from horizon.models.presets import ModelPreset
    from horizon.protocol import Protocol
    from horizon.schedule import Schedule


# The option blocks several commands share, defined once: their names, defaults and help read the settings' homes
# (horizon/models/settings.py, horizon/protocol.py), so no command types a default or a choice list again.


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--path``, and :func:`add_device_options` at their defaults."""
    p.add_argument("--model", required=True, help="a preset (horizon list models) or a checkpoint folder")
    p.add_argument("--path", help="checkpoint folder for the preset (overrides $HORIZON_MODELS and the HF cache)")
    add_device_options(p)


def add_device_options(p: argparse.ArgumentParser, *, device: str = DEFAULT_DEVICE, dtype: str | None = DEFAULT_DTYPE,
                       attn: str | None = DEFAULT_ATTENTION, dtype_help: str = "", attn_help: str = "") -> None:  # fmt: skip
    """``--device``, ``--dtype`` and ``--attn``; a None default is the command's own choice, said in ``*_help``."""
    p.add_argument("--device", default=device, help=f"{DEVICES} (default {device})")
    p.add_argument("--dtype", default=dtype, help=f"{' | '.join(DTYPE_NAMES)} (default {dtype_help or dtype})")
    p.add_argument("--attn", default=attn, help=f"{' | '.join(ATTENTION)} (default {attn_help or attn})")


def add_data_options(p: argparse.ArgumentParser) -> None:
    """``--bench`` and ``--data``."""
    p.add_argument("--bench", required=True, help="a benchmark (horizon list benchmarks)")
    p.add_argument("--data", help="the benchmark's data folder or file (default: $HORIZON_DATA, then the HF cache)")


def add_protocol_option(p: argparse.ArgumentParser, what: str, default: str | None = DEFAULT_PROTOCOL) -> None:
    """``--protocol`` (docs/protocol.md); ``what`` says what it decides for this command."""
    shown = f"default {default}" if default else "default: each case's own"
    p.add_argument("--protocol", default=default,
                   help=f"{' | '.join(PROTOCOLS.names())} ({shown}): {what}; docs/protocol.md")  # fmt: skip


def names(text: str) -> list[str]:
    """A comma-separated option ('a,b', '' for none) as a list of names."""
    return [m for m in text.split(",") if m]


def note(message: str) -> None:
    """Say out loud (on stderr) what a legal but surprising input means; the command goes on."""
    print(f"horizon: note: {message}", file=sys.stderr)


def check_output_file(path: Path | None, option: str = "--json") -> None:
    """Refuse an output path that cannot be written as a file, before any work (a folder, a missing folder)."""
    if path is None:
        return
    if path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a folder: give a file path, e.g. {str(path / 'out.json')!r}")
    if not path.parent.is_dir():
        raise ValueError(f"{option} {str(path)!r}: the folder {str(path.parent)!r} does not exist")


def check_output_folder(path: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be one (an existing file, or a file on the way to it); a missing folder
    is made by the command."""
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            where = "is a file" if folder == path else f"is inside {str(folder)!r}, which is a file"
            raise ValueError(f"{option} {str(path)!r} {where}: give a folder (it is created if missing)")


def check_max_new_tokens(value: int | None) -> None:
    """``--max-new-tokens`` is a count of at least 1 token in every command (None: the command's default)."""
    if value is not None and value < 1:
        raise ValueError(f"--max-new-tokens must be >= 1 (a count of generated tokens), got {value}")


def check_at_least(value: int | None, option: str, minimum: int, what: str) -> None:
    """An integer option of at least ``minimum`` (None: the command's default); ``what`` says what it counts."""
    if value is not None and value < minimum:
        raise ValueError(f"{option} must be >= {minimum} ({what}), got {value}")


SEED_LIMIT = 2**63  # torch.Generator.manual_seed takes a 64-bit signed whole number


def check_seed(value: int) -> None:
    """``--seed`` seeds torch generators (and the subset), which take a whole number in [0, 2**63)."""
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(f"--seed must be a whole number from 0 to 2**63 - 1 (it seeds the random selections), got "
                         f"{value}")  # fmt: skip


def check_question(text: str) -> None:
    """``--question``: some text (an empty one is likelier an unset shell variable than a question)."""
    if not text.strip():
        raise ValueError(f"--question {text!r} is empty: give the question to ask about the image")


def check_model_name(model: str, option: str = "--model") -> None:
    """A preset name or a checkpoint folder (a folder with config.json), checked without loading anything."""
    from horizon.models.presets import MODELS

    if model in MODELS or (Path(model).expanduser() / "config.json").is_file():
        return
    raise ValueError(f"{option}: {MODELS.unknown_message(model)}; or give a checkpoint folder (with config.json)")


def protocol_option(name: str, model: str, path: str | None) -> Protocol:
    """``--protocol`` as a Protocol, refused (before loading) for a preset of a family it does not define."""
    from horizon.protocol import PROTOCOLS

    if name not in PROTOCOLS:
        raise ValueError(f"--protocol: {PROTOCOLS.unknown_message(name)}")
    chosen = PROTOCOLS.get(name)
    preset = preset_of(model)
    if preset is not None and path is None:
        chosen.check_family(preset.family, preset.name)
    return chosen


def schedule_option(text: str, option: str = "--schedule", form: str = "transcribed") -> Schedule:
    """``--schedule`` as a Schedule with known methods (a paper preset in ``form``, its protocol's); an empty value
    is refused (``full`` is the unpruned model: an empty string is likelier an unset shell variable)."""
    from horizon.engine.plan import check_methods
    from horizon.paper_presets import resolve_schedule

    if not text.strip():
        raise ValueError(
            f"{option} is empty: give a schedule such as 'random@2:0.5' or a preset (horizon list presets), "
            "or 'full' for the unpruned model"
        )
    schedule = resolve_schedule(text, form)
    check_methods(schedule)
    return schedule


def preset_of(model: str) -> ModelPreset | None:
    """The preset ``--model`` names (None for a checkpoint folder), as loading resolves it."""
    from horizon.models.presets import MODELS

    return MODELS.get(model) if model in MODELS else None


def check_schedule_before_loading(schedule: Schedule, model: str, path: str | None) -> None:
    """``--model`` (a preset or a checkpoint folder), then ``schedule`` against a preset's architecture before its
    weights load (nothing for a checkpoint folder or an explicit ``--path``: :func:`check_schedule_on` checks
    those once loaded), and say what a keep of zero means. Call it after the commands' other option checks."""
    from horizon.engine.plan import check_schedule
    from horizon.models.loading import adapter_for

    if path is None:
        check_model_name(model)
    preset = preset_of(model)
    if preset is not None and path is None:
        mrope = adapter_for(preset.family).mrope
        check_schedule(
            schedule, n_layers=preset.arch.layers, mrope=mrope, model=preset.name, n_visual=preset.visual_tokens
        )
    note_zero_keeps(schedule, preset.visual_tokens if preset is not None else None)


def check_schedule_on(schedule: Schedule, loaded: LoadedModel) -> None:
    """Check ``schedule`` once against the loaded model (its real depth and rope), before any sample runs."""
    from horizon.engine.plan import check_schedule

    n_visual = loaded.preset.visual_tokens if loaded.preset is not None else None
    check_schedule(schedule, n_layers=loaded.n_layers, mrope=loaded.adapter.mrope, model=loaded.name, n_visual=n_visual)


def note_zero_keeps(schedule: Schedule, n_visual: int | None) -> None:
    """A stage that keeps no visual token is legal (a keep sweep's end point); say what it means."""
    from horizon.schedule import WITHDRAW_ALL_METHODS

    for stage in schedule.stages:
        if stage.method in WITHDRAW_ALL_METHODS:
            return
        zero = stage.keep.count(n_visual) == 0 if n_visual is not None else stage.keep.value == 0
        if zero:
            rounds = f" ({stage.keep} of {n_visual} rounds to 0)" if stage.keep.value != 0 else ""
            note(
                f"{stage} keeps 0 visual tokens{rounds}: from layer {stage.layer} on the model sees no visual "
                f"token, as vtw@{stage.layer} (withdraw all) does"
            )
            return


def check_options_early(args: argparse.Namespace) -> None:
    """``--dtype``, ``--attn`` and ``--device`` of :func:`add_model_options`, before any work."""
    from horizon.models.loading import check_options

    check_options(args.dtype, args.attn, args.device)


def add_stand_in_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stand-ins", action="store_true",
                   help="run --model's stand-in (random weights of its depth and visual geometry, built locally) on "
                        "the benchmark's fixture rows unless --data is given: checks a machine and the plumbing, "
                        "measures nothing (docs/stand-ins.md)")  # fmt: skip


def stand_in_model(model: str, path: str | None) -> str:
    """The stand-in preset that runs for ``--model`` under ``--stand-ins`` (refusing a model that has none)."""
    from horizon.models.presets import MODELS, stand_in_name

    real = [name for name, p in MODELS.items() if p.real]
    if model not in MODELS or not MODELS.get(model).real:
        raise ValueError(f"--stand-ins: {model!r} is not a real checkpoint preset; stand-ins exist for {', '.join(real)}")
    if path is not None:
        raise ValueError("--stand-ins builds the stand-in locally: --path (a checkpoint folder) has no use with it")
    note(f"--stand-ins: {stand_in_name(model)} runs in place of {model}: random weights, its numbers carry no meaning")
    return stand_in_name(model)


def stand_in_samples(bench: Benchmark) -> tuple[list[Sample], list[str]]:
    """``bench``'s fixture rows (horizon/benchmarks/fixtures.py) as samples, read through its real loader from a
    scratch folder: a stand-in's data when no --data is given."""
    import tempfile

    from horizon.benchmarks.fixtures import write_parquet
    from horizon.benchmarks.samples import load_samples

    note(f"--stand-ins: {bench.name}'s fixture rows (no --data given)")
    with tempfile.TemporaryDirectory(prefix="horizon-stand-in-") as root:
        path = write_parquet(bench.name, Path(root) / bench.name, split=bench.split)
        return load_samples(bench, path=str(path.parent))
