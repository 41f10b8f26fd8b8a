"""A baseline file is checked against itself, and each stored number proves itself (docs/robustness.md): a headline
that is not the mean of its stored units, a case of another model or benchmark, a key given twice, a header naming
another place, a metric that is not a number are each one clear failure naming the case and what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from horizon.harness.baselines import BaselineError, load
from horizon.harness.check import check, find_regressions
from horizon.harness.records import Record

ROOT = Path(__file__).parents[1]
FILE = Path("cpu/organism-llava/synth-global.json")
CASE = "organism-llava-synth-global-full"


def _copy(tmp_path: Path) -> tuple[Path, dict]:  # type: ignore[type-arg]
    path = tmp_path / FILE
    path.parent.mkdir(parents=True)
    shutil.copy(ROOT / "baselines" / FILE, path)
    return path, json.loads(path.read_text())


def _record_of(root: Path) -> Record:
    """The record an honest re-run of the case would write: its baseline entry's own numbers and units."""
    entry = load(root / FILE, root).cases[CASE]
    units = entry.units or {}
    metrics = {k: v for k, v in entry.metrics.items() if k != "visual_tokens"}
    return Record(case=CASE, model="organism-llava", benchmark="synth-global", schedule="full", device="cpu",
                  dtype="float32", attn_implementation="sdpa", n=entry.n, failures=0, metrics=metrics,
                  average_visual_tokens=entry.metrics["visual_tokens"],
                  samples=[[u, "", v] for u, v in sorted(units.items())])  # fmt: skip


def test_the_honest_entry_passes_and_a_planted_headline_is_a_damaged_baseline(tmp_path: Path) -> None:
    path, data = _copy(tmp_path)
    record = _record_of(tmp_path)
    assert check(record, tmp_path, "compare", owner="1x00-main") == []  # the honest re-run is green
    stored = data["cases"][CASE]["metrics"]["accuracy"]
    data["cases"][CASE]["metrics"]["accuracy"] = stored + 5  # units untouched
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    problems = check(record, tmp_path, "compare", owner="1x00-main")
    assert len(problems) == 1 and problems[0].startswith(f"{CASE}: damaged baseline: its accuracy {stored + 5:.4f} "
                                                         f"is not the mean of its 96 stored units ({stored:.4f})")
    assert find_regressions([record], tmp_path) == problems  # the report says the same


def test_every_committed_baseline_proves_itself() -> None:
    """Every entry of every committed baseline file: its headline is the mean of its units where it should be."""
    from horizon.harness.check import damaged_entry

    root = ROOT / "baselines"
    checked = 0
    for path in sorted(root.rglob("*.json")):
        if path.relative_to(root).parts[0] == "paper":
            continue
        bf = load(path, root)
        for case, entry in bf.cases.items():
            assert damaged_entry(case, entry, bf.benchmark) is None
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["cases"].update({"organism-llava-synth-fine-full": d["cases"][CASE]}),
         "case 'organism-llava-synth-fine-full' is not one of this file's organism-llava on synth-global"),
        (lambda d: d["cases"][CASE]["metrics"].update({"accuracy": None}),
         f"case '{CASE}' metric 'accuracy' is null, not a number"),
        (lambda d: d["cases"][CASE]["metrics"].update({"accuracy": "abc"}),
         f"case '{CASE}' metric 'accuracy' is \"abc\", not a number"),
        (lambda d: d.update({"benchmark": "synth"}),
         "' is not one of this file's organism-llava on synth"),  # synth-global's cases are not synth's
        (lambda d: d.update({"model": "organism-qwen2.5-vl"}),
         "' is not one of this file's organism-qwen2.5-vl on synth-global"),  # the header moved, not the cases
    ],
)  # fmt: skip
def test_a_file_is_checked_against_itself(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path, data = _copy(tmp_path)
    edit(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    with pytest.raises(BaselineError, match="^" + str(path).replace(".", r"\.")) as err:
        load(path, tmp_path)
    assert message in str(err.value)
    problems = check(_record_of_raw(data), tmp_path, "compare", owner="1x00-main")
    assert len(problems) == 1 and message in problems[0] and "git checkout" in problems[0]


def _record_of_raw(data: dict) -> Record:  # type: ignore[type-arg]
    return Record(case=CASE, model="organism-llava", benchmark="synth-global", schedule="full", device="cpu",
                  dtype="float32", attn_implementation="sdpa", n=96, failures=0, metrics={"accuracy": 1.0},
                  average_visual_tokens=144.0)  # fmt: skip


def test_a_key_given_twice_is_refused_not_silently_taken(tmp_path: Path) -> None:
    path, _ = _copy(tmp_path)
    text = path.read_text()
    entry = text[text.index(f'    "{CASE}": {{'):]
    entry = entry[: entry.index("\n    },\n") + len("\n    },\n")]
    path.write_text(text.replace(entry, entry + entry, 1))  # the full case twice: JSON would keep the last copy
    with pytest.raises(BaselineError, match=f"the key '{CASE}' is given twice"):
        load(path, tmp_path)


def test_a_header_naming_another_place_is_refused(tmp_path: Path) -> None:
    path, data = _copy(tmp_path)
    moved = tmp_path / "cpu" / "organism-llava-weak" / "synth-global.json"
    moved.parent.mkdir()
    path.rename(moved)  # a file copied into another model's folder
    with pytest.raises(BaselineError, match="its header names cpu/organism-llava/synth-global, its place "
                                            "cpu/organism-llava-weak/synth-global"):  # fmt: skip
        load(moved, tmp_path)
    load(moved)  # without a root, only the file itself is checked


def test_horizon_baselines_names_a_damaged_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from horizon.cli import main

    path, data = _copy(tmp_path)
    data["cases"][CASE]["metrics"]["accuracy"] = "abc"
    path.write_text(json.dumps(data))
    assert main(["baselines", "--baselines", str(tmp_path)]) == 1
    assert "metric 'accuracy' is \"abc\", not a number" in capsys.readouterr().out
