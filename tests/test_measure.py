"""Latency/memory measurement on CPU (the CUDA path needs a GPU and is exercised on lent machines)."""

from __future__ import annotations

import pytest

from horizon.efficiency.measure import measure
from horizon.engine.run import prepare
from horizon.images import demo_image
from horizon.schedule import parse_schedule


def test_measure_on_cpu(tiny_model):
    loaded = tiny_model("tiny-llava")
    prompt = prepare(loaded, [demo_image()], ["What is written on the sign?"])
    m = measure(loaded, prompt, parse_schedule("random@2:0.5"), max_new_tokens=3, warmup=1, repeats=3)
    assert m.repeats == 3 and m.memory_source == "rss" and m.peak_memory_mb > 100
    assert 0 < m.prefill_ms < m.e2e_ms and m.decode_ms_per_token > 0
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        measure(loaded, prompt, parse_schedule("full"), repeats=0)
