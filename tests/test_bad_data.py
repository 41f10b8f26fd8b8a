"""Bad benchmark data ends in one clear error naming the value or file and what is allowed (issue 15): never a
traceback, never a silently wrong result. Per-sample problems (an image too large or broken) are counted as that
sample's failure; problems of the data as a whole (duplicated ids, an empty folder, an empty subset) are errors
before any model work."""

from __future__ import annotations

import json
import struct
import zlib
from types import SimpleNamespace

import pytest

from horizon import images
from horizon.benchmarks.base import DatasetFormatError, Sample
from horizon.benchmarks.fixtures import BLUE, RED, png, rows, write_parquet
from horizon.benchmarks.local import DataNotFoundError, find_data
from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.samples import load_samples, subset
from horizon.benchmarks.synth import rows as synth_rows
from horizon.cli import main
from horizon.evaluation.loop import EvalResult, NoSampleRanError, checked, evaluate_many
from horizon.schedule import Schedule


@pytest.fixture
def cache_env(monkeypatch, horizon_cache):
    monkeypatch.setenv("HORIZON_CACHE", str(horizon_cache))


def _env(tmp_path):
    return {"HORIZON_DATA": str(tmp_path), "HF_HOME": str(tmp_path / "hf")}


@pytest.fixture
def refused(capsys, monkeypatch):
    """``refused(argv)``: the one-line error of a command that must exit 2 before any model is loaded."""

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded: the data should have been refused first")

    monkeypatch.setattr("horizon.models.loading.load_model", never)

    def run(argv: list[str]) -> str:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("horizon: error: ") and "Traceback" not in err
        return err

    return run


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels in a few bytes (its pixel data is cut short): enough for a
    header-only size check, nothing is ever allocated for it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b"")


# -- 1. duplicated sample ids ------------------------------------------------------------------------------------
def test_duplicated_ids_are_an_error_naming_benchmark_file_rows_and_ids(tmp_path, refused, monkeypatch):
    data = [{**r, "question_id": "q7"} for r in rows("pope")] * 5  # 20 rows, one id: 1 of 20 predictions kept
    path = write_parquet("pope", tmp_path / "pope", data)
    with pytest.raises(DatasetFormatError) as err:
        load_samples(BENCHMARKS.get("pope"), env=_env(tmp_path))
    msg = str(err.value)
    assert msg.startswith("benchmark 'pope': 1 sample id(s) occur more than once")
    assert f"'random/q7' at {path} rows 0, 1, 2, 3, 4 and 15 more" in msg
    assert "columns 'category' and 'question_id'" in msg and "must be distinct" in msg
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path))
    err_line = refused(["eval", "--model", "tiny-llava", "--bench", "pope", "--json", str(tmp_path / "r")])
    assert "occur more than once" in err_line and not (tmp_path / "r").exists()


def test_duplicates_across_shards_are_found_and_row_number_ids_stay_distinct(tmp_path):
    textvqa = rows("textvqa")
    write_parquet("textvqa", tmp_path / "textvqa" / "a", textvqa, split="validation")
    write_parquet("textvqa", tmp_path / "textvqa" / "b", textvqa[:1], split="validation")  # t1 again
    with pytest.raises(DatasetFormatError, match=r"'t1' at .*/a/validation-00000-of-00001.parquet row 0, .*/b/"):
        load_samples(BENCHMARKS.get("textvqa"), env=_env(tmp_path))
    # ids made from row numbers (ScienceQA, OCRBench, MME's pairs) count rows over all the shards
    for name in ("scienceqa-img", "ocrbench", "mme"):
        write_parquet(name, tmp_path / name / "x")
        other = [{**r, "question_id": f"y-{r['question_id']}"} if name == "mme" else r for r in rows(name)]
        write_parquet(name, tmp_path / name / "y", other)  # MME: other images (one image's pair is in one shard)
        samples, bad = load_samples(BENCHMARKS.get(name), env=_env(tmp_path))
        assert not bad and len({s.id for s in samples}) == len(samples) == 2 * len(rows(name))


