"""The report as a reader meets it: the committed page (docs/report.md, rendered from the committed baselines) is not
stale, opens with the findings' verdicts, captions every figure with its n and names its axes, keeps the tiny
random-weight models and the stand-ins in parts labelled "machinery only", and wraps its prose; records rebuilt from
baselines through the case matrix."""

from __future__ import annotations

import difflib
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from horizon.harness.baselines import BaselineFile, load
from horizon.harness.records import Record
from horizon.report.document import STAND_IN_HEADING, TINY_HEADING, render_report
from horizon.report.figure import draw
from horizon.report.from_baselines import UnknownCaseError, baseline_records, case_index, study_from_metrics
from horizon.report.information_figures import information_figures
from horizon.report.markdown import wrap
from horizon.report.organism_verdicts import FINDINGS
from horizon.report.write import FIGURE_DATA, PAGE_FIGURES, REGENERATE, page_figures, write_baseline_page
from tests.test_report_organism import rec

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "report.md"
FIGURES = ROOT / "docs" / PAGE_FIGURES
SCREEN = 30  # lines: the page's first screen
OUTCOME = re.compile(r"\*\*(reproduced|not reproduced|inconclusive|undetermined|mixed)")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page and its figures' data rendered afresh from the committed baselines (the PNGs are not drawn)."""
    out = tmp_path_factory.mktemp("page")
    write_baseline_page(ROOT / "baselines", out, ROOT / "baselines" / "paper", draw=False)
    return out


def _stale(name: str, committed: str, fresh: str) -> str:
    diff = list(difflib.unified_diff(committed.splitlines(), fresh.splitlines(), "committed", "regenerated", n=1,
                                     lineterm=""))[:30]  # fmt: skip
    return (f"{name} is stale: it is not what the committed baselines render. Regenerate it from the repository root "
            f"with `{REGENERATE}` and commit docs/report.md with docs/report/. First differences:\n" + "\n".join(diff))


def test_the_committed_page_is_what_the_committed_baselines_render(regenerated: Path) -> None:
    """Checks: docs/report.md equals the page rendered now from baselines/ (every character); docs/report/figures.json
    equals the figures' data rendered now (every series' values, both axes' labels, each caption: what each PNG is
    drawn from); and docs/report/ holds exactly the PNGs the page shows. PNG bytes are not compared: another matplotlib
    build draws the same data into other bytes."""
    fresh = (regenerated / "report.md").read_text()
    assert PAGE.read_text() == fresh, _stale("docs/report.md", PAGE.read_text(), fresh)
    data = (regenerated / PAGE_FIGURES / FIGURE_DATA).read_text()
    committed = (FIGURES / FIGURE_DATA).read_text()
    assert committed == data, _stale(f"docs/report/{FIGURE_DATA}", committed, data)
    shown = {figure["name"] for figure in json.loads(data)}
    assert {p.name for p in FIGURES.glob("*.png")} == shown, f"docs/report/ PNGs are stale: `{REGENERATE}`"
    assert all(f"({PAGE_FIGURES}/{name})" in fresh for name in shown)


def test_the_committed_page_opens_with_the_findings_verdicts() -> None:
    lines = PAGE.read_text().splitlines()
    screen = lines[:SCREEN]
    assert screen[0] == "# horizon report" and screen[2] == "## Findings"
    for title in FINDINGS.values():
        assert f"- **{title}**" in screen, f"finding {title!r} is not on the page's first screen"
    verdicts = [line for line in screen if line.startswith("  - ")]
    assert verdicts and all(OUTCOME.search(line) or "not judged" in line for line in verdicts)
    assert max(len(line) for line in screen) <= 120


def test_the_committed_page_wraps_its_prose_and_captions_its_figures() -> None:
    text = PAGE.read_text()
    prose = [line for line in text.splitlines() if not line.startswith(("|", "!["))]
    assert max(len(line) for line in prose) <= 120
    flat = " ".join(text.split())
    for figure in json.loads((FIGURES / FIGURE_DATA).read_text()):
        assert re.search(r"\bn = \d+|\d+ samples", figure["caption"]), figure["name"]
        assert f"{' '.join(figure['caption'].split())}*" in flat, f"{figure['name']}: no caption on the page"
        for panel in figure["panels"]:
            assert panel["xlabel"] and panel["ylabel"] not in ("", figure["benchmark"]), figure["name"]
    tiny = text.index(f"# {TINY_HEADING}")
    assert "(report/sweep-tiny-" not in text[:tiny] and "(report/sweep-tiny-" in text[tiny:]
    headings = [line for line in text[tiny:].splitlines() if line.startswith("#")]
    assert headings and all("machinery only" in line for line in headings)
    assert all(line.startswith("*Figure (machinery only") for line in text[tiny:].splitlines()
               if line.startswith("*Figure"))  # fmt: skip


