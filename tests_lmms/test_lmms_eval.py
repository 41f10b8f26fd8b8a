"""Cross-checks against lmms-eval 0.7.3 (tox env ``lmms``; never part of the default install or tests).

1. Our ``lmms-eval`` scorers equal lmms-eval's own task functions answer by answer on >= 1,000 generated answers
   per benchmark (tests_lmms/differential.py; a deviation would be named and counted there: none today), and
   every task's stop strings and generation length are its yaml's.
2. ``lmms-eval eval --model horizon_llava`` runs offline on fixture data through the entry-point plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

lmms_eval = pytest.importorskip("lmms_eval", reason="install the tox env `lmms` (tox -e lmms) to run these")

from horizon.benchmarks.fixtures import rows, write_parquet  # noqa: E402

from .differential import CHECKS, DEVIATIONS  # noqa: E402


@pytest.mark.parametrize("name", list(CHECKS))
def test_scorer_equals_lmms_eval_answer_for_answer(name):
    """>= 1,000 generated answers per benchmark, run as horizon runs the benchmark (its spec's samples, cut, score
    and unit values) and as lmms-eval 0.7.3's own task functions score them: equal on every one, but for the
    documented deviations (none today). ``python -m tests_lmms.differential`` prints the counts."""
    count = CHECKS[name]()
    assert count.compared >= 1000
    assert count.deviations == DEVIATIONS[name]
    assert count.equal + sum(count.deviations.values()) == count.compared


def test_a_deviation_would_be_counted(monkeypatch):
    """The check can fail: horizon's MMBench reading without lmms-eval's "E" differs on answers naming E."""
    from horizon.benchmarks import choices

    monkeypatch.setattr(choices, "OPTION_LETTERS", "ABCD")
    count = CHECKS["mmbench-en"]()
    assert count.equal < count.compared


def test_task_stop_strings_and_lengths_are_lmms_evals():
    """Each benchmark's ``until`` and ``max_new_tokens`` are its lmms-eval task yaml's (after ``include``; no
    ``until``: lmms-eval's default, a blank line)."""
    import yaml

    from horizon.benchmarks.registry import BENCHMARKS

    tasks = Path(lmms_eval.__file__).parent / "tasks"

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)

    def config(path: Path) -> dict:
        data = yaml.load(path.read_text(), Loader=Loader)  # noqa: S506 - a SafeLoader that ignores !function
        base = config(path.parent / data["include"]) if "include" in data else {}
        return {**base, **data, "generation_kwargs": {**base.get("generation_kwargs", {}),
                                                       **data.get("generation_kwargs", {})}}  # fmt: skip

    yamls = {"mme": "mme/mme.yaml", "pope": "pope/pope.yaml", "scienceqa-img": "scienceqa/scienceqa_img.yaml",
             "textvqa": "textvqa/textvqa_val.yaml", "mmbench-en": "mmbench/mmbench_en_dev.yaml",
             "mmbench-cn": "mmbench/mmbench_cn_dev.yaml", "gqa": "gqa/gqa.yaml", "docvqa": "docvqa/docvqa_val.yaml",
             "infovqa": "infovqa/infovqa_val.yaml", "ocrbench": "ocrbench/ocrbench.yaml"}  # fmt: skip
    for name, file in yamls.items():
        kwargs = config(tasks / file)["generation_kwargs"]
        bench = BENCHMARKS.get(name)
        assert bench.until == tuple(kwargs.get("until", ["\n\n"])), name
        assert bench.task_length == ("max_new_tokens" in kwargs), name  # else the wrapper's default runs
        assert bench.max_new_tokens == kwargs.get("max_new_tokens", bench.max_new_tokens), name


MME_TASK = """
task: mme_local
dataset_path: parquet
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_visual: !function lmms_eval.tasks.mme.utils.mme_doc_to_visual
doc_to_text: !function lmms_eval.tasks.mme.utils.mme_doc_to_text
doc_to_target: answer
generation_kwargs:
  max_new_tokens: 4
process_results: !function lmms_eval.tasks.mme.utils.mme_process_results
metric_list:
  - metric: mme_perception_score
    aggregation: !function lmms_eval.tasks.mme.utils.mme_aggregate_results
    higher_is_better: true
  - metric: mme_cognition_score
    aggregation: !function lmms_eval.tasks.mme.utils.mme_aggregate_results
    higher_is_better: true
lmms_eval_specific_kwargs:
  default:
    pre_prompt: ""
    post_prompt: "\\nAnswer the question using a single word or phrase."
"""


