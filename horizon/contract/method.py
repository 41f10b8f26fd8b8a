"""The method contract run against one registered method (built-in or plugin): the checks of
horizon/contract/checks.py on each tiny model, then its selection time at the real models' geometry."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from horizon.contract.checks import (
    batch_equals_singles,
    deterministic,
    exact_budgets,
    keep_all_identity,
    reads_declared,
    sdpa_equals_eager,
    selection_time,
)
from horizon.contract.probe import Probe
from horizon.doctor.checks import Check, guarded
from horizon.methods import METHODS
from horizon.models.loading import LoadedModel, load_model
from horizon.models.presets import MODELS
from horizon.speed.methods import DEFAULT_GEOMETRY

CONTRACT_MODELS = ("tiny-llava", "tiny-qwen2.5-vl")  # one of each family: SDPA, float32, CPU


@dataclass(frozen=True, slots=True)
class Depth:
    """How much of the contract a run checks: the budgets, the seeds compared, and whether it times the selection."""

    fractions: tuple[float, ...]
    counts: tuple[int, ...]
    seeds: tuple[int, ...]
    timing_repeats: int  # 0: the selection is not timed


FULL = Depth(fractions=(0.1, 0.25, 0.5), counts=(7, 32), seeds=(1, 2, 3), timing_repeats=3)
QUICK = Depth(fractions=(0.1, 0.5), counts=(7,), seeds=(1,), timing_repeats=0)  # tests: seconds per model

Load = Callable[[str], LoadedModel]


def geometries_for(models: Sequence[str]) -> tuple[str, ...]:
    """The real geometries (``horizon bench methods``'s defaults) of the checked models' families."""
    families = {MODELS.get(m).family for m in models}
    return tuple(g for g in DEFAULT_GEOMETRY if MODELS.get(g).family in families)


def _model_checks(probe: Probe, depth: Depth) -> list[tuple[str, Callable[[], Check]]]:
    model = probe.model
    return [
        (f"exact budgets [{model}]", partial(exact_budgets, probe, depth.fractions, depth.counts)),
        (f"keep-all is the identity [{model}]", partial(keep_all_identity, probe)),
        (f"deterministic for a seed [{model}]", partial(deterministic, probe, depth.seeds)),
        (f"padded batch of 4 = single runs [{model}]", partial(batch_equals_singles, probe)),
        # after the runs above: it checks what they read
        (f"reads only what it declares [{model}]", partial(reads_declared, probe)),
        (f"{probe.loaded.attn_implementation} = eager attention [{model}]", partial(sdpa_equals_eager, probe)),
    ]


def contract_checks(name: str, *, env: Mapping[str, str], models: Sequence[str] = CONTRACT_MODELS,
                    quick: bool = False, load: Load | None = None) -> Iterator[Check]:  # fmt: skip
    """Each check of method ``name`` as it completes (see :func:`check_method`). The name and the models are checked
    before anything runs (an unknown one raises the registry's error naming the known ones)."""
    method = METHODS.get(name)
    if not models:
        raise ValueError("check-method needs at least one model")
    for model in models:
        MODELS.get(model)
    depth = QUICK if quick else FULL
    load = load or (lambda model: load_model(model, dtype="float32", attn_implementation="sdpa", device="cpu", env=env))
    return _checks(method.name, models, depth, load)


def _checks(name: str, models: Sequence[str], depth: Depth, load: Load) -> Iterator[Check]:
    for model in models:
        try:
            loaded = load(model)
        except Exception as err:  # noqa: BLE001 - a model that does not load is a failed line; the next one runs
            yield Check(f"load [{model}]", False, f"raised {type(err).__name__}: {err}")
            continue
        probe = Probe(loaded, METHODS.get(name))
        for check_name, fn in _model_checks(probe, depth):
            yield guarded(check_name, fn)
    if depth.timing_repeats:
        for geometry in geometries_for(models):
            yield guarded(f"selection time [{geometry} geometry]",
                          partial(selection_time, name, geometry, depth.timing_repeats))  # fmt: skip


def check_method(name: str, *, env: Mapping[str, str], models: Sequence[str] = CONTRACT_MODELS, quick: bool = False,
                 load: Load | None = None) -> list[Check]:  # fmt: skip
    """The method contract on registered method ``name``, on each of ``models`` (SDPA, float32, CPU; ``load`` loads
    one, default :func:`~horizon.models.loading.load_model` with ``env``), at the method's ``max(min_layer, 2)``:

    1. exact budgets (fractions as the method meets them, absolute counts) and sorted unique in-range indices;
    2. keep-all is the identity (every token kept, the unpruned run's first-token logits);
    3. determinism for a seed (and seed dependence exactly when the method declares ``stochastic``);
    4. a left-padded batch of 4 equals its single runs;
    5. it reads only the view fields it declares (over the runs of 1-4);
    6. under SDPA it runs with no attention map, and keeps the same set as under eager attention;
    7. its selection time against one real-sized decoder layer (``llava-1.5-7b`` / ``qwen2.5-vl-7b`` geometry).

    ``quick`` checks fewer budgets and seeds and skips 7. A crash is a failed check; the others still run."""
    return list(contract_checks(name, env=env, models=models, quick=quick, load=load))
