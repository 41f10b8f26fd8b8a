"""The declarative benchmark matrix: cases of model x benchmark x schedule, as the suite collects them.

A case id reads ``<model>-<benchmark>-<schedule>`` (``qwen2.5-vl-7b-textvqa-dart@2:0.46``), so
``pytest suite -k "qwen and dart"`` selects as expected; it is also the baseline key and the report row.
Matrices: the embedded default (tiny models on fixture data, CPU), the paper's Tables 1-3, the layer sweeps
of Figures 1, 2 and 10, and the withdraw-all sweep of Figure 9.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from horizon.models.presets import MODELS
from horizon.organism.config import DEEPSTACK, ORGANISMS, WEAKER
from horizon.paper_presets import resolve_schedule
from horizon.paper_tables import PAPER_TABLES
from horizon.protocol import DEFAULT_PROTOCOL, PAPER_PROTOCOL, PROTOCOLS
from horizon.schedule import Schedule

if TYPE_CHECKING:
    from horizon.evaluation.study import StudyConfig

CaseT = TypeVar("CaseT", "Case", "InfoCase")


@dataclass(frozen=True)
class Case:
    model: str
    benchmark: str
    schedule: str  # syntax or a paper preset name
    marks: tuple[str, ...] = ()
    limit: int | None = None
    seed: int = 0
    max_new_tokens: int | None = None  # None: the benchmark's own
    label: str = ""  # report row: "full", "dart+random", "random", ...
    protocol: str = DEFAULT_PROTOCOL  # horizon/protocol.py: prompts, scorers, preset form, seeds
    held_out: int = 0  # an organism case of the organism_full tier: its held-out synth rows (0: the default suite's)

    def __post_init__(self) -> None:
        PROTOCOLS.get(self.protocol)  # an unknown protocol names the known ones
        if self.held_out < 0:
            raise ValueError(f"held_out must be >= 0 rows, got {self.held_out}")

    @property
    def resolved(self) -> Schedule:
        """The schedule that runs: a paper preset in the form its protocol takes (released or transcribed)."""
        return resolve_schedule(self.schedule, PROTOCOLS.get(self.protocol).presets)

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds this case runs: its protocol's count for a schedule with a random stage, else just ``seed``."""
        from horizon.methods.base import stochastic

        return PROTOCOLS.get(self.protocol).seeds_for(stochastic(self.resolved), self.seed)

    @property
    def id(self) -> str:
        """``<model>-<benchmark>-<schedule>``, then ``-<protocol>`` for any but the default protocol."""
        base = f"{self.model}-{self.benchmark}-{self.resolved}"
        base += f"-{HELD_OUT_SUFFIX}{self.held_out}" if self.held_out else ""
        return base if self.protocol == DEFAULT_PROTOCOL else f"{base}-{self.protocol}"

    @property
    def table(self) -> str:
        """The report section this case belongs to (its first mark, or 'default')."""
        return next((m for m in self.marks if m not in ("gpu", "nightly")), "default")


TINY = ("tiny-llava", "tiny-qwen2.5-vl")
# ORGANISMS: every model trained on synth and shipped (horizon/organism/); FINDINGS_ORGANISMS run every finding's
# cases, their weaker siblings (WEAKER) the unpruned and withdraw-all cases and the information study (capacity)
FINDINGS_ORGANISMS = tuple(o for o in ORGANISMS if o not in WEAKER.values())
SYNTH_FAMILIES = ("synth-global", "synth-fine")
ORGANISM_KEEP = 0.125  # the layer sweeps' ratio (Fig. 2's): 18 of 144 tokens
SUITE_ROWS = 192  # the organism cases run the first held-out synth rows (96 per task family, 32 per task)
ORGANISM_INFO_ROWS = 32  # samples per information case (of the suite's 96 per family)
ORGANISM_STAGE_LAYER = 5  # where the equal-budget schedules add random/VTW (the paper's LLaVA horizon ~ 5/8 deep)
# the organism_full tier: the finding cases on 4200 held-out rows (700 per task, 2100 per family), where a paired
# comparison detects 0.5-2.5-point effects (docs/statistics.md); -m organism_full only, ~40 min on 2 cores
ORGANISM_FULL_ROWS = 4200
ORGANISM_FULL_INFO_ROWS = 128  # samples per tier information study (each capacity pair's models, per family)
HELD_OUT_SUFFIX = "heldout"  # a tier case's id ends in -heldout<rows>; the report keeps its records apart
_HELD_OUT = re.compile(rf"-{HELD_OUT_SUFFIX}(\d+)(?:-|$)")