def test_cli_runs_offline_through_the_plugin(tmp_path, horizon_cache):
    data = write_parquet("mme", tmp_path / "data")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "mme_local.yaml").write_text(MME_TASK.format(data=data))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "HORIZON_CACHE": str(horizon_cache)}  # fmt: skip
    cmd = [sys.executable, "-m", "lmms_eval", "eval", "--model", "horizon_llava", "--model_args",
           "pretrained=tiny-llava,schedule=random@2:0.5+vtw@20", "--tasks", "mme_local", "--include_path",
           str(tasks), "--output_path", str(tmp_path / "out"), "--log_samples", "--verbosity", "DEBUG"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = list(Path(tmp_path / "out").rglob("*_results.json"))
    assert results, done.stdout[-2000:]
    scores = json.loads(results[0].read_text())["results"]["mme_local"]
    assert "mme_perception_score,none" in scores and "mme_cognition_score,none" in scores
    samples = list(Path(tmp_path / "out").rglob("*_samples_mme_local.jsonl"))
    first = json.loads(samples[0].read_text().splitlines()[0])
    assert first["token_counts"][0]["visual_tokens"] == pytest.approx((2 * 576 + 18 * 288) / 32)
    assert len(rows("mme")) == len(samples[0].read_text().splitlines())


def _their_prompt(name: str, doc: dict) -> str:
    from lmms_eval.tasks.docvqa.utils import docvqa_doc_to_text
    from lmms_eval.tasks.gqa.utils import gqa_doc_to_text
    from lmms_eval.tasks.mme.utils import mme_doc_to_text
    from lmms_eval.tasks.ocrbench.utils import ocrbench_doc_to_text
    from lmms_eval.tasks.pope.utils import pope_doc_to_text
    from lmms_eval.tasks.scienceqa.utils import sqa_doc_to_text
    from lmms_eval.tasks.textvqa.utils import textvqa_doc_to_text

    single = {"pre_prompt": "", "post_prompt": "\nAnswer the question using a single word or phrase."}
    letter = "\nAnswer with the option's letter from the given choices directly."
    if name.startswith("mmbench"):
        from lmms_eval.tasks.mmbench import cn_utils, en_utils

        utils, post = (
            (en_utils, letter) if name == "mmbench-en" else (cn_utils, "\n请直接使用所提供的选项字母作为答案回答。")
        )
        doc = {"L2-category": "x", "source": "s", "split": "dev", **doc}
        return utils.mmbench_doc_to_text(doc, {"post_prompt": post})
    return {
        "mme": lambda: mme_doc_to_text(doc, single),
        "pope": lambda: pope_doc_to_text(doc, single),
        "scienceqa-img": lambda: sqa_doc_to_text(doc, {"format": "default", "pre_prompt": "", "post_prompt": letter}),
        "textvqa": lambda: textvqa_doc_to_text(doc, {**single, "ocr": False}),
        "textvqa-ocr": lambda: textvqa_doc_to_text(doc, {**single, "ocr": True}),
        "gqa": lambda: gqa_doc_to_text(doc, single),
        "docvqa": lambda: docvqa_doc_to_text(doc, single),
        "infovqa": lambda: docvqa_doc_to_text(doc, single),
        "ocrbench": lambda: ocrbench_doc_to_text(doc, {"pre_prompt": "", "post_prompt": ""}),
    }[name]()


@pytest.mark.parametrize(
    "name", ["mme", "pope", "scienceqa-img", "textvqa", "textvqa-ocr", "mmbench-en", "mmbench-cn", "gqa",
             "docvqa", "infovqa", "ocrbench"],
)  # fmt: skip
def test_prompts_equal_lmms_eval(name, tmp_path):
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.samples import load_samples

    bench = BENCHMARKS.get(name)
    write_parquet(name, tmp_path / name, split=bench.split)
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    for sample, row in zip(samples, rows(name), strict=True):
        assert bench.prompt(sample, "llava") == _their_prompt(name, dict(row))


def test_mme_prompt_matches():
    from lmms_eval.tasks.mme import utils as mme

    from horizon.benchmarks.base import Sample
    from horizon.benchmarks.registry import BENCHMARKS

    kwargs = {"pre_prompt": "", "post_prompt": "\nAnswer the question using a single word or phrase."}
    for question in ("Is it red? Please answer yes or no.", "  Is it red?  Please answer yes or no. ", "Is it red?"):
        sample = Sample("1", b"", question, "Yes", "1", {"category": "color"})
        assert BENCHMARKS.get("mme").prompt(sample, "llava") == mme.mme_doc_to_text({"question": question}, kwargs)
