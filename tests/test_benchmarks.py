"""Benchmarks end to end on fixture data in the real layouts: loading, prompts, scoring, subsets, failures."""

from __future__ import annotations

import pytest

from horizon.benchmarks.base import DatasetFormatError
from horizon.benchmarks.fixtures import gold, rows, write_arrow, write_parquet
from horizon.benchmarks.local import DataNotFoundError, find_data
from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.samples import load_samples, subset
from horizon.evaluation.loop import evaluate
from horizon.schedule import parse_schedule

ALL = BENCHMARKS.names()
BEST = {"total": 400.0, "accuracy": 100.0, "f1": 100.0, "circular_accuracy": 100.0, "anls": 100.0}


@pytest.mark.parametrize("name", ALL)
def test_oracle_predictions_score_the_maximum(tmp_path, name):
    bench = BENCHMARKS.get(name)
    write_parquet(name, tmp_path / name, split=bench.split)
    samples, bad = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    assert not bad and len(samples) == len(rows(name))
    metrics = bench.score(samples, [gold(name, r) for r in rows(name)])
    assert metrics[bench.headline] == BEST[bench.headline]
    wrong = bench.score(samples, ["zzz"] * len(samples))
    assert wrong[bench.headline] < metrics[bench.headline]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("model", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_runs_end_to_end_through_both_tiny_models(tiny_model, tmp_path, name, model):
    bench = BENCHMARKS.get(name)
    write_parquet(name, tmp_path / name, split=bench.split)
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    result = evaluate(tiny_model(model), bench, samples, parse_schedule("random@2:0.5+vtw@20"), max_new_tokens=3)
    assert result.n == len(samples) and not result.failures
    assert bench.headline in result.metrics and 0 <= result.metrics[bench.headline]
    assert set(result.predictions) == {s.id for s in samples}


def test_prompts_follow_the_reference_evaluations(tmp_path):
    def first_prompt(name: str) -> str:
        bench = BENCHMARKS.get(name)
        write_parquet(name, tmp_path / name, split=bench.split)
        samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
        return bench.prompt(samples[0], "llava")

    single = "\nAnswer the question using a single word or phrase."
    assert first_prompt("mme") == "Is there a red square in the image?" + single
    assert first_prompt("textvqa") == "What does the sign say?" + single
    assert first_prompt("textvqa-ocr") == "What does the sign say?\nReference OCR token: STOP, SIGN" + single
    assert first_prompt("scienceqa-img") == (
        "Context: A shape.\nWhich color?\nA. red\nB. blue\nAnswer with the option's letter from the given choices directly."
    )
    assert first_prompt("mmbench-en") == (
        "nan What color is the square? There are several options:\nA. red\nB. blue\n"[4:]
        + "\nAnswer with the option's letter from the given choices directly."
    )
    assert first_prompt("mmbench-cn") == (
        "nan What color is the square? There are several options:\nA. red\nB. blue\n\n请直接使用所提供的选项字母作为答案回答。"
    )
    assert first_prompt("ocrbench") == "what is written in the image?"


def test_save_to_disk_and_hf_cache_layouts(tmp_path):
    bench = BENCHMARKS.get("pope")
    write_arrow("pope", tmp_path / "data" / "pope", "test")
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path / "data")})
    assert len(samples) == 4
    cache = tmp_path / "hf" / "datasets" / "lmms-lab-encoder___pope" / "default" / "0.0.0" / "abc123"
    write_parquet("pope", cache, split="test")
    found = find_data(bench, env={"HF_HOME": str(tmp_path / "hf")})
    assert found.files[0].is_relative_to(cache)


def test_missing_data_names_places_and_dataset(tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        find_data(BENCHMARKS.get("docvqa"), env={"HORIZON_DATA": str(tmp_path), "HF_HOME": str(tmp_path / "hf")})
    msg = str(err.value)
    assert str(tmp_path / "docvqa") in msg and "lmms-lab/DocVQA" in msg and "'DocVQA'" in msg and "'validation'" in msg


def test_corrupt_layouts_name_file_and_column(tmp_path):
    bench = BENCHMARKS.get("textvqa")
    data = [dict(r) for r in rows("textvqa")]
    for r in data:
        del r["answers"]
    path = write_parquet("textvqa", tmp_path / "textvqa", data, split="validation")
    with pytest.raises(DatasetFormatError, match=rf"{path}: missing column\(s\) \['answers'\]"):
        load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})


