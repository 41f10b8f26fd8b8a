"""Running one matrix case into a record (the suite's logic; pytest stays thin).

``CaseRunner`` loads each model once (per process, i.e. per xdist worker) and each benchmark's samples once;
a case whose weights or data are not on disk raises :class:`Unavailable` with the reason, which the suite
turns into a skip. Checking the record against its baseline is :mod:`horizon.harness.check`.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from horizon.benchmarks.base import Benchmark, Sample
from horizon.benchmarks.local import DataNotFoundError
from horizon.benchmarks.registry import BENCHMARKS
from horizon.benchmarks.samples import load_samples, subset
from horizon.efficiency.flops import FORMULA_NAME, kv_cache_bytes, prefill_flops
from horizon.evaluation.loop import EvalResult, checked, evaluate, evaluate_many, prompt_of
from horizon.evaluation.per_sample import sample_rows
from horizon.evaluation.text_tokens import measure
from horizon.harness.matrix import Case, InfoCase
from horizon.harness.records import Record, versions
from horizon.models.loading import CheckpointNotFoundError, LoadedModel, load_model
from horizon.models.presets import MODELS, STAND_IN_NEW_TOKENS, STAND_IN_STUDY, stand_in_name, stand_in_study_layers
from horizon.paper_presets import provenance
from horizon.protocol import PROTOCOLS
from horizon.vocab.cache import family_tokenizer


class Unavailable(Exception):
    """A case that cannot run here (weights or data not on disk); the message says how to provide them."""


def device_slug(device: str) -> str:
    if not device.startswith("cuda"):
        return "cpu"
    import torch

    name = torch.cuda.get_device_name(torch.device(device)).lower()
    return next((g for g in ("h200", "h100", "a100", "a6000", "l40s", "4090") if g in name), "cuda")


Step = Callable[[int], None]  # k more samples finished
# announce(what, samples) -> a context in which ``what`` runs, handing a Step: how the suite shows a long group's
# progress (suite/progress.py); None shows nothing
Announce = Callable[[str, int], AbstractContextManager[Step]]


@dataclass
class CaseRunner:
    data_env: dict[str, str]  # HORIZON_DATA / HF_HOME for benchmark data
    model_env: dict[str, str]  # HORIZON_MODELS / HORIZON_CACHE / HF_HUB_CACHE for weights
    device: str = "cpu"
    dtype: str = "float32"
    attn: str = "sdpa"
    batch: int = 1  # samples per forward in sweep groups (accuracy only: efficiency cases time one sample alone)
    stand_ins: bool = False  # run a real checkpoint's cases on its stand-in (docs/stand-ins.md): the records say so
    _models: dict[str, LoadedModel] = field(default_factory=dict)
    _samples: dict[str, list[Sample]] = field(default_factory=dict)
    _grouped: dict[tuple[str, int], EvalResult] = field(default_factory=dict)  # (case id, seed) -> its group's result
    _unpruned: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # the unpruned model's measurement
    _tokenizers: dict[str, Any] = field(default_factory=dict)  # family -> its real tokenizer (None: not cached)
    announce: Announce | None = None  # shows a sweep group's or a study's progress while it runs (the suite's)

    def _announced(self, what: str, total: int) -> AbstractContextManager[Step]:
        return nullcontext(lambda _k: None) if self.announce is None else self.announce(what, total)

    def real_tokenizer(self, family: str) -> Any:
        """``family``'s real tokenizer when its vocabulary is cached (loaded once), else None."""
        if family not in self._tokenizers:
            self._tokenizers[family] = family_tokenizer(family, self.model_env)
        return self._tokenizers[family]

    def model(self, name: str) -> LoadedModel:
        """``name`` loaded once (its stand-in, when this runner runs stand-ins and ``name`` is a real checkpoint)."""
        if name not in self._models:
            load = stand_in_name(name) if self.stand_ins and name in MODELS and MODELS.get(name).real else name
            try:
                self._models[name] = load_model(
                    load, dtype=self.dtype, attn_implementation=self.attn, device=self.device, env=self.model_env
                )
            except CheckpointNotFoundError as err:
                raise Unavailable(str(err)) from None
        return self._models[name]

    def samples(self, bench: str) -> list[Sample]:
        if bench not in self._samples:
            try:
                self._samples[bench] = load_samples(BENCHMARKS.get(bench), env=self.data_env)[0]
            except DataNotFoundError as err:
                raise Unavailable(str(err)) from None
        return self._samples[bench]

    def run(self, case: Case, group: Sequence[Case] = ()) -> Record:
        """Run ``case`` under its protocol, once per seed (``metrics``: their mean; each seed's kept); with its sweep
        ``group``, the whole group runs in one pass per seed on first use (prefix reuse)."""
        loaded = self.model(case.model)
        PROTOCOLS.get(case.protocol).check_family(loaded.adapter.family, case.model)
        bench = BENCHMARKS.get(case.benchmark).under(case.protocol)
        samples = subset(self.samples(case.benchmark), case.limit, seed=case.seed)
        schedule = case.resolved
        max_new = self._max_new(loaded, case, bench)
        results = []
        for seed in case.seeds:
            if len(group) > 1 and (case.id, seed) not in self._grouped:
                what = (f"{case.model} · {case.benchmark}: a sweep group of {len(group)} cases on {len(samples)} samples"
                        + (f", seed {seed}" if len(case.seeds) > 1 else ""))  # fmt: skip
                with self._announced(what, len(samples)) as step:
                    outs = evaluate_many(loaded, bench, samples, [c.resolved for c in group], seed=seed,
                                         max_new_tokens=max_new, batch=self.batch, progress=step)  # fmt: skip
                self._grouped.update({(c.id, seed): r for c, r in zip(group, outs, strict=True)})
            if (case.id, seed) in self._grouped:
                results.append(checked(self._grouped.pop((case.id, seed))))
            else:
                results.append(evaluate(loaded, bench, samples, schedule, seed=seed, max_new_tokens=max_new))
        result = results[0]
        failures = list(dict.fromkeys(f for r in results for f in r.failures))
        metrics = {k: statistics.fmean(r.metrics[k] for r in results) for k in result.metrics}
        return Record(
            case=case.id, model=case.model, benchmark=case.benchmark, schedule=str(schedule),
            device=device_slug(self.device), dtype=self.dtype, attn_implementation=self.attn, n=result.n,
            failures=max(len(r.failures) for r in results), failed_samples=failures[:10], metrics=metrics,
            average_visual_tokens=statistics.fmean(r.average_visual_tokens for r in results),
            **self._costs(loaded, case, result.text_tokens, result.visual_tokens_in, bench, samples),
            timing={"prefill_ms": result.prefill_ms, "decode_ms": result.decode_ms, "model_s": result.model_s,
                    **self._measure(case, bench, samples, max_new)},  # fmt: skip
            versions=versions(),
            label=case.label, protocol=case.protocol, scorer=bench.scorer, seeds=list(case.seeds),
            seed_metrics=[dict(r.metrics) for r in results] if len(results) > 1 else [],
            provenance=provenance(case.schedule, PROTOCOLS.get(case.protocol).presets), stand_in=self._stand_in(loaded),
            samples=sample_rows(results),
        )  # fmt: skip

    def _stand_in(self, loaded: LoadedModel) -> str:
        """The stand-in's name when ``loaded`` is one (what its records carry), else ''."""
        return loaded.name if loaded.preset is not None and loaded.preset.stands_in_for else ""

    def _max_new(self, loaded: LoadedModel, case: Case | InfoCase, bench: Benchmark) -> int | None:
        """The case's generation length (None: the benchmark's); a stand-in's at most ``STAND_IN_NEW_TOKENS``."""
        if not self._stand_in(loaded):
            return case.max_new_tokens
        return min(case.max_new_tokens or bench.new_tokens(loaded.adapter.family), STAND_IN_NEW_TOKENS)

    def run_information(self, case: InfoCase) -> Record:
        """An information study (marker ``information``): its numbers as metrics, the whole study attached."""
        from horizon.evaluation.study import run_study, study_metrics

        loaded = self.model(case.model)
        PROTOCOLS.get(case.protocol).check_family(loaded.adapter.family, case.model)
        bench = BENCHMARKS.get(case.benchmark).under(case.protocol)
        config, limit = case.config(), case.limit
        if self._stand_in(loaded):  # a few layers and samples: the whole path, in seconds (STAND_IN_STUDY)
            layers = config.resolved_layers(loaded.n_layers)
            layers = tuple(layers[i] for i in stand_in_study_layers(len(layers)))
            config = replace(config, max_new_tokens=self._max_new(loaded, case, bench), layers=layers)
            limit = min(limit or STAND_IN_STUDY[1], STAND_IN_STUDY[1])
        samples = subset(self.samples(case.benchmark), limit, seed=case.seed)
        what = (f"{case.model} · {case.benchmark}: an information study of {len(samples)} samples ("
                + ("maps, then accuracies: two passes)" if config.passes > 1 else "maps)"))  # fmt: skip
        with self._announced(what, len(samples) * config.passes) as step:
            study = run_study(loaded, bench, samples, config, progress=lambda _sid: step(1), accuracy_progress=step)
        return Record(
            case=case.id, model=case.model, benchmark=case.benchmark, schedule="information",
            device=device_slug(self.device), dtype=self.dtype, attn_implementation=self.attn, n=study.n,
            failures=len(study.failures), failed_samples=list(study.failures[:10]), metrics=study_metrics(study), average_visual_tokens=study.n_visual,
            versions=versions(), label="information", information=study.to_dict(), protocol=case.protocol,
            scorer=bench.scorer, stand_in=self._stand_in(loaded),
        )  # fmt: skip

    def _measure(self, case: Case, bench: Benchmark, samples: list[Sample], max_new: int | None) -> dict[str, float]:
        """Efficiency cases: latency and memory on the first sample (warm-up, median of 5 runs), and the same
        against the unpruned model measured in this session on the same prompt (the ratios baselines keep)."""
        if "efficiency" not in case.marks or not samples:
            return {}
        from horizon.efficiency.measure import measure
        from horizon.schedule import Schedule

        loaded = self.model(case.model)
        prompt = prompt_of(loaded, bench, samples[:1])
        max_new = max_new or bench.new_tokens(loaded.adapter.family)
        key = (case.model, case.benchmark, samples[0].id, max_new)
        if key not in self._unpruned:
            self._unpruned[key] = measure(loaded, prompt, Schedule(), max_new_tokens=max_new)
        full = self._unpruned[key]
        m = full if not case.resolved.stages else measure(loaded, prompt, case.resolved, max_new_tokens=max_new)
        nvml = {} if m.device_memory_mb is None else {"device_memory_mb": m.device_memory_mb}
        return {"measured_prefill_ms": m.prefill_ms, "e2e_ms": m.e2e_ms, "peak_memory_mb": m.peak_memory_mb, **nvml,
                "prefill_ratio": m.prefill_ms / full.prefill_ms, "latency_ratio": m.e2e_ms / full.e2e_ms}  # fmt: skip

    def _costs(self, loaded: LoadedModel, case: Case, text: float, n_visual: float, bench: Benchmark,
               samples: list[Sample]) -> dict[str, Any]:  # fmt: skip
        """Analytic decoder prefill FLOPs and KV storage at this case's mean prompt length. A stand-in's: the real
        model's architecture, at the real tokenizer's text tokens of these prompts when its vocabulary is cached
        (horizon vocab fetch), else at the stand-in's own."""
        if loaded.preset is None:
            return {}
        arch = MODELS.get(loaded.preset.stands_in_for or loaded.preset.name).arch
        formula = FORMULA_NAME
        if self._stand_in(loaded):
            real = self.real_tokenizer(loaded.adapter.family) if samples else None
            if real is not None:
                text = measure(bench, loaded.adapter.family, case.protocol, real, samples).mean
                formula += " (text tokens: the real tokenizer's)"
        visual = case.resolved.tokens_per_layer(arch.layers, round(n_visual))
        tokens = [round(text) + v for v in visual]
        return {"flops_t": prefill_flops(arch, tokens) / 1e12, "kv_mb": kv_cache_bytes(arch, tokens) / 2**20,
                "flops_formula": formula}  # fmt: skip


