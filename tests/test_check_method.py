"""``horizon check-method NAME`` (horizon/contract/): the method contract on any registered method. Built-ins pass it;
planted faults (a budget off by one, an undeclared read, an undeclared draw from the generators) fail their own line,
and every other check still runs and passes."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch

from horizon.cli.check_method import add_parser, cmd_check_method
from horizon.contract import CONTRACT_MODELS, QUICK, check_method, geometries_for
from horizon.contract.checks import selection_time
from horizon.doctor.checks import Check, guarded
from horizon.methods import METHODS, Method
from horizon.methods.plugins import load_plugin
from horizon.methods.view import TokenView
from horizon.registry import UnknownNameError
from tests.method_registry import restore_registry  # noqa: F401 - the fixture "registry"

CHECKS = ("exact budgets", "keep-all is the identity", "deterministic for a seed", "padded batch of 4 = single runs",
          "reads only what it declares", "sdpa = eager attention")  # fmt: skip
SNEAKY = """
import torch
from horizon.methods import register_method

@register_method("sneaky-read", reference="a test plugin: ranks by normed_hidden without declaring it")
def select(view, keep, generators):
    scores = view.normed_hidden[..., 0].gather(1, view.visual_rows)  # (B, Nv)
    return scores.topk(keep, dim=1).indices.sort(dim=1).values