def test_no_fixture_or_generator_gives_duplicated_ids_and_mme_pairs_stay_pairs(tmp_path):
    for name, bench in BENCHMARKS.items():
        write_parquet(name, tmp_path / name, split=bench.split)
        samples, _ = load_samples(bench, env=_env(tmp_path))
        assert len({s.id for s in samples}) == len(samples), name
    mme, _ = load_samples(BENCHMARKS.get("mme"), env=_env(tmp_path))
    assert [s.group for s in mme] == ["a.png", "a.png", "b.png", "b.png"]  # two questions per image: one group
    assert len({s.id for s in mme}) == 4  # each question its own id
    generated = synth_rows(600, seed=0)
    assert len({r["id"] for r in generated}) == 600
    samples, _ = load_samples(BENCHMARKS.get("synth"), env=_env(tmp_path / "none"))  # generated held-out rows
    assert len({s.id for s in samples}) == len(samples) == 600


def test_pope_question_ids_may_restart_in_each_subset(tmp_path):
    data = [{**r, "question_id": str(k), "category": cat} for cat in ("adversarial", "popular", "random")
            for k, r in enumerate(rows("pope"))]  # fmt: skip
    write_parquet("pope", tmp_path / "pope", data)
    samples, bad = load_samples(BENCHMARKS.get("pope"), env=_env(tmp_path))
    assert not bad and len({s.id for s in samples}) == 12 and samples[0].id == "adversarial/0"


def test_ocrvqa_question_lists_without_image_ids_get_distinct_ids(tmp_path):
    data = [{"image": BLUE, "questions": ["Who wrote it?", "Genre?"], "answers": ["Austen", "Novel"]}] * 2
    write_parquet("ocr-vqa", tmp_path / "ocr-vqa", data)
    samples, bad = load_samples(BENCHMARKS.get("ocr-vqa"), env=_env(tmp_path))
    assert not bad and len({s.id for s in samples}) == 4


# -- 2. an empty synth folder -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["synth", "synth-global", "synth-fine"])
def test_an_empty_synth_folder_is_an_error_not_replaced_by_generated_rows(tmp_path, refused, monkeypatch, name):
    (tmp_path / "synth").mkdir()
    with pytest.raises(DatasetFormatError) as err:
        load_samples(BENCHMARKS.get(name), env=_env(tmp_path))
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'synth'} (empty) holds no data for benchmark {name!r}")
    assert f"horizon organism data --out {tmp_path / 'synth'} --n 600 --seed 0" in msg and "unset HORIZON_DATA" in msg
    (tmp_path / "synth" / "rows.jsonl").write_text("{}\n")
    with pytest.raises(DatasetFormatError, match=r"\(no \.parquet or \.arrow files: it has rows\.jsonl\)"):
        load_samples(BENCHMARKS.get(name), env=_env(tmp_path))
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path))
    assert "holds no data for benchmark" in refused(["eval", "--model", "tiny-llava", "--bench", name])


def test_synth_without_its_folder_is_still_generated_and_a_filled_folder_read(tmp_path):
    samples, _ = load_samples(BENCHMARKS.get("synth"), env=_env(tmp_path))  # no synth folder: generated
    assert len(samples) == 600
    write_parquet("synth", tmp_path / "synth", synth_rows(12, seed=3))
    samples, _ = load_samples(BENCHMARKS.get("synth-fine"), env=_env(tmp_path))
    assert len(samples) == 6 and samples[0].id.startswith("3-")


def test_an_empty_data_folder_is_named_with_why_it_was_not_read(tmp_path):
    (tmp_path / "docvqa").mkdir()
    (tmp_path / "DocVQA").write_text("")  # a file, not a folder
    with pytest.raises(DataNotFoundError) as err:
        find_data(BENCHMARKS.get("docvqa"), env=_env(tmp_path))
    assert f"{tmp_path / 'docvqa'} (empty)" in str(err.value)
    assert f"{tmp_path / 'DocVQA'} (not a folder, nor a .parquet or .arrow file)" in str(err.value)
    (tmp_path / "rows.json").write_text("[]")
    with pytest.raises(DataNotFoundError, match=r"rows\.json \(not a folder, nor a \.parquet or \.arrow file\)"):
        load_samples(BENCHMARKS.get("docvqa"), path=tmp_path / "rows.json")


def test_data_files_without_rows_say_so(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "pope").mkdir()
    schema = pa.schema([(c, pa.string()) for c in ("question_id", "image", "question", "answer")])
    pq.write_table(schema.empty_table(), tmp_path / "pope" / "test.parquet")
    with pytest.raises(DatasetFormatError, match=r"no readable samples for 'pope' in .*: the data holds no rows$"):
        load_samples(BENCHMARKS.get("pope"), env=_env(tmp_path))


