"""``horizon verdict`` (issue 34): the judgements on hand-made sweeps (paired tests on per-sample units), the
config's refusals, the page; the whole run is the CLI's smoke test (tests/test_cli_smoke.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from horizon.harness.records import Record
from horizon.methods.plugins import load_plugin
from horizon.verdict.judge import finding, hybrid_finding, judge
from horizon.verdict.page import render, write_page
from horizon.verdict.run import Sweep, VerdictConfig, organism_samples, sweep_layers

ROOT = Path(__file__).resolve().parents[1]
N = 200


def _record(schedule: str, right: int, n: int = N) -> Record:
    """A record whose first ``right`` of ``n`` samples are answered right."""
    rows = [[f"s{i:03d}", "x", 1.0 if i < right else 0.0] for i in range(n)]
    return Record(case=schedule, model="m", benchmark="b", schedule=schedule, device="cpu", dtype="float32",
                  attn_implementation="sdpa", n=n, failures=0, metrics={"accuracy": 100 * right / n},
                  average_visual_tokens=18.0, samples=rows)  # fmt: skip


def _sweep(method_right: dict[int, int], random_right: dict[int, int], hybrid: dict[str, int] | None = None) -> Sweep:
    h = {k: _record(k, v) for k, v in (hybrid or {}).items()}
    return Sweep("mine", 0.125, "m", "b", N, _record("full", 180), {k: _record(f"mine@{k}", v) for k, v in
                 method_right.items()}, {k: _record(f"random@{k}", v) for k, v in random_right.items()}, h)  # fmt: skip


def test_ahead_then_caught_up() -> None:
    j = judge(_sweep({1: 170, 2: 170, 3: 120, 4: 100}, {1: 100, 2: 100, 3: 118, 4: 100}))
    assert j.ahead == (1, 2) and j.catch.layer == 3
    text = finding(j, "mine")
    assert text.startswith("**ahead of random at layers 1, 2; no longer from layer 3 on**")
    assert "largest lead +35.0 points at layer 1" in text


def test_never_ahead_and_still_ahead() -> None:
    never = judge(_sweep({1: 100, 2: 101}, {1: 100, 2: 100}))
    assert never.ahead == () and finding(never, "mine").startswith("**never significantly ahead of random**")
    still = judge(_sweep({1: 170, 2: 170}, {1: 100, 2: 100}))
    assert "still at the last layer" in finding(still, "mine")
    behind = judge(_sweep({1: 40, 2: 100}, {1: 100, 2: 100}))
    assert behind.behind == (1,) and "significantly behind random at layers 1" in finding(behind, "mine")


def test_the_hybrid_is_judged_against_alone_and_withdraw() -> None:
    j = judge(_sweep({1: 100}, {1: 100}, {"alone": 100, "+random": 150, "+vtw": 149}))
    assert j.hybrid_vs_alone is not None and j.hybrid_vs_alone.difference == pytest.approx(25.0)
    assert hybrid_finding(j.hybrid_vs_alone, "the method alone").startswith("**ahead of the method alone**")
    assert hybrid_finding(j.hybrid_vs_withdraw, "withdraw-all").startswith("no significant difference from")
    assert hybrid_finding(None, "x").startswith("not run")


def test_the_page_states_the_verdict_and_links_its_figure(tmp_path: Path) -> None:
    j = judge(_sweep({1: 170, 2: 100}, {1: 100, 2: 100}, {"alone": 100, "+random": 150, "+vtw": 120}))
    text = render([j], "random", "verdict-random.png", "horizon verdict random")
    assert "## Verdict" in text and "](verdict-random.png)" in text and "| layer" in text
    page, figure = write_page([j], "random", tmp_path, "horizon verdict random")
    assert page.read_text().startswith("# Is `random` better than random?")
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_the_config_refuses_what_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        VerdictConfig(method="nope")
    with pytest.raises(ValueError, match="rows >= 2"):
        VerdictConfig(method="random", rows=1)
    with pytest.raises(ValueError, match=r"keep 1\.5 must be a fraction"):
        VerdictConfig(method="random", keep=1.5)
    with pytest.raises(ValueError, match=r"random stage goes at layer \[5, 6\], not 3"):
        VerdictConfig(method="random", hybrid_layer=3)
    assert sweep_layers("random", 8) == [1, 2, 3, 4, 5, 6, 7] and sweep_layers("sparsevlm", 8)[0] == 1


def test_the_samples_are_the_suites_organism_rows() -> None:
    """The default rows (192 held-out synth rows) are the suite's: 96 per task family, its sample ids."""
    fine, global_ = organism_samples("synth-fine", 192), organism_samples("synth-global", 192)
    assert len(fine) + len(global_) == 192 and len(fine) == len(global_) == 96
    assert len({s.id for s in fine} | {s.id for s in global_}) == 192