def held_out_of(case_id: str) -> int:
    """The held-out rows of an ``organism_full`` tier case from its id (``...-heldout4200``); 0 for any other."""
    m = _HELD_OUT.search(case_id)
    return int(m[1]) if m else 0


DEFAULT_SCHEDULES = ("full", "random@2:0.5", "paper:llava-192:dart+random", "paper:llava-64:fastv+vtw")
# the organisms' information-retained table: Fig. 5's methods and the peers' baselines
FIGURE_INFO_METHODS = ("random", "divprune", "fastv", "sparsevlm", "dart")  # Fig. 5's retained information
ORGANISM_INFO_METHODS = ("random", "divprune", "fastv", "sparsevlm", "dart", "visionzip", "cdpruner-llm", "pool")
SWEEP_METHODS = ("random", "fastv", "dart", "divprune", "pdrop", "sparsevlm", "visionzip", "cdpruner-llm", "pool")
FIG9_BENCHMARKS = ("mme", "scienceqa-img", "pope", "textvqa", "ocrbench", "ocr-vqa")


def default_matrix(extra: tuple[str, ...] = ()) -> list[Case]:
    """The embedded CPU default: both tiny models on every benchmark's fixture data; ``extra`` methods (a plugin's,
    ``pytest suite --methods``) join the organisms' layer sweeps."""
    from horizon.benchmarks.registry import BENCHMARKS

    cases = [
        Case(model, bench, schedule, ("default",), max_new_tokens=4, label=schedule.rsplit(":", 1)[-1])
        for model in TINY
        for bench in BENCHMARKS.names()
        if bench not in SYNTH_FAMILIES  # the same code as synth; the organisms run them
        for schedule in DEFAULT_SCHEDULES
    ]
    # a small layer sweep, so the default exercises the sweep path and its figure
    cases += [
        Case(model, "pope", f"{method}@{layer}:0.1", ("default", "sweep"), max_new_tokens=4, label=method)
        for model in TINY
        for method in ("random", "dart", "fastv")
        for layer in (1, 8, 16, 24)
    ]
    return cases + organism_matrix(extra=extra)


EQUAL_BUDGET_KEEPS = {
    5: ("0.375", "0.5"),
    6: ("0.3125", "0.375"),
}  # second-stage layer -> method's keep (+random, +vtw)


def equal_budget_schedules(method: str, layer: int = ORGANISM_STAGE_LAYER) -> list[str]:
    """The third finding on 8 layers at one budget (216 visual token-layers after layer 2, as ``method`` alone at
    25 %): ``method`` alone, ``method`` keeping more until ``layer`` then random to 18 tokens, and then none (VTW).
    ``layer`` 5 or 6 (the fine tasks' horizon is at 6-7 on the organisms: 6 places random at or beyond it)."""
    if layer not in EQUAL_BUDGET_KEEPS:
        raise ValueError(f"the equal budgets are worked out for layers {sorted(EQUAL_BUDGET_KEEPS)}, not {layer}")
    # 6 layers x 36 = 3 x 54 + 3 x 18 = 3 x 72 + 3 x 0 = 4 x 45 + 2 x 18 = 4 x 54 + 2 x 0 = 216
    with_random, with_vtw = EQUAL_BUDGET_KEEPS[layer]
    return [f"{method}@2:0.25", f"{method}@2:{with_random}+random@{layer}:#18", f"{method}@2:{with_vtw}+vtw@{layer}"]


def organism_matrix(held_out: int = 0, extra: tuple[str, ...] = ()) -> list[Case]:
    """The organisms on the held-out synth rows, per task family: unpruned, every method against random at each
    layer (Fig. 1/2), all visual tokens withdrawn at each layer (Fig. 9), equal-budget multi-stage (Tables 4/5).
    One sweep group per model and family: a single pass shares each sample's unpruned prefix. ``held_out`` > 0:
    the same cases on that many held-out rows (the ``organism_full`` tier, never in the default run). A weaker
    sibling (``WEAKER``) runs the unpruned and withdraw-all cases only: its horizons against its stronger one's."""
    equal = list(dict.fromkeys(s for m in ("fastv", "dart", "divprune") for layer in EQUAL_BUDGET_KEEPS
                               for s in equal_budget_schedules(m, layer)))  # fmt: skip
    return [
        Case(model, bench, s, organism_marks(model, held_out), max_new_tokens=1, label=_organism_label(s),
             held_out=held_out)  # one-word answers
        for model in ORGANISMS
        for bench in SYNTH_FAMILIES
        # a weaker sibling runs the capacity finding's cases only: unpruned and withdraw-all
        for s in (_organism_schedules(model, extra) + equal if model in FINDINGS_ORGANISMS else _withdraw(model))
    ]