def _organism_records(lead: float) -> list[Record]:
    """Both families of organism-llava: dart ``lead`` points ahead of random at layer 1, level from layer 6; the
    withdraw horizon at layer 2 (global) and 5 (fine); M + random 15 points ahead of M alone from layer 5."""
    records = []
    for bench, (early, late) in {"synth-global": (40, 90), "synth-fine": (30, 85)}.items():
        records += [rec("full", 92, bench), rec("random@1:0.125", early, bench), rec("dart@1:0.125", early + lead, bench),
                    rec("random@6:0.125", late, bench), rec("dart@6:0.125", late + 0.5, bench)]  # fmt: skip
        records += [rec(f"vtw@{k}", 10 if k < (2 if bench == "synth-global" else 5) else 91.5, bench) for k in range(8)]
        records += [rec("dart@2:0.25", 60, bench), rec("dart@2:0.375+random@5:#18", 75, bench),
                    rec("dart@2:0.5+vtw@5", 50, bench)]  # fmt: skip
    return records


def test_the_findings_list_follows_the_records() -> None:
    head = render_report(_organism_records(40), {}).splitlines()[:SCREEN]
    assert head[2] == "## Findings"
    assert "  - llava (n = 400): global **reproduced** from layer 6, fine **reproduced** from layer 6" in head
    assert "  - llava (n = 400): **reproduced (one measure only)** (horizons: withdraw 2 → 5)" in head
    assert "  - llava (n = 400): **reproduced** from layer 5" in head  # M + random against M alone, and against VTW
    assert "  - not judged: no organism and its weaker sibling in the records" in head
    level = render_report(_organism_records(0), {}).splitlines()[:SCREEN]  # dart never ahead of random
    flat = " ".join(" ".join(level).split())  # a long verdict line is wrapped
    assert "- llava (n = 400): global **not reproduced as stated** (never ahead), fine **not reproduced as stated** " \
           "(never ahead)" in flat  # fmt: skip
    none = render_report([rec("full", 90, "mme", "llava-1.5-7b")], {})
    assert "No finding is judged here" in none.split("## About")[0]


def _tiny_sweep() -> list[Record]:
    def tiny(schedule: str, f1: float) -> Record:
        return Record(case=f"tiny-llava-pope-{schedule}", model="tiny-llava", benchmark="pope", schedule=schedule,
                      device="cpu", dtype="float32", attn_implementation="sdpa", n=8, failures=0, metrics={"f1": f1},
                      average_visual_tokens=10.0, label=schedule.split("@")[0])  # fmt: skip

    return [tiny("full", 50.0)] + [tiny(f"{m}@{k}:0.1", 40.0 + k) for m in ("random", "dart") for k in (1, 8)]


def test_tiny_models_and_stand_ins_are_apart_under_machinery_only_headings() -> None:
    stand = replace(_tiny_sweep()[0], case="llava-1.5-7b-pope-full", model="llava-1.5-7b",
                    stand_in="stand-in-llava-1.5-7b")  # fmt: skip
    records = _organism_records(40) + _tiny_sweep() + [stand]
    text = render_report(records, {}, figures=page_figures(records))
    assert "machinery only" in TINY_HEADING and "machinery only" in STAND_IN_HEADING
    real, _, rest = text.partition(f"# {TINY_HEADING}")
    tiny, _, stand_part = rest.partition(f"# {STAND_IN_HEADING}")
    assert stand_part and "tiny-llava" not in real and "organism-llava" not in tiny + stand_part
    assert "(sweep-tiny-llava-pope-0.1.png)" in tiny and "(sweep-organism-llava-synth-fine-0.png)" in real
    assert "stand-in-llava-1.5-7b" in stand_part and "stand-in-llava-1.5-7b" not in real + tiny


def test_every_figure_has_a_caption_with_its_n_and_axes_named_with_units() -> None:
    records = _organism_records(40) + _tiny_sweep()
    specs = {s.name: s for s in page_figures(records)}
    pope = specs["sweep-tiny-llava-pope-0.1.png"]
    assert pope.panels[0].ylabel == "F1 (%)" and pope.panels[0].xlabel.startswith("pruning layer")
    assert "tiny-llava on pope" in pope.caption and "n = 8 samples per point" in pope.caption
    withdraw = specs["sweep-organism-llava-synth-fine-0.png"]
    assert withdraw.panels[0].ylabel == "accuracy (%)" and "every visual token withdrawn" in withdraw.caption
    assert "n = 400" in withdraw.caption
    for spec in specs.values():
        assert spec.model in spec.caption and spec.benchmark in spec.caption
        assert all(p.xlabel and p.ylabel != spec.benchmark for p in spec.panels)


def test_the_information_figure_legend_names_its_withdraw_line() -> None:
    import matplotlib.pyplot as plt

    study = {"model": "organism-llava", "benchmark": "synth-fine", "n": 4, "layers": [0, 1, 2], "mean": [0.3, 0.1, 0.0],
             "variance": [0.1, 0.05, 0.0], "horizon": 2, "withdraw": {"0": 20.0, "1": 60.0, "2": 90.0}, "full": 92.0,
             "oracle": {}, "retained": {}}  # fmt: skip
    (spec,) = information_figures(study, "organism-llava-synth-fine-information")
    assert spec.panels[0].right_label == "accuracy (%), all withdrawn" and "n" in spec.caption
    fig = draw(spec)
    try:
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    finally:
        plt.close(fig)
    assert {"mean information", "every visual token withdrawn", "unpruned", "information horizon (layer 2)"} <= set(
        legend)