def test_one_bad_row_is_counted_not_fatal(tmp_path):
    bench = BENCHMARKS.get("pope")
    data = rows("pope")
    data[1]["answer"] = "maybe"
    write_parquet("pope", tmp_path / "pope", data)
    samples, bad = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    assert len(samples) == 3 and len(bad) == 1 and "row 1" in bad[0] and "'answer' must be yes or no" in bad[0]


def test_a_failing_sample_is_counted_and_the_rest_scored(tiny_model, tmp_path):
    bench = BENCHMARKS.get("gqa")
    data = rows("gqa")
    data[0]["image"] = {"bytes": b"not an image", "path": None}
    write_parquet("gqa", tmp_path / "gqa", data, split="testdev")
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    result = evaluate(tiny_model("tiny-llava"), bench, samples, parse_schedule("full"), max_new_tokens=2)
    assert result.n == 1 and len(result.failures) == 1 and result.failures[0].startswith("g0:")


def test_subsets_are_seeded_and_keep_groups_whole(tmp_path):
    bench = BENCHMARKS.get("mme")
    data = [{**r, "question_id": f"{k}-{r['question_id']}"} for k in range(3) for r in rows("mme")]
    write_parquet("mme", tmp_path / "mme", data)  # 6 images x 2 questions
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    a, b = subset(samples, 5, seed=1), subset(samples, 5, seed=1)
    assert [s.id for s in a] == [s.id for s in b]
    assert len({tuple(s.id for s in subset(samples, 5, seed=k)) for k in range(6)}) > 1  # the seed matters
    groups: dict[str, int] = {}
    for s in a:
        groups[s.group] = groups.get(s.group, 0) + 1
    assert len(a) == 4 and set(groups.values()) == {2}  # two whole pairs: a third would pass the limit
    assert subset(samples, None) == samples
    mm = BENCHMARKS.get("mmbench-en")
    write_parquet("mmbench-en", tmp_path / "mmbench-en", split="dev")
    mm_samples, _ = load_samples(mm, env={"HORIZON_DATA": str(tmp_path)})
    picked = subset(mm_samples, 3, seed=0)
    assert len(picked) == 2 and picked[0].group == picked[1].group  # one whole circular group


def test_gqa_joins_questions_with_the_separate_image_table(tmp_path):
    from horizon.benchmarks.fixtures import BLUE, RED

    questions = [
        {"id": "q1", "imageId": "n1", "question": "Which side?", "answer": "left"},
        {"id": "q2", "imageId": "n2", "question": "What color?", "answer": "blue"},
        {"id": "q3", "imageId": "n9", "question": "Where?", "answer": "top"},  # its image is missing
    ]
    write_parquet("gqa", tmp_path / "gqa", questions, split="testdev")
    write_parquet("gqa", tmp_path / "gqa-images", [{"id": "n1", "image": RED}, {"id": "n2", "image": BLUE}], "testdev")
    samples, bad = load_samples(BENCHMARKS.get("gqa"), env={"HORIZON_DATA": str(tmp_path)})
    assert [s.id for s in samples] == ["q1", "q2"] and samples[1].pil().getpixel((0, 0)) == (30, 30, 200)
    assert len(bad) == 1 and "image 'n9'" in bad[0]


def test_ocrvqa_expands_per_image_question_lists(tmp_path):
    from horizon.benchmarks.fixtures import BLUE

    data = [{"image_id": "b1", "image": BLUE, "questions": ["Who wrote this book?", "Is this a novel?"],
             "answers": ["Jane Austen", "Yes"]}]  # fmt: skip
    write_parquet("ocr-vqa", tmp_path / "ocr-vqa", data)
    samples, bad = load_samples(BENCHMARKS.get("ocr-vqa"), env={"HORIZON_DATA": str(tmp_path)})
    assert not bad and [(s.question, s.target) for s in samples] == [
        ("Who wrote this book?", "Jane Austen"), ("Is this a novel?", "Yes"),
    ]  # fmt: skip


