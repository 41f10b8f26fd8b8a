"""What each family's lmms-eval 0.7.3 wrapper decides under ``lmms-eval`` (horizon/benchmarks/wrappers.py): the stop
strings it cuts, the strip lmms-eval applies before scoring, the length of a task that sets none (issue 33).
tests_lmms checks the tasks' ``until`` and lengths against lmms-eval's own yamls."""

from __future__ import annotations

import pytest

from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.wrappers import WRAPPERS, Wrapper, wrapper_length, wrapper_stops
from horizon.models.presets import FAMILY_NAMES
from horizon.registry import UnknownNameError

ANSWER = " stop sign \n\nThe sign says ASSISTANT: stop. "


def test_every_model_family_has_its_wrappers_rule():
    assert set(FAMILY_NAMES) <= set(WRAPPERS.names())


@pytest.mark.parametrize("name", ["textvqa", "textvqa-ocr", "mmbench-en"])
def test_llava_cuts_nothing_qwen_cuts_the_tasks_until(name: str):
    bench = BENCHMARKS.get(name)
    assert bench.until == ("ASSISTANT:",)  # the task yaml's (tests_lmms compares it with lmms-eval's)
    assert bench.cut(ANSWER, "llava") == ANSWER.strip()  # lmms-eval's llava wrappers apply no until
    assert bench.cut(ANSWER, "qwen2_5_vl") == "stop sign \n\nThe sign says"  # cut, then stripped
    assert bench.cut(ANSWER, "qwen3_vl") == "stop sign \n\nThe sign says"


@pytest.mark.parametrize("name", ["mme", "pope", "scienceqa-img", "gqa", "docvqa", "mmbench-cn", "ocrbench"])
def test_the_default_blank_line_is_cut_by_no_family(name: str):
    bench = BENCHMARKS.get(name)
    assert bench.until == ("\n\n",)  # lmms-eval's default until (its fewshot_delimiter)
    for family in ("llava", "qwen2_5_vl"):
        assert bench.stops(family) == ()
        assert bench.cut(ANSWER, family) == ANSWER.strip()


def test_horizons_own_stops_cut_every_family():
    for name in ("synth", "synth-global", "synth-fine"):
        bench = BENCHMARKS.get(name)
        assert not bench.task_until
        for family in ("llava", "qwen2_5_vl"):
            assert bench.cut("red \nblue", family) == "red"


def test_a_family_without_a_read_wrapper_is_refused():
    with pytest.raises(UnknownNameError, match="internvl"):
        wrapper_stops("internvl", ("\n\n",))
    with pytest.raises(UnknownNameError, match="qwen2_5_vl"):  # the message lists the known families
        BENCHMARKS.get("textvqa").cut("x", "internvl")
    with pytest.raises(ValueError, match="source"):
        Wrapper(family="x", wrapper="x", cuts=True, max_new_tokens=1, source=" ")
    with pytest.raises(ValueError, match="never cuts"):
        Wrapper(family="x", wrapper="x", cuts=False, drops=("\n\n",), max_new_tokens=1, source="x.py l.1")
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1, got 0"):
        Wrapper(family="x", wrapper="x", cuts=True, max_new_tokens=0, source="x.py l.1")


def test_a_task_without_a_length_runs_at_the_wrappers_default():
    for name in ("textvqa", "textvqa-ocr"):
        bench = BENCHMARKS.get(name)
        assert not bench.task_length
        assert [bench.new_tokens(f) for f in ("llava", "qwen2_5_vl", "qwen3_vl")] == [1024, 32768, 128]
        assert bench.under("paper").new_tokens("llava") == 128  # the release's loader sets 128
    mme = BENCHMARKS.get("mme")
    assert mme.task_length and mme.new_tokens("qwen2_5_vl") == mme.max_new_tokens == 16
    assert wrapper_length("llava") == 1024
