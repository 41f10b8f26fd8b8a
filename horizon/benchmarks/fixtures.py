"""Tiny benchmark datasets in the real layouts (the columns lmms-eval's datasets have), made on the fly.

Used by the tests, the lmms-eval cross-checks and the suite's embedded default: every benchmark's loading,
prompting and scoring code runs without any downloaded data. ``gold`` gives the answer an oracle would.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image


def png(color: tuple[int, int, int], size: tuple[int, int] = (224, 168)) -> dict[str, Any]:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return {"bytes": buf.getvalue(), "path": None}  # a datasets Image cell


RED, BLUE = png((200, 30, 30)), png((30, 30, 200))


def rows(bench: str) -> list[dict[str, Any]]:
    """A handful of rows for ``bench``, with answers the oracle prediction (``gold``) gets right."""
    if bench == "mme":
        q = "Is there a red square in the image? Please answer yes or no."
        return [
            {"question_id": "a.png", "image": RED, "question": q, "answer": "Yes", "category": "color"},
            {"question_id": "a.png", "image": RED, "question": q, "answer": "No", "category": "color"},
            {"question_id": "b.png", "image": BLUE, "question": q, "answer": "Yes", "category": "code_reasoning"},
            {"question_id": "b.png", "image": BLUE, "question": q, "answer": "No", "category": "code_reasoning"},
        ]
    if bench == "pope":
        return [
            {"question_id": i, "image": RED, "question": "Is there a cat in the image?", "answer": a,
             "category": "random"} for i, a in enumerate(["yes", "no", "yes", "no"])
        ]  # fmt: skip
    if bench == "scienceqa-img":
        return [
            {"image": RED, "question": "Which color?", "choices": ["red", "blue"], "answer": 0, "hint": "A shape."},
            {"image": BLUE, "question": "Which color?", "choices": ["red", "blue", "green"], "answer": 1, "hint": ""},
        ]
    if bench in ("textvqa", "textvqa-ocr"):
        return [
            {"question_id": "t1", "image": RED, "question": "what does the sign say?",
             "answers": ["stop"] * 7 + ["halt"] * 3, "ocr_tokens": ["STOP", "SIGN"]},
            {"question_id": "t2", "image": BLUE, "question": "what brand is it?", "answers": ["acme"] * 10,
             "ocr_tokens": []},
        ]  # fmt: skip
    if bench in ("mmbench-en", "mmbench-cn"):
        base = {"hint": "nan", "category": "color", "image": RED, "question": "What color is the square?"}
        return [
            {**base, "index": 11, "A": "red", "B": "blue", "answer": "A"},
            {**base, "index": 1_000_011, "A": "blue", "B": "red", "answer": "B"},
            {**base, "index": 12, "A": "green", "B": "red", "answer": "B"},
            {**base, "index": 1_000_012, "A": "red", "B": "green", "answer": "A"},
        ]
    if bench == "gqa":
        return [{"question_id": f"g{i}", "image": RED, "question": "Which side?", "answer": a} for i, a in
                enumerate(["left", "right"])]  # fmt: skip
    if bench in ("docvqa", "infovqa"):
        return [
            {"questionId": f"d{i}", "image": BLUE, "question": "What is the total?", "answers": [a, a.upper()]}
            for i, a in enumerate(["$12.50", "march 3"])
        ]
    if bench == "ocrbench":
        return [
            {"dataset": "IIIT5K", "question": "what is written in the image?", "question_type":
             "Regular Text Recognition", "answer": ["coffee"], "image": RED},
            {"dataset": "HME100k", "question": "Write out the expression", "question_type":
             "Handwritten Mathematical Expression Recognition", "answer": ["x^{2}+1"], "image": BLUE},
        ]  # fmt: skip
    if bench.startswith("synth"):
        from horizon.benchmarks.synth import FINE_TASKS, GLOBAL_TASKS, TASKS
        from horizon.benchmarks.synth import rows as synth_rows

        tasks = {"synth": TASKS, "synth-global": GLOBAL_TASKS, "synth-fine": FINE_TASKS}[bench]
        return synth_rows(12, seed=0, tasks=tasks)
    if bench == "ocr-vqa":
        return [{"question_id": f"o{i}", "image": BLUE, "question": "Who wrote this book?", "answer": a}
                for i, a in enumerate(["Jane Austen", "Mark Twain"])]  # fmt: skip
    raise KeyError(bench)


def gold(bench: str, row: dict[str, Any]) -> str:
    if bench == "scienceqa-img":
        return "AB"[row["answer"]]
    answer = row.get("answer", row.get("answers"))
    return answer[0] if isinstance(answer, list) else str(answer)


def _feature(value: Any) -> dict[str, Any]:
    """The Hugging Face datasets feature of a fixture value (so `datasets` decodes images as images)."""
    if isinstance(value, dict) and "bytes" in value:
        return {"_type": "Image"}
    if isinstance(value, bool):
        return {"dtype": "bool", "_type": "Value"}
    if isinstance(value, int):
        return {"dtype": "int64", "_type": "Value"}
    if isinstance(value, list):
        return {"feature": {"dtype": "string", "_type": "Value"}, "_type": "List"}
    return {"dtype": "string", "_type": "Value"}


def write_parquet(bench: str, folder: Path, data: list[dict[str, Any]] | None = None, split: str = "test") -> Path:
    """Rows as parquet, with the datasets feature metadata a hub parquet file carries."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    data = data if data is not None else rows(bench)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{split}-00000-of-00001.parquet"
    table = pa.Table.from_pylist(data)
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # the datasets Image storage type
    features = {k: _feature(v) for k, v in data[0].items()}
    schema = pa.schema(
        [pa.field(f.name, image if features[f.name]["_type"] == "Image" else f.type) for f in table.schema]
    )
    table = table.cast(schema)
    meta = {b"huggingface": json.dumps({"info": {"features": features}}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path


def write_arrow(bench: str, folder: Path, split: str) -> Path:
    """A save_to_disk-like dataset dict: <folder>/<split>/data-00000-of-00001.arrow (arrow stream)."""
    import pyarrow as pa

    (folder / split).mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows(bench))
    path = folder / split / "data-00000-of-00001.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def write_all(root: Path) -> Path:
    """Fixture data for every benchmark under ``root`` (a $HORIZON_DATA layout); returns ``root``."""
    from horizon.benchmarks.registry import BENCHMARKS

    for name, bench in BENCHMARKS.items():
        write_parquet(name, root / name, split=bench.split)
    return root