ORGANISM_BATCH = 16  # samples per forward in the organisms' sweep groups: the same answers as one by one, ~5x faster


def default_runners(root: Path, cache: Path) -> tuple[CaseRunner, CaseRunner]:
    """The embedded default's two case runners (``pytest suite`` and ``horizon bench suite`` both use these): the
    tiny models on every benchmark's fixture rows, one sample per forward, built into ``cache``; the organisms on
    the first ``SUITE_ROWS`` held-out synth rows (:func:`organism_runner`). Their data is written under ``root``."""
    from horizon.benchmarks.fixtures import write_all
    from horizon.harness.matrix import SUITE_ROWS

    tiny = CaseRunner({"HORIZON_DATA": str(write_all(root / "fixture-data"))}, {"HORIZON_CACHE": str(cache)},
                      device="cpu")  # fmt: skip
    return tiny, organism_runner(root / "organism-data", SUITE_ROWS)


def organism_runner(folder: Path, rows: int) -> CaseRunner:
    """The organisms' case runner on the first ``rows`` held-out synth rows (written under ``folder``): their
    shipped weights (or $HORIZON_MODELS/<name>), ``ORGANISM_BATCH`` samples per forward."""
    from horizon.benchmarks.fixtures import write_parquet
    from horizon.benchmarks.synth import HELD_OUT_SEED
    from horizon.benchmarks.synth import rows as synth_rows

    write_parquet("synth", folder / "synth", synth_rows(rows, seed=HELD_OUT_SEED))
    models = {k: v for k, v in os.environ.items() if k == "HORIZON_MODELS"}
    return CaseRunner({"HORIZON_DATA": str(folder)}, models, device="cpu", batch=ORGANISM_BATCH)