# -- 3. an empty subset ---------------------------------------------------------------------------------------------
def test_a_subset_that_selects_nothing_is_an_error_before_any_model_work(tmp_path, refused, monkeypatch):
    write_parquet("mme", tmp_path / "mme")
    samples, _ = load_samples(BENCHMARKS.get("mme"), env=_env(tmp_path))
    with pytest.raises(ValueError, match="a limit of 1 selects no sample: .* the smallest group here has 2; ask for at "
                                         "least 2"):  # fmt: skip
        subset(samples, 1)
    assert len(subset(samples, 3)) == 2 and subset(samples, 2, seed=1) == subset(samples, 2, seed=1)
    with pytest.raises(ValueError, match="a limit of 0: the number of samples must be >= 1"):
        subset(samples, 0)
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path))
    err = refused(["info", "--model", "tiny-llava", "--bench", "mme", "--samples", "1"])
    assert "--samples 1 selects no sample" in err and "at least 2" in err
    err = refused(["eval", "--model", "tiny-llava", "--bench", "mme", "--limit", "1"])
    assert "1 selects no sample" in err and "at least 2" in err  # "--limit 1" (or "a limit of 1")


def test_evaluating_or_studying_no_samples_is_an_error_before_the_model_runs(tmp_path):
    from horizon.evaluation.study import StudyConfig, run_study

    bench = BENCHMARKS.get("pope")
    with pytest.raises(ValueError, match="no samples of pope to evaluate: the subset is empty"):
        evaluate_many(None, bench, [], [Schedule()])  # type: ignore[arg-type]
    model = SimpleNamespace(n_layers=2, adapter=SimpleNamespace(family="llava"))  # never run
    with pytest.raises(ValueError, match="no samples of pope to study: the subset is empty"):
        run_study(model, bench, [], StudyConfig(methods=(), oracle_keeps=()))  # type: ignore[arg-type]


def test_every_sample_failing_is_one_error_line_naming_the_first_failure():
    result = EvalResult("pope", "random@2:#100000", {}, 0, ("random/0: keeps 100000", "random/1: keeps 100000"), {})
    with pytest.raises(NoSampleRanError) as err:
        checked(result)
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, ValueError)  # the CLI reports ValueErrors
    assert (
        str(err.value)
        == "every sample of pope failed under random@2:#100000 (2 failures); first: random/0: keeps 100000"
    )


# -- 4. huge and broken images --------------------------------------------------------------------------------------
def test_an_image_over_the_size_limit_is_refused_from_its_header(monkeypatch):
    limit = "over the limit of 89,478,485 pixels (horizon.images.MAX_IMAGE_PIXELS); store it downscaled"
    for size, told in ((20000, "has 400,000,000 pixels"), (12000, "is 12000x12000 (144,000,000 pixels)")):
        with pytest.raises(DatasetFormatError) as err:  # over PIL's own error threshold / over its warning only
            Sample("s1", png_header(size, size), "q", "a", "s1").pil()
        assert str(err.value) == f"sample s1: its image {told}, {limit}"
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(DatasetFormatError, match=r"sample s2: its image is 224x168 \(37,632 pixels\), over the limit "
                                                 r"of 10,000 pixels"):  # fmt: skip
        Sample("s2", RED["bytes"], "q", "a", "s2").pil()
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 224 * 168)
    assert Sample("s3", RED["bytes"], "q", "a", "s3").pil().size == (224, 168)  # at the limit: decoded


def test_horizon_run_refuses_a_huge_image_file_the_same_way(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header(20000, 20000))
    with pytest.raises(ValueError, match=rf"image '{path}': its image has 400,000,000 pixels, over the limit"):
        images.load_image(path)


def test_a_broken_image_is_a_sample_error_whatever_pil_raises():
    raw = png((1, 2, 3))["bytes"]
    broken = raw[:33] + (1).to_bytes(4, "big") + raw[37:]  # the IDAT chunk's length is wrong: PIL's SyntaxError
    with pytest.raises(DatasetFormatError, match=r"sample s: its image cannot be decoded \(broken PNG file"):
        Sample("s", broken, "q", "a", "s").pil()
    with pytest.raises(DatasetFormatError, match="sample s: its image cannot be decoded"):
        Sample("s", b"GIF89a" + bytes(20), "q", "a", "s").pil()