def test_the_docs_template_is_a_working_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/plugins.md's contract block, run as written, registers its method through the plugin door."""
    from horizon.methods import METHODS

    text = (ROOT / "docs" / "plugins.md").read_text()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "template.py"
    path.write_text(block)
    monkeypatch.setattr(METHODS, "_items", dict(METHODS._items))
    plugin = load_plugin(str(path))
    assert plugin.methods == ("norm-topk",) and METHODS.get("norm-topk").needs == frozenset({"hidden"})
    from horizon.contract import check_method

    lines = check_method("norm-topk", env={"HORIZON_CACHE": str(tmp_path / "cache")}, models=("tiny-llava",), quick=True)
    assert lines and all(c.passed for c in lines), [c.line() for c in lines if not c.passed]
    example = (ROOT / "examples" / "horizon-norm-topk" / "src" / "horizon_norm_topk" / "__init__.py").read_text()
    assert block.split("def select_norm_topk", 1)[1] in example  # the worked example is the same method


def test_the_verdict_on_the_suites_rows_is_the_suites_finding() -> None:
    """``horizon verdict divprune`` on the default rows reads the suite's samples: each layer's per-sample values
    (divprune's, and random's mean over its 3 seeds) equal the committed baselines' of the suite's organism cases,
    so its catch-up layer and lead are the suite's finding 1 for DivPrune (organism-llava, fine tasks)."""
    import json

    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.harness.baseline_units import decode
    from horizon.models.loading import load_model
    from horizon.report.organism_stats import catch_up
    from horizon.verdict.run import run_sweep

    config = VerdictConfig(method="divprune", models=("organism-llava",), benchmarks=("synth-fine",), info_rows=0)
    sweep = run_sweep(load_model("organism-llava", env={}), BENCHMARKS.get("synth-fine"),
                      organism_samples("synth-fine", config.rows), config, lambda _: None)  # fmt: skip
    data = json.loads((ROOT / "baselines" / "cpu" / "organism-llava" / "synth-fine.json").read_text())
    suite: dict[str, dict[int, Record]] = {"random": {}, "divprune": {}}
    for method, table in suite.items():
        for layer in sweep.method:
            units = decode(data["cases"][f"organism-llava-synth-fine-{method}@{layer}:0.125"]["units"], data["unit_ids"])
            ours = (sweep.random if method == "random" else sweep.method)[layer].units
            assert {k: round(v, 4) for k, v in ours.items()} == units, (method, layer)
            rows = [[k, "", v] for k, v in sorted(units.items())]
            table[layer] = Record(case=f"{method}@{layer}", model="m", benchmark="b", schedule=f"{method}@{layer}",
                                  device="cpu", dtype="float32", attn_implementation="sdpa", n=len(rows), failures=0,
                                  metrics={}, average_visual_tokens=0.0, samples=rows)  # fmt: skip
    theirs, ours_judged = catch_up(suite, sorted(sweep.method)), judge(sweep)
    assert (ours_judged.catch.layer, ours_judged.catch.lead_layer) == (theirs.layer, theirs.lead_layer)
    assert ours_judged.catch.lead is not None and theirs.lead is not None
    assert ours_judged.catch.lead.difference == pytest.approx(theirs.lead.difference, abs=0.01)
