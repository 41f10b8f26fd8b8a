"""No host read per layer or per decoded token in the engine's loop (issue 18: on a GPU each is a synchronisation).

Counted on CPU with :class:`horizon.doctor.host_reads.HostReadCounter`, which sees every tensor operation and counts
those that need a value on the host; on CUDA the doctor also counts real synchronisations.
"""

from __future__ import annotations

import pytest
import torch

from horizon.doctor.host_reads import HostReadCounter, host_reads
from horizon.engine.run import prepare
from horizon.images import demo_image

SCHEDULES = {"tiny-llava": "paper:llava-64:dart+random", "tiny-qwen2.5-vl": "paper:qwen-50:dart+random"}


def _prompt(loaded, questions=("What is written on the sign?",)):
    return prepare(loaded, [demo_image()] * len(questions), list(questions))


def test_the_counter_counts_reads_where_horizon_asked_for_them():
    x = torch.ones(4)
    with HostReadCounter() as counter:
        bool(x.all())
        x.sum().item()
        x.nonzero()
        x + 1  # no read
    assert counter.count == 3
    assert all(site.startswith("outside horizon") for site in counter.sites)  # this file is not in horizon/


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_decoding_reads_nothing_per_token_but_the_end_of_answer_check(tiny_model, name):
    loaded = tiny_model(name)
    prompt = _prompt(loaded)
    with torch.inference_mode():
        fixed = host_reads(loaded, prompt, SCHEDULES[name], tokens=3)
        stopping = host_reads(loaded, prompt, SCHEDULES[name], tokens=3, stop_at_eos=True)
    assert dict(fixed.per_token) == {}
    assert stopping.per_token_count == 1
    assert all(site.startswith("horizon/engine/generation.py") for site in stopping.per_token)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_deeper_stage_reads_nothing_more_in_the_prefill(tiny_model, name):
    loaded = tiny_model(name)
    prompt = _prompt(loaded)
    with torch.inference_mode():
        shallow = host_reads(loaded, prompt, "random@2:0.5", tokens=1)
        deep = host_reads(loaded, prompt, "random@20:0.5", tokens=1)
        unpruned = host_reads(loaded, prompt, "full", tokens=1)
    assert shallow.prefill == deep.prefill  # the same sites, the same counts: nothing per layer
    layer_sites = [s for s in unpruned.prefill if s.startswith(("horizon/engine/loop.py", "horizon/engine/layers.py"))]
    assert sum(unpruned.prefill[s] for s in layer_sites) <= 2  # the run's padding read and its one mask


def test_a_padded_batch_decodes_with_its_padding_mask(tiny_model):
    """The unpadded shortcut must not reach a padded batch: its decoding keeps the padding mask (one read per
    segment and token, stated in docs/doctor.md)."""
    loaded = tiny_model("tiny-llava")
    prompt = _prompt(loaded, ("What is written on the sign?", "Why?"))
    assert not bool(prompt.inputs["attention_mask"].all())
    with torch.inference_mode():
        reads = host_reads(loaded, prompt, "random@2:0.5+random@20:0.07", tokens=2)
    assert any(site.startswith("horizon/engine/layers.py") for site in reads.per_token)