def organism_marks(model: str, held_out: int = 0, kind: str = "sweep") -> tuple[str, ...]:
    """An organism case's marks: the ``organism_full`` tier's on its held-out rows; the DeepStack sibling's
    (``deepstack``, a tier of its own: the default run has no room for it) or the default's on the default rows."""
    if held_out:
        return ("organism_full", kind)
    return ("deepstack" if model in DEEPSTACK.values() else "default", "organism", kind)


def _withdraw(model: str) -> list[str]:
    """Unpruned, then every visual token withdrawn at each layer of ``model`` (Figure 9)."""
    return ["full", *(f"vtw@{layer}" for layer in range(MODELS.get(model).arch.layers))]


def _organism_schedules(model: str, extra: tuple[str, ...] = ()) -> list[str]:
    """``_withdraw``'s, then each sweep method (and ``extra``) at every later layer of ``model`` it can prune at, at
    ``ORGANISM_KEEP`` (Fig. 1/2)."""
    layers = MODELS.get(model).arch.layers
    return [*_withdraw(model), *(f"{m}@{layer}:{ORGANISM_KEEP:g}" for m in sweep_methods(extra)
                                 for layer in sweep_range(m, layers))]  # fmt: skip


def sweep_methods(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The sweeps' methods: horizon's, then ``extra`` (a plugin's, ``pytest suite --methods``)."""
    return tuple(dict.fromkeys((*SWEEP_METHODS, *extra)))


def sweep_range(method: str, layers: int) -> range:
    """The layers a sweep prunes ``method`` at: 1 (or its first) to the last but one."""
    from horizon.methods import METHODS

    return range(max(1, METHODS.get(method).min_layer), layers)


def _organism_label(schedule: str) -> str:
    stages = [part.split("@")[0] for part in schedule.split("+")]
    return "+".join(stages)


def paper_protocol(model: str) -> str:
    """The protocol a paper case of ``model`` runs under: the authors' (``paper``) for a family their release
    covers (LLaVA-1.5), lmms-eval's for the others (Qwen2.5-VL: no released code)."""
    families = PROTOCOLS.get(PAPER_PROTOCOL).families
    return PAPER_PROTOCOL if not families or MODELS.get(model).family in families else DEFAULT_PROTOCOL


def paper_table(name: str) -> list[Case]:
    """Every cell of one of the paper's Tables 1-3 (horizon/paper_tables.py) as a case labelled with its row."""
    table = PAPER_TABLES[name]
    protocol = paper_protocol(table.model)
    return [Case(table.model, b, schedule, table.marks, label=label, protocol=protocol) for b in table.columns
            for label, schedule in table.rows()]  # fmt: skip


def layer_sweep(model: str, benchmarks: tuple[str, ...], keep: float, extra: tuple[str, ...] = ()) -> list[Case]:
    """Each method alone at every layer of ``model`` (its preset's depth), pruning to ``keep`` (Figures 1, 2, 10)."""
    marks = ("sweep", "gpu", "nightly")
    return [
        Case(model, b, f"{m}@{layer}:{keep:g}", marks, label=m, protocol=paper_protocol(model))
        for b in benchmarks
        for m in sweep_methods(extra)
        for layer in sweep_range(m, MODELS.get(model).arch.layers)
    ]


def withdraw_sweep(model: str) -> list[Case]:
    """All visual tokens withdrawn at each layer of ``model`` (Figure 9)."""
    marks = ("sweep", "gpu", "nightly")
    protocol = paper_protocol(model)
    benchmarks = [paper_benchmark(b, protocol) for b in FIG9_BENCHMARKS]
    return [Case(model, b, f"vtw@{layer}", marks, label="vtw", protocol=protocol)
            for b in benchmarks for layer in range(MODELS.get(model).arch.layers)]  # fmt: skip


def paper_benchmark(name: str, protocol: str) -> str:
    """The benchmark a paper case runs under ``protocol``: LLaVA's TextVQA has the OCR-token prompt
    (``llava_textvqa_val_v051_ocr.jsonl`` in the authors' scripts), so ``textvqa`` is ``textvqa-ocr`` there."""
    return "textvqa-ocr" if protocol == PAPER_PROTOCOL and name == "textvqa" else name


def sweep_groups(cases: list[Case]) -> dict[str, list[Case]]:
    """Sweep cases that can share each sample's unpruned prefix: case id -> its group (same model, benchmark,
    subset and generation length), for the suite to run a group in one pass (horizon/engine/sweep.py)."""
    groups: dict[tuple[object, ...], list[Case]] = {}
    for c in cases:
        if "sweep" in c.marks:
            key = (c.model, c.benchmark, c.limit, c.seeds, c.max_new_tokens, c.protocol, c.held_out)
            groups.setdefault(key, []).append(c)
    return {c.id: group for group in groups.values() for c in group}


@dataclass(frozen=True)
class InfoCase:
    """An information study (horizon/information/study.py) of one model on one benchmark."""

    model: str
    benchmark: str
    marks: tuple[str, ...]
    limit: int | None
    layers: tuple[int, ...] | None = None  # None: every layer
    methods: tuple[str, ...] = FIGURE_INFO_METHODS
    keeps: tuple[float, ...] = (0.1, 0.25, 0.5)
    oracle_keeps: tuple[float, ...] = (0.25, 0.125)
    seed: int = 0
    max_new_tokens: int | None = None
    protocol: str = DEFAULT_PROTOCOL
    held_out: int = 0  # an organism study of the organism_full tier: its held-out synth rows (0: the default's)

    def __post_init__(self) -> None:
        PROTOCOLS.get(self.protocol)
        if self.held_out < 0:
            raise ValueError(f"held_out must be >= 0 rows, got {self.held_out}")

    @property
    def id(self) -> str:
        base = f"{self.model}-{self.benchmark}-information"
        base = base if self.protocol == DEFAULT_PROTOCOL else f"{base}-{self.protocol}"
        return base + (f"-{HELD_OUT_SUFFIX}{self.held_out}" if self.held_out else "")

    def config(self) -> StudyConfig:
        """The study as this case's protocol measures it: its window and answer rule (the paper's: 2x2 windows, the
        release's y; horizon/protocol.py)."""
        from horizon.evaluation.study import StudyConfig
        from horizon.information.answer import rule_for

        protocol = PROTOCOLS.get(self.protocol)
        return StudyConfig(layers=self.layers, methods=self.methods, keeps=self.keeps, oracle_keeps=self.oracle_keeps,
                           seed=self.seed, max_new_tokens=self.max_new_tokens, window=protocol.window,
                           answer_rule=rule_for(protocol.answer_rule, self.benchmark))  # fmt: skip


def information_matrix(extra: tuple[str, ...] = ()) -> list[InfoCase]:
    """The information cases: a small study per tiny model (default, CPU), and the paper's Figures 5-8, 11, 12;
    ``extra`` methods (``pytest suite --methods``) join the organisms' and the figures' retained-information tables
    where a study can score them (not those needing a guide model or the answer)."""
    scored = tuple(m for m in extra if _scorable(m))
    tiny = ("default", "information")
    cases = [
        InfoCase("tiny-llava", "pope", tiny, 2, (0, 4, 8, 16, 24, 31), ("random", "dart"), (0.25,), (0.25,),
                 max_new_tokens=4),
        InfoCase("tiny-qwen2.5-vl", "textvqa", tiny, 2, (0, 4, 8, 14, 20, 27), ("random", "dart"), (0.25,), (0.25,),
                 max_new_tokens=4),
    ]  # fmt: skip
    # the organisms: every layer, per task family (the horizon should sit deeper for the fine tasks)
    cases += [InfoCase(model, bench, organism_marks(model, kind="information"), ORGANISM_INFO_ROWS,
                       methods=tuple(dict.fromkeys((*ORGANISM_INFO_METHODS, *scored))), keeps=(ORGANISM_KEEP,), oracle_keeps=(ORGANISM_KEEP,),
                       max_new_tokens=1)
              for model in FINDINGS_ORGANISMS for bench in SYNTH_FAMILIES]  # fmt: skip
    # a weaker sibling's: the maps and withdrawals its horizons need (no methods, no oracle: the suite's time)
    cases += [InfoCase(model, bench, ("default", "information", "organism"), ORGANISM_INFO_ROWS, methods=(), keeps=(),
                       oracle_keeps=(), max_new_tokens=1)
              for model in WEAKER.values() for bench in SYNTH_FAMILIES]  # fmt: skip
    # the organism_full tier: information horizons of each capacity and DeepStack pair on more samples (the maps only)
    cases += [InfoCase(model, bench, ("organism_full", "information"), ORGANISM_FULL_INFO_ROWS, methods=(), keeps=(),
                       oracle_keeps=(), max_new_tokens=1, held_out=ORGANISM_FULL_ROWS)
              for pair in (*WEAKER.items(), *DEEPSTACK.items()) for model in pair for bench in SYNTH_FAMILIES]  # fmt: skip
    real = ("information", "gpu", "nightly")
    # Fig. 5, 6, 7, 8 (LLaVA-1.5-7B, 200 MME samples; TextVQA for Fig. 6b/8b)
    # under the paper protocol: 2x2 windows, the release's y, its info-guided keeps 72/144/288/432 of 576 (info_prune)
    llava = paper_protocol("llava-1.5-7b")
    figures = tuple(dict.fromkeys((*FIGURE_INFO_METHODS, *scored)))
    cases += [InfoCase("llava-1.5-7b", paper_benchmark(b, llava), real, 200, methods=figures, protocol=llava,
                       oracle_keeps=(0.125, 0.25, 0.5, 0.75)) for b in ("mme", "textvqa")]  # fmt: skip
    # Fig. 11 and 12 (Qwen2.5-VL-7B, 1000 samples; 50/75 % pruning for Fig. 12, 25-87.5 % for Fig. 11)
    cases += [InfoCase("qwen2.5-vl-7b", b, real, 1000, methods=figures, keeps=(0.5, 0.25),
                       oracle_keeps=(0.75, 0.5, 0.25, 0.125)) for b in ("mme", "textvqa")]  # fmt: skip
    return cases


def _scorable(method: str) -> bool:
    from horizon.methods import METHODS

    return not {"guide_importance", "information"} & METHODS.get(method).needs


def under_protocol(cases: list[CaseT], protocol: str | None) -> list[CaseT]:
    """``cases`` with every one run under ``protocol`` (None: each its own), without duplicate ids."""
    if protocol is None:
        return cases
    PROTOCOLS.get(protocol)
    out: dict[str, CaseT] = {}
    for case in cases:
        moved = replace(case, protocol=protocol)
        out.setdefault(moved.id, moved)
    return list(out.values())


def protocol_refusal(case: Case | InfoCase) -> str | None:
    """Why ``case``'s protocol cannot run its model (a family the protocol does not define), else None."""
    try:
        PROTOCOLS.get(case.protocol).check_family(MODELS.get(case.model).family, case.model)
    except ValueError as err:
        return str(err)
    return None


def all_cases(extra: tuple[str, ...] = ()) -> list[Case]:
    """Every case; ``extra`` methods (a plugin's, ``pytest suite --methods``) join every layer sweep."""
    cases = default_matrix(extra) + [c for name in PAPER_TABLES for c in paper_table(name)]
    cases += layer_sweep("llava-1.5-7b", ("mme", "scienceqa-img", "pope"), 0.1, extra)  # Figure 1
    cases += layer_sweep("qwen2.5-vl-7b", ("mme", "textvqa"), 0.125, extra)  # Figure 2
    cases += layer_sweep("qwen2.5-vl-7b", ("mme", "textvqa"), 0.25, extra)  # Figure 10's second ratio
    cases += layer_sweep("qwen3-vl-8b", ("mme", "textvqa"), 0.125, extra)  # Figure 2 on Qwen3-VL-8B (not in the paper)
    cases += withdraw_sweep("llava-1.5-7b") + withdraw_sweep("qwen2.5-vl-7b")  # Figure 9
    cases += organism_matrix(ORGANISM_FULL_ROWS, extra)  # the organism_full tier (-m organism_full)
    seen: dict[str, Case] = {}
    for case in cases:  # a case in two matrices (Table 2 and 3) runs once, with both marks
        if case.id in seen:
            first = seen[case.id]
            case = replace(first, marks=tuple(dict.fromkeys(first.marks + case.marks)))
        seen[case.id] = case
    return list(seen.values())
