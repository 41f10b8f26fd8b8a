"""An information study of one model on one benchmark: what ``horizon info`` and the suite's ``information``
cases run (the paper, Sec. 3-4: Figures 5-9, 11, 12).

Per sample: the information map at the chosen layers (:func:`information_map`); the information each
method keeps at each layer and ratio (its selection on the unpruned prefix, ``select_many``). Over the
samples: accuracy when every visual token is withdrawn at each layer (Fig. 8/9) and when the oracle keeps the
most informative tokens (Fig. 6/11), through :func:`evaluate_many` with the maps already measured.

``window`` s > 1 measures s x s windows of the visual grid, as the authors' release does (s = 2), and the oracle
then keeps whole windows (:func:`oracle_scores`); ``answer_rule`` ``paper`` takes y as the release does
(TextVQA and MME only, :mod:`horizon.information.answer`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from horizon.benchmarks.base import Benchmark, DatasetFormatError, Sample
from horizon.engine.sweep import select_many
from horizon.evaluation.loop import SAMPLE_ERRORS, Interrupted, NoSampleRanError, evaluate_many, prompt_of
from horizon.information.analysis import HORIZON_RULE, information_horizon, layer_statistics, retained
from horizon.information.answer import ANSWER_RULES, answer_text, answer_token, check_answer_rule
from horizon.information.metric import (
    MODES,
    InformationMap,
    check_layers,
    information_map,
    oracle_scores,
    visual_grid,
    windows,
)
from horizon.methods import METHODS
from horizon.metrics import Metric
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.schedule import Keep, Schedule, Stage
from horizon.stats.horizon import WITHDRAW_RULE, withdraw_horizon

DEFAULT_METHODS = ("random", "divprune", "fastv", "sparsevlm", "dart")  # Fig. 5 (SGL needs a guide model)
DEFAULT_KEEPS = (0.1, 0.25, 0.5)  # Fig. 5: pruning 90 / 75 / 50 %
DEFAULT_ORACLE_KEEPS = (0.25, 0.125)  # Fig. 6: pruning 75 / 88 % (144 / 72 of 576)


Units = tuple[dict[str, float], dict[int, dict[str, float]]]  # the unpruned run's units, each withdrawal's


@dataclass(frozen=True)
class StudyConfig:
    layers: tuple[int, ...] | None = None  # None: every layer
    mode: str = "remove"
    chunk: int | None = None  # suffix rows per batch (None: by token budget)
    methods: tuple[str, ...] = DEFAULT_METHODS
    keeps: tuple[float, ...] = DEFAULT_KEEPS
    oracle_keeps: tuple[float, ...] = DEFAULT_ORACLE_KEEPS
    withdraw: bool = True
    seed: int = 0
    max_new_tokens: int | None = None  # None: the benchmark's own
    map_layers: int = 3  # layers whose token maps are kept for Fig. 7b
    window: int = 1  # side of the square windows measured together (the paper's release: 2)
    answer_rule: str = "frequent"  # which reference answer gives y (horizon.information.answer.ANSWER_RULES)

    def __post_init__(self) -> None:
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1:
            raise ValueError(f"window {self.window!r} must be a whole number >= 1 (the side of a square of tokens)")
        if self.answer_rule not in ANSWER_RULES:
            raise ValueError(f"answer rule {self.answer_rule!r} is not one of {', '.join(ANSWER_RULES)}")
        if self.mode not in MODES:
            raise ValueError(f"information mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.chunk is not None and self.chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {self.chunk}")
        for name in self.methods:
            METHODS.get(name)  # unknown -> error with a suggestion
            if "guide_importance" in METHODS.get(name).needs or "information" in METHODS.get(name).needs:
                raise ValueError(f"method {name!r} cannot be scored here (it needs a guide model or the answer)")
        for keep in (*self.keeps, *self.oracle_keeps):
            Keep(keep)  # outside [0, 1] -> error naming it

    def resolved_layers(self, n_layers: int) -> tuple[int, ...]:
        return check_layers(range(n_layers) if self.layers is None else self.layers, n_layers)

    @property
    def passes(self) -> int:
        """Passes over the samples a study makes: the maps, then the accuracies (withdrawals, oracle) if any."""
        return 1 + bool(self.withdraw or self.oracle_keeps)

    def check_benchmark(self, benchmark: str) -> None:
        """The answer rule holds for ``benchmark`` (the paper's is defined for TextVQA and MME only)."""
        check_answer_rule(self.answer_rule, benchmark)


@dataclass(frozen=True)
class Study:
    """Everything a study measured; plain data (JSON via ``to_dict``)."""

    model: str
    benchmark: str
    metric: str
    n: int
    mode: str
    layers: tuple[int, ...]
    mean: tuple[float, ...]
    variance: tuple[float, ...]
    p_text: tuple[float, ...]
    p_full: float
    horizon: int | None
    retained: dict[str, dict[str, list[float | None]]]  # method -> keep -> per layer (None: cannot prune there)
    withdraw: dict[int, float]  # layer -> headline metric with every visual token withdrawn there
    full: float | None  # headline metric unpruned
    withdraw_horizon: int | None
    oracle: dict[str, dict[int, float]]  # keep -> layer -> headline metric when the oracle keeps the top tokens
    maps: dict[int, list[float]]  # layer -> mean information per token over samples (empty: sizes differ)
    example: dict[int, list[float]]  # layer -> the first sample's information per token
    grid: tuple[int, int] | None
    n_visual: float  # mean visual tokens of the measured prompts
    failures: tuple[str, ...] = ()
    rules: dict[str, str] = field(default_factory=dict)
    window: int = 1  # each token's value is its window's (window x window tokens kept together)
    answer_rule: str = "frequent"
    # sample id -> its mean information over visual tokens at each layer (``mean`` is their mean): what a paired
    # bootstrap of the information horizon resamples (horizon/stats/horizon.py), 6 significant digits
    sample_means: dict[str, list[float]] = field(default_factory=dict)
    partial: str = ""  # "" for a whole study; else what Ctrl-C cut short (:class:`StudyInterrupted`)

    def to_dict(self) -> dict[str, Any]:
        """As JSON holds it (layer keys become strings): what records, files and reports carry."""
        return json.loads(json.dumps(asdict(self)))


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C during a study: a KeyboardInterrupt carrying the study of what finished (``study.partial`` says
    what is missing), or None when no sample's map had finished."""

    def __init__(self, study: Study | None, message: str) -> None:
        super().__init__(message)
        self.study = study


def run_study(
    loaded: LoadedModel,
    bench: Benchmark,
    samples: Sequence[Sample],
    config: StudyConfig,
    progress: Callable[[str], None] | None = None,
    accuracy_progress: Callable[[int], None] | None = None,
) -> Study:
    """The study of ``samples``: ``progress(sample id)`` as each sample's map is measured (or fails), then
    ``accuracy_progress(k)`` as k more samples' accuracy runs finish (``config.passes`` passes in all). Ctrl-C raises
    :class:`StudyInterrupted` with the study of what finished."""
    if not samples:
        raise ValueError(f"no samples of {bench.name} to study: the subset is empty")
    config.check_benchmark(bench.name)
    layers = config.resolved_layers(loaded.n_layers)
    maps: dict[str, InformationMap] = {}
    kept: dict[tuple[str, float, int], list[float]] = {}
    failures: list[str] = []
    try:
        _measure_maps(loaded, bench, samples, config, layers, maps, kept, failures, progress)
    except KeyboardInterrupt:
        stopped = f"interrupted after {len(maps) + len(failures)} of {len(samples)} samples' maps; no accuracies"
        if not maps:
            raise StudyInterrupted(None, stopped) from None
        raise StudyInterrupted(_study(loaded, bench, samples, config, layers, maps, kept, failures, stopped),
                               stopped) from None  # fmt: skip
    if not maps:
        raise NoSampleRanError(
            f"no sample of {bench.name} could be measured ({len(failures)} failures); first: {failures[0]}"
        )
    done = [s for s in samples if s.id in maps]
    try:
        accuracies = _accuracies(loaded, bench, done, layers, config, maps, accuracy_progress)
    except Interrupted as err:
        stopped = f"interrupted while measuring accuracies ({err.done} of {err.total} samples); no accuracies"
        raise StudyInterrupted(_study(loaded, bench, samples, config, layers, maps, kept, failures, stopped),
                               stopped) from None  # fmt: skip
    return _study(loaded, bench, samples, config, layers, maps, kept, failures, "", accuracies)


def _measure_maps(
    loaded: LoadedModel,
    bench: Benchmark,
    samples: Sequence[Sample],
    config: StudyConfig,
    layers: tuple[int, ...],
    maps: dict[str, InformationMap],
    kept: dict[tuple[str, float, int], list[float]],
    failures: list[str],
    progress: Callable[[str], None] | None,
) -> None:
    """Each sample's information map into ``maps`` (and what each method keeps into ``kept``), failures listed."""
    family = loaded.adapter.family
    for sample in samples:
        try:
            question = bench.prompt(sample, family)
            prompt = prompt_of(loaded, bench, [sample])
            try:
                y = answer_token(loaded.processor, question, answer_text(sample, config.answer_rule, bench.name))
                windows(visual_grid(prompt), prompt.n_visual, config.window)  # Qwen's grid follows the image
            except ValueError as err:  # no answer token, or a window that does not tile this sample's grid
                raise DatasetFormatError(str(err)) from None
            info = information_map(loaded, prompt, y, layers, mode=config.mode, chunk=config.chunk,
                                   window=config.window)  # fmt: skip
            _retained(loaded, prompt, info, config, kept)
        except SAMPLE_ERRORS as err:
            failures.append(f"{sample.id}: {err}")
            if progress is not None:
                progress(sample.id)
            continue
        maps[sample.id] = info
        if progress is not None:
            progress(sample.id)


def _study(
    loaded: LoadedModel,
    bench: Benchmark,
    samples: Sequence[Sample],
    config: StudyConfig,
    layers: tuple[int, ...],
    maps: dict[str, InformationMap],
    kept: dict[tuple[str, float, int], list[float]],
    failures: list[str],
    partial: str,
    accuracies: tuple[dict[int, float], float | None, dict[str, dict[int, float]], Units] | None = None,
) -> Study:
    """The study of the measured ``maps`` (and ``accuracies``; None: not measured, a partial study)."""
    stats = layer_statistics(list(maps.values()))
    withdraw, full, oracle, (full_units, withdrawn) = accuracies or ({}, None, {}, ({}, {}))
    w_horizon = None  # paired on the same samples (horizon/stats/horizon.py)
    if full is not None and withdraw:
        w_horizon = withdraw_horizon(full_units, {i: withdrawn[i] for i in withdraw})[0]
    first = next(iter(maps.values()))
    shown = _map_layers(layers, config.map_layers)
    same_size = len({m.p_keep.shape[1] for m in maps.values()}) == 1  # Qwen's token count follows the image
    mean_maps = (
        {i: [float(x) for x in torch.stack([m.at(i) for m in maps.values()]).mean(0)] for i in shown}
        if same_size
        else {}
    )
    return Study(
        model=loaded.name, benchmark=bench.name, metric=bench.headline, n=stats.n, mode=config.mode, layers=layers,
        mean=stats.mean, variance=stats.variance, p_text=stats.p_text, p_full=stats.p_full,
        horizon=information_horizon(layers, stats.mean), retained=_retained_table(kept, config, layers),
        withdraw=withdraw, full=full, withdraw_horizon=w_horizon, oracle=oracle, maps=mean_maps,
        example={i: [float(x) for x in first.at(i)] for i in shown}, grid=first.grid,
        n_visual=sum(m.p_keep.shape[1] for m in maps.values()) / len(maps), failures=tuple(failures),
        rules={"answer": ANSWER_RULES[config.answer_rule], "horizon": HORIZON_RULE, "withdraw": WITHDRAW_RULE,
               "removal": _removal_rule(config)},
        window=config.window, answer_rule=config.answer_rule,
        sample_means={sid: [float(f"{float(x):.6g}") for x in m.information.mean(1)] for sid, m in maps.items()},
        partial=partial,
    )  # fmt: skip


def _removal_rule(config: StudyConfig) -> str:
    how = ("physical removal, original positions" if config.mode == "remove"
           else "the paper's literal zeroing of hidden states (Eq. 2-3)")  # fmt: skip
    if config.window == 1:
        return how
    s = config.window
    return f"{how}; {s}x{s} windows of the visual grid kept together, each token valued by its window"


def _map_layers(layers: Sequence[int], count: int) -> tuple[int, ...]:
    """``count`` measured layers at 10 % to 50 % of the depth (Fig. 7b: layers 3, 10 and 16 of 32)."""
    if count >= len(layers):
        return tuple(layers)
    depth = layers[-1] + 1
    targets = [(0.1 + 0.4 * k / max(count - 1, 1)) * depth for k in range(count)]
    return tuple(sorted({min(layers, key=lambda i: abs(i - t)) for t in targets}))


def _schedules(config: StudyConfig, layers: Sequence[int]) -> list[tuple[str, float, int]]:
    return [(m, keep, i) for m in config.methods for keep in config.keeps for i in layers
            if i >= METHODS.get(m).min_layer]  # fmt: skip


def _retained(loaded: LoadedModel, prompt: Prompt, info: InformationMap, config: StudyConfig, kept: dict) -> None:  # type: ignore[type-arg]
    keys = _schedules(config, info.layers)
    if not keys:
        return
    schedules = [Schedule((Stage(m, i, Keep(keep)),)) for m, keep, i in keys]
    selections = select_many(loaded, prompt, schedules, seed=config.seed)
    for key, chosen in zip(keys, selections, strict=True):
        kept.setdefault(key, []).append(retained(info.at(key[2]), chosen[0]))


def _retained_table(kept: dict, config: StudyConfig, layers: Sequence[int]) -> dict[str, dict[str, list[float | None]]]:  # type: ignore[type-arg]
    table: dict[str, dict[str, list[float | None]]] = {}
    for m in config.methods:
        for keep in config.keeps:
            values = [kept.get((m, keep, i)) for i in layers]
            table.setdefault(m, {})[f"{keep:g}"] = [None if v is None else sum(v) / len(v) for v in values]
    return table


def _accuracies(
    loaded: LoadedModel,
    bench: Benchmark,
    samples: Sequence[Sample],
    layers: Sequence[int],
    config: StudyConfig,
    maps: Mapping[str, InformationMap],
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[int, float], float | None, dict[str, dict[int, float]], Units]:
    """Headline metric unpruned, with everything withdrawn at each layer, and with the oracle's selections; and
    the unpruned run's and each withdrawal's units (what the paired withdraw horizon reads)."""
    schedules: list[Schedule] = [Schedule()]
    if config.withdraw:
        schedules += [Schedule((Stage("vtw", i),)) for i in layers]
    oracle_keys = [(keep, i) for keep in config.oracle_keeps for i in layers]
    schedules += [Schedule((Stage("oracle", i, Keep(keep)),)) for keep, i in oracle_keys]
    if len(schedules) == 1:
        return {}, None, {}, ({}, {})

    def provide(sample: Sample, prompt: Prompt, wanted: Sequence[int]) -> Mapping[int, torch.Tensor]:
        return {i: oracle_scores(maps[sample.id], i)[None] for i in wanted}  # window > 1: whole windows first

    results = evaluate_many(loaded, bench, samples, schedules, seed=config.seed, information=provide,
                            max_new_tokens=config.max_new_tokens, progress=progress)  # fmt: skip
    score = [r.metrics.get(bench.headline) if r.n else None for r in results]
    full = score[0]
    k = 1
    withdraw: dict[int, float] = {}
    if config.withdraw:
        withdraw = {i: s for i, s in zip(layers, score[1 : 1 + len(layers)], strict=True) if s is not None}
        k += len(layers)
    oracle: dict[str, dict[int, float]] = {}
    for (keep, i), s in zip(oracle_keys, score[k:], strict=True):
        if s is not None:
            oracle.setdefault(f"{keep:g}", {})[i] = s
    units = {i: r.units for i, r in zip(layers, results[1 : 1 + len(layers)], strict=True)} if config.withdraw else {}
    return withdraw, full, oracle, (results[0].units, units)


def study_declarations(names: Iterable[str], headline: Metric) -> dict[str, Metric]:
    """The kind of each number :func:`study_metrics` produces (``names``), declared where they are made: scores
    on the benchmark's ``headline`` metric (``full:``, ``withdraw@K:``, ``oracle<keep>@K:``), horizon layers
    (counts; -1 when not reached), information means, variances and retained sums (values)."""
    out: dict[str, Metric] = {}
    for name in names:
        what, _, metric = name.partition(":")
        if metric:
            if metric != headline.name or not (what == "full" or what.startswith(("withdraw@", "oracle"))):
                continue
            out[name] = replace(headline, name=name)
        elif name in ("horizon_layer", "withdraw_horizon"):
            out[name] = Metric(name=name, kind="count", direction="none")
        elif name.startswith(("info_mean@", "info_var@", "retained_")):
            out[name] = Metric(name=name, kind="value", direction="none")
    return out


def study_metrics(study: Study) -> dict[str, float]:
    """A study as flat numbers for records and baselines: horizons (-1: not reached), per-layer mean and variance
    of information, retained information per method/keep/layer, withdraw-all and oracle scores per layer."""
    out: dict[str, float] = {"horizon_layer": float(-1 if study.horizon is None else study.horizon)}
    if study.full is not None:
        out[f"full:{study.metric}"] = study.full
    if study.withdraw:
        out["withdraw_horizon"] = float(-1 if study.withdraw_horizon is None else study.withdraw_horizon)
    for k, layer in enumerate(study.layers):
        out[f"info_mean@{layer}"] = study.mean[k]
        out[f"info_var@{layer}"] = study.variance[k]
    for method, keeps in study.retained.items():
        for keep, values in keeps.items():
            out.update({f"retained_{method}{keep}@{layer}": v for layer, v in zip(study.layers, values, strict=True)
                        if v is not None})  # fmt: skip
    out.update({f"withdraw@{layer}:{study.metric}": v for layer, v in study.withdraw.items()})
    for keep, per_layer in study.oracle.items():
        out.update({f"oracle{keep}@{layer}:{study.metric}": v for layer, v in per_layer.items()})
    return out