def test_a_huge_image_fails_its_sample_only(tmp_path, capsys, monkeypatch, cache_env):
    data = rows("pope")
    data[0]["image"] = {"bytes": png_header(20000, 20000), "path": None}
    write_parquet("pope", tmp_path / "pope", data)
    monkeypatch.setenv("HORIZON_DATA", str(tmp_path))
    out = tmp_path / "r.json"
    code = main(["eval", "--model", "tiny-llava", "--bench", "pope", "--max-new-tokens", "1", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    record = json.loads(out.read_text())
    assert record["n"] == 3 and len(record["failures"]) == 1
    message = "random/0: sample random/0: its image has 400,000,000 pixels, over the limit of 89,478,485 pixels"
    assert record["failures"][0].startswith(message)
    assert f"skipped: {message}" in capsys.readouterr().out


# -- other rows: a missing field, a wrong type, a value the scorer would refuse only after the model ran -----------
def _bad_rows(tmp_path, name: str, data: list[dict]) -> tuple[list[Sample], list[str]]:
    bench = BENCHMARKS.get(name)
    write_parquet(name, tmp_path / name, data, split=bench.split)
    return load_samples(bench, env=_env(tmp_path))


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("mme", {"category": "colour"}, "column 'category' 'colour' is not an MME category (existence, count"),
        ("ocrbench", {"question_type": "OCR"}, "column 'question_type' 'OCR' is not an OCRBench category (Regular"),
        (
            "scienceqa-img",
            {"choices": [str(k) for k in range(11)]},
            "column 'choices' holds 11 choices; a question needs 2..10",
        ),  # fmt: skip
        ("textvqa", {"question_id": ""}, "column 'question_id' must be a non-empty id (text or an integer), got ''"),
        (
            "gqa",
            {"image": {"bytes": None, "path": "n1.jpg"}},
            "column 'image' holds only a path ('n1.jpg'), not the encoded image",
        ),  # fmt: skip
    ],
)
def test_a_bad_value_is_a_reported_row_at_load_time(tmp_path, name, change, message):
    data = rows(name)
    data[-1] = {**data[-1], **change}
    samples, bad = _bad_rows(tmp_path, name, data)
    assert len(bad) >= 1 and f"row {len(data) - 1}: {message}" in bad[0], bad
    assert all(s.id for s in samples)


def test_ocr_tokens_as_text_are_refused_not_spelled_out(tmp_path):
    data = [{**r, "ocr_tokens": t} for r, t in zip(rows("textvqa-ocr"), ["STOP", ""], strict=True)]  # one column type
    samples, bad = _bad_rows(tmp_path, "textvqa-ocr", data)
    assert "row 0: column 'ocr_tokens' must be a list of text tokens, got 'STOP'" in bad[0]
    assert [s.fields["ocr_tokens"] for s in samples] == [[]]


def test_a_missing_or_empty_field_names_the_column(tmp_path):
    row = {"question_id": "o1", "image": BLUE, "question": "Who wrote this book?", "answer": "Mark Twain"}
    _, bad = _bad_rows(tmp_path, "ocr-vqa", [row, {**row, "question_id": "o2", "answer": None}])
    assert "row 1: column 'answer' must be text, got NoneType None" in bad[0]
    no_answer = [{k: v for k, v in row.items() if k != "answer"}]  # ocr-vqa requires only its 'image' column
    with pytest.raises(DatasetFormatError, match=r"row 0: column 'answer' is missing \(the row has 'question_id', "):
        _bad_rows(tmp_path / "x", "ocr-vqa", no_answer)


def test_an_incomplete_mme_pair_is_left_out_and_reported_at_load_time(tmp_path):
    data = rows("mme")
    data[1] = {**data[1], "answer": "Maybe"}  # its pair-mate (row 0) cannot be scored alone
    samples, bad = _bad_rows(tmp_path, "mme", data)
    assert [s.group for s in samples] == ["b.png", "b.png"]
    assert "row 1: column 'answer' must be Yes or No, got 'Maybe'" in bad[0]
    assert "row 0: left out: mme is scored on whole groups of 2 and group 'a.png' has 1 readable sample(s)" in bad[1]
    tripled = [*rows("mme"), rows("mme")[0]]  # a question repeated: image a.png has 3
    samples, bad = _bad_rows(tmp_path / "t", "mme", tripled)
    assert len(samples) == 2 and len(bad) == 3 and "group 'a.png' has 3 readable sample(s)" in bad[0]
    lone = [rows("mme")[0]]
    with pytest.raises(DatasetFormatError, match="no readable samples for 'mme' .*: every row is unreadable; first: "):
        _bad_rows(tmp_path / "l", "mme", lone)