def test_wrapping_never_opens_a_block_and_leaves_tables_alone() -> None:
    row = "| " + " | ".join(["cell"] * 40) + " |"
    text = ("word " * 30 + "stronger - weaker " + "x " * 40 + "layer 2. Then 1. more").strip()
    out = wrap(f"{text}\n\n- item " + "y " * 80 + f"\n{row}\n", width=60)
    lines = out.splitlines()
    assert row in lines and all(len(line) <= 60 for line in lines if line != row)
    assert not any(re.match(r"\s*([-*+]|\d+[.)])\s", line) for line in lines[:lines.index("")][1:])
    item = lines.index("") + 1
    assert lines[item].startswith("- item") and lines[item + 1].startswith("  y")
    assert " ".join(out.split()) == " ".join(f"{text}\n\n- item {'y ' * 80}\n{row}".split())


def test_records_are_rebuilt_from_a_baseline_through_the_case_matrix() -> None:
    cases = case_index()
    case = "organism-llava-synth-fine-random@3:0.125"
    units = {"0-1": 1.0, "0-2": 0.0, "0-3": 0.3333}
    bf = BaselineFile("cpu", "organism-llava", "synth-fine").with_case(case, 3, {"accuracy": 44.44, "visual_tokens": 81.0},
                                                                       0, units)  # fmt: skip
    (r,) = baseline_records(bf, cases)
    assert (r.model, r.benchmark, r.schedule, r.label, r.n) == ("organism-llava", "synth-fine", "random@3:0.125",
                                                                 "random", 3)  # fmt: skip
    assert r.seeds == list(cases[case].seeds) and len(r.seeds) > 1  # a random stage runs several seeds
    assert r.units == units and r.average_visual_tokens == 81.0 and r.metrics == {"accuracy": 44.44}
    assert r.flops_t is None and r.versions == {} and "prefill_ms" not in r.timing
    gone = bf.with_case("organism-llava-synth-fine-nosuch@3:0.125", 3, {"accuracy": 1.0})
    with pytest.raises(UnknownCaseError, match="'organism-llava-synth-fine-nosuch@3:0.125' is not in the suite's case"):
        baseline_records(gone, cases)


def test_an_information_study_is_rebuilt_from_its_baseline_numbers() -> None:
    path = ROOT / "baselines" / "cpu" / "organism-llava" / "synth-fine.json"
    case_id = "organism-llava-synth-fine-information"
    entry = load(path).cases[case_id]
    case = case_index()[case_id]
    study = study_from_metrics(case, entry.metrics, entry.n)  # type: ignore[arg-type]
    assert study["layers"] == list(range(8)) and len(study["mean"]) == 8
    horizon = entry.metrics["horizon_layer"]
    assert study["horizon"] == (None if horizon < 0 else horizon)
    assert set(study["retained"]) <= set(case.methods) and "random" in study["retained"]  # type: ignore[union-attr]
    assert study["retained"]["dart"]["0.125"][0] is None  # DART cannot prune before layer 1
    assert study["oracle"]["0.125"]["7"] == entry.metrics["oracle0.125@7:accuracy"]
    assert study["sample_means"] == {} and study["absent"]  # what a baseline does not keep is said


def test_horizon_report_from_baselines_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from horizon.cli import main

    source = ROOT / "baselines" / "cpu" / "tiny-llava" / "pope.json"
    (tmp_path / "b" / "cpu" / "tiny-llava").mkdir(parents=True)
    shutil.copy(source, tmp_path / "b" / "cpu" / "tiny-llava" / "pope.json")
    assert main(["report", "--from-baselines", str(tmp_path / "b"), "--out", str(tmp_path / "out")]) == 0
    assert "cases from the baselines" in capsys.readouterr().out
    page = (tmp_path / "out" / "report.md").read_text()
    assert f"# {TINY_HEADING}" in page and "nothing was run to write it" in page
    shown = [figure["name"] for figure in json.loads((tmp_path / "out" / PAGE_FIGURES / FIGURE_DATA).read_text())]
    assert shown and all((tmp_path / "out" / PAGE_FIGURES / name).read_bytes()[:4] == b"\x89PNG" for name in shown)
    assert main(["report", str(tmp_path), "--from-baselines", str(tmp_path / "b")]) == 2
    assert "not both" in capsys.readouterr().err
    data = json.loads(source.read_text())
    data["cases"]["tiny-llava-pope-nosuch@1:0.1"] = data["cases"]["tiny-llava-pope-full"]
    (tmp_path / "b" / "cpu" / "tiny-llava" / "pope.json").write_text(json.dumps(data))
    assert main(["report", "--from-baselines", str(tmp_path / "b"), "--out", str(tmp_path / "out")]) == 2
    assert "'tiny-llava-pope-nosuch@1:0.1' is not in the suite's case matrix" in capsys.readouterr().err