def test_hf_cache_arrow_files(tmp_path):
    import pyarrow as pa

    folder = tmp_path / "hf" / "datasets" / "lmms-lab___textvqa" / "default" / "0.0.0" / "f00"
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(rows("textvqa"))
    for split in ("train", "validation"):
        with (
            pa.OSFile(str(folder / f"textvqa-{split}.arrow"), "wb") as sink,
            pa.ipc.new_stream(sink, table.schema) as w,
        ):
            w.write_table(table)
    found = find_data(BENCHMARKS.get("textvqa"), env={"HF_HOME": str(tmp_path / "hf")})
    assert [p.name for p in found.files] == ["textvqa-validation.arrow"]


def test_evaluate_many_equals_separate_evaluations_and_isolates_a_bad_schedule(tiny_model, tmp_path):
    from horizon.evaluation.loop import evaluate_many

    bench = BENCHMARKS.get("pope")
    write_parquet("pope", tmp_path / "pope")
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    loaded = tiny_model("tiny-qwen2.5-vl")
    good = [parse_schedule(s) for s in ("full", "random@3:0.2", "fastv@5:0.1")]
    many = evaluate_many(loaded, bench, samples, good, max_new_tokens=3)
    for schedule, got in zip(good, many, strict=True):
        alone = evaluate(loaded, bench, samples, schedule, max_new_tokens=3)
        assert got.predictions == alone.predictions and got.metrics == alone.metrics
        assert got.average_visual_tokens == alone.average_visual_tokens
    bad = parse_schedule("random@2:#100000")  # more tokens than any prompt has: a per-sample failure (PlanError)
    ok, failed = evaluate_many(loaded, bench, samples, [good[1], bad], max_new_tokens=3)
    assert ok.predictions == many[1].predictions  # the good schedule is unaffected
    assert failed.n == 0 and len(failed.failures) == len(samples) and "keeps 100000 visual tokens" in failed.failures[0]
    with pytest.raises(RuntimeError, match="every sample of pope failed under random@2:#100000"):
        evaluate(loaded, bench, samples, bad, max_new_tokens=3)
    # a method refusing its settings is an error of the schedule, never counted as failed samples and passed over
    with pytest.raises(ValueError, match="4 image pivots"):
        evaluate_many(loaded, bench, samples, [good[1], parse_schedule("dart@2:#2")], max_new_tokens=3)


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_batched_evaluation_equals_one_by_one(tiny_model, tmp_path, caplog, name):
    import logging

    from horizon.evaluation.loop import evaluate_many

    bench = BENCHMARKS.get("pope")
    write_parquet("pope", tmp_path / "pope")
    samples, _ = load_samples(bench, env={"HORIZON_DATA": str(tmp_path)})
    samples = [s for s in samples if s.pil().size == samples[0].pil().size]  # equal visual-token counts
    assert len(samples) >= 4 and len(samples) % 3 != 0  # a short last batch
    loaded = tiny_model(name)
    schedules = [parse_schedule(s) for s in ("full", "random@3:0.2", "fastv@5:0.1", "vtw@4", "random@2:0.5+dart@6:#8")]
    one = evaluate_many(loaded, bench, samples, schedules, max_new_tokens=3)
    with caplog.at_level(logging.INFO, logger="horizon.evaluation.loop"):
        batched = evaluate_many(loaded, bench, samples, schedules, max_new_tokens=3, batch=3)
    assert "one by one" not in caplog.text  # the batches ran as batches
    for a, b in zip(one, batched, strict=True):
        assert a.predictions == b.predictions and a.metrics == b.metrics and a.n == b.n == len(samples)
        assert a.average_visual_tokens == b.average_visual_tokens and a.text_tokens == b.text_tokens
    bad = parse_schedule("random@2:#100000")  # fails on every sample (PlanError), so each batch falls back
    with caplog.at_level(logging.INFO, logger="horizon.evaluation.loop"):
        ok, failed = evaluate_many(loaded, bench, samples, [schedules[1], bad], max_new_tokens=3, batch=3)
    assert "ran one by one" in caplog.text
    assert ok.predictions == one[1].predictions and failed.n == 0 and "keeps 100000" in failed.failures[0]
    with pytest.raises(ValueError, match="batch must be >= 1, got 0"):
        evaluate_many(loaded, bench, samples, schedules[:1], batch=0)