"""


def _register(name: str, select: Callable[[TokenView, int, Sequence[torch.Generator]], torch.Tensor]) -> None:
    METHODS.add(name, Method(name, select, frozenset(), "original", True, "a planted fault (tests)"))


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name.partition(" [")[0]: c for c in checks}


def _run(tiny_model: Callable[..., object], name: str, models: Sequence[str] = CONTRACT_MODELS) -> list[Check]:
    checks = check_method(name, env={}, models=models, quick=True, load=tiny_model)  # type: ignore[arg-type]
    assert [c.name for c in checks] == [f"{n} [{m}]" for m in models for n in CHECKS]
    return checks


@pytest.mark.parametrize("method", ["random", "fastv", "divprune"])
def test_a_builtin_passes_every_check(tiny_model, method):
    checks = _run(tiny_model, method)
    assert all(c.passed for c in checks), "\n".join(c.line() for c in checks if not c.passed)


def test_a_budget_off_by_one_fails_the_budget_line_and_the_rest_still_runs(tiny_model, registry):
    def one_short_when_small(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
        n = keep - 1 if 0 < keep and 8 * keep < view.n_visual else keep  # 0.1 and #7: one short; 0.25 and up: right
        return torch.arange(n).expand(view.batch, n)

    _register("one-short", one_short_when_small)
    checks = _by_name(_run(tiny_model, "one-short", ["tiny-llava"]))
    budget = checks.pop("exact budgets")
    assert not budget.passed and "0.1: RuntimeError" in budget.detail and "returned shape (1, 57), expected (1, 58)" \
        in budget.detail and "#7: RuntimeError" in budget.detail and "0.5" not in budget.detail  # fmt: skip
    assert all(c.passed for c in checks.values()), [c.line() for c in checks.values()]


def test_an_undeclared_read_fails_the_reads_line(tiny_model, registry, tmp_path: Path):
    path = tmp_path / "sneaky_read.py"
    path.write_text(SNEAKY)
    assert load_plugin(str(path)).methods == ("sneaky-read",)
    checks = _by_name(_run(tiny_model, "sneaky-read", ["tiny-qwen2.5-vl"]))
    reads = checks.pop("reads only what it declares")
    assert not reads.passed and "UNDECLARED: normed_hidden" in reads.detail and "not tracked" in reads.detail
    assert reads.line().startswith("FAIL  reads only what it declares [tiny-qwen2.5-vl]: read normed_hidden over ")
    assert all(c.passed for c in checks.values()), [c.line() for c in checks.values()]


def test_an_undeclared_attention_read_fails_the_reads_and_the_attention_lines(tiny_model, registry):
    def peeks(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
        scores = view.last_query_attention.gather(1, view.visual_rows)  # (B, Nv), not declared
        return scores.topk(keep, dim=1, sorted=False).indices.sort(dim=1).values

    _register("peeks-attention", peeks)
    checks = _by_name(_run(tiny_model, "peeks-attention", ["tiny-llava"]))
    reads, attention = checks.pop("reads only what it declares"), checks.pop("sdpa = eager attention")
    assert not reads.passed and "UNDECLARED: last_query_attention" in reads.detail
    assert not attention.passed and "reads last_query_attention (recomputed from q/k; UNDECLARED: last_query_attention)" \
        in attention.detail and "overlaps eager's 100.0%" in attention.detail  # fmt: skip
    assert all(c.passed for c in checks.values()), [c.line() for c in checks.values()]


def test_an_undeclared_draw_from_the_generators_fails_determinism(tiny_model, registry):
    def draws(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
        return torch.stack([torch.randperm(view.n_visual, generator=g)[:keep].sort().values for g in generators])

    _register("secretly-random", draws)  # not declared stochastic: a seed changes its kept set
    checks = _by_name(_run(tiny_model, "secretly-random", ["tiny-llava"]))
    det = checks.pop("deterministic for a seed")
    assert not det.passed and "not stochastic: seed 1 kept another set 1 of 1 times" in det.detail
    assert all(c.passed for c in checks.values()), [c.line() for c in checks.values()]


def test_the_selection_is_timed_against_a_decoder_layer_and_a_failing_one_is_a_failed_line(registry):
    line = selection_time("random", "tiny-llava", 1)
    assert line.passed and "selection_ms" in line.detail and "layer_ms" in line.detail and "share" in line.detail

    def crashes(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
        raise RuntimeError("boom")

    _register("crashes", crashes)
    failed = guarded("selection time [tiny-llava geometry]", lambda: selection_time("crashes", "tiny-llava", 1))
    assert not failed.passed and "RuntimeError: boom" in failed.detail
    assert geometries_for(CONTRACT_MODELS) == ("llava-1.5-7b", "qwen2.5-vl-7b")
    assert geometries_for(["tiny-qwen2.5-vl"]) == ("qwen2.5-vl-7b",) and QUICK.timing_repeats == 0


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="horizon")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["check-method", *argv])


def test_the_command_prints_one_line_per_check_and_a_summary(capsys, monkeypatch, horizon_cache):
    monkeypatch.setenv("HORIZON_CACHE", str(horizon_cache))
    assert cmd_check_method(_parse("random", "--quick", "--models", "tiny-llava")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("horizon check-method random · built-in · needs nothing · layer 2 · tiny-llava")
    assert [ln.split(" [")[0] for ln in lines[1:7]] == [f"PASS  {n}" for n in CHECKS]
    assert lines[-1].startswith("all 6 checks passed in ") and "--quick" in lines[-1]


def test_a_failing_check_exits_1(capsys, monkeypatch, horizon_cache, registry):
    monkeypatch.setenv("HORIZON_CACHE", str(horizon_cache))
    _register("always-three", lambda view, keep, gens: torch.arange(3).expand(view.batch, 3))
    assert cmd_check_method(_parse("always-three", "--quick", "--models", "tiny-llava")) == 1
    out = capsys.readouterr().out
    assert "FAIL  exact budgets [tiny-llava]" in out and "check(s) failed in " in out


def test_an_unknown_method_or_model_is_refused_before_anything_runs(capsys):
    with pytest.raises(UnknownNameError, match=r"unknown method 'fastvv'; did you mean 'fastv'\?.*available: .*random"):
        cmd_check_method(_parse("fastvv"))
    with pytest.raises(UnknownNameError, match="unknown model 'tiny-nope'"):
        cmd_check_method(_parse("random", "--models", "tiny-nope"))
    assert capsys.readouterr().out == ""


def test_through_main_a_plugin_is_checked_and_an_unknown_name_exits_2(capsys, monkeypatch, horizon_cache, registry,
                                                                      tmp_path: Path):  # fmt: skip
    """As ``horizon --plugin FILE check-method NAME`` runs it (registered here as horizon/cli/__init__.py does)."""
    from horizon.cli import COMMANDS, main

    monkeypatch.setitem(COMMANDS, "check-method", (add_parser, cmd_check_method))
    monkeypatch.setenv("HORIZON_CACHE", str(horizon_cache))
    path = tmp_path / "sneaky_read.py"
    path.write_text(SNEAKY)
    assert main(["check-method", "sneaky-read", "--quick", "--models", "tiny-llava", "--plugin", str(path)]) == 1
    out = capsys.readouterr().out
    assert "· plugin horizon_plugin_sneaky_read (" in out and "FAIL  reads only what it declares [tiny-llava]" in out
    assert out.count("PASS  ") == 5 and "1 of 6 check(s) failed" in out
    assert main(["check-method", "nope"]) == 2
    assert "horizon: error: unknown method 'nope'" in capsys.readouterr().err
