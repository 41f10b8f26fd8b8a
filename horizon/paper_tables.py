"""The paper's result tables (1, 2 and 3), defined once: which model, benchmarks, budgets and methods each has.

The suite's paper cases (horizon/harness/matrix.py) and the report's layouts (horizon/report/tables.py) are both made
from these definitions, so a case's label is by construction a cell of its table. A row's label is ``full``
or ``<budget>:<method>`` (``50:dart``, ``192:divprune+random``), as in ``baselines/paper/<table>.json``; its
schedule is the paper preset ``paper:<presets>-<budget>:<method>`` (horizon/paper_presets.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from horizon.paper_presets import PAPER_PRESETS


@dataclass(frozen=True, kw_only=True)
class PaperTable:
    name: str  # "table1": the file stem in baselines/paper/
    title: str
    model: str  # the model preset every row runs
    presets: str  # the preset group: "qwen" -> paper:qwen-<budget>:<method>
    columns: tuple[str, ...]  # benchmarks, in the paper's order
    budgets: tuple[tuple[str, str], ...]  # (budget, section heading), in the paper's order
    methods: tuple[str, ...]  # row methods within each budget, in the paper's order
    acc_column: bool = False  # the paper prints Acc. (the mean over the columns) beside Rel.
    marks: tuple[str, ...] = ("paper", "gpu", "nightly")
    published: bool = True  # False: not a table of the paper (no baselines/paper/<name>.json; its settings derived)

    def __post_init__(self) -> None:
        if not self.columns or not self.budgets or not self.methods:
            raise ValueError(f"{self.name}: columns, budgets and methods must not be empty")
        for label, schedule in self.rows()[1:]:
            if schedule not in PAPER_PRESETS:
                raise ValueError(f"{self.name} row {label!r}: {PAPER_PRESETS.unknown_message(schedule)}")

    def rows(self) -> tuple[tuple[str, str], ...]:
        """(label, schedule) of every row: the unpruned model, then each budget's methods."""
        pruned = tuple(
            (f"{budget}:{method}", f"paper:{self.presets}-{budget}:{method}")
            for budget, _ in self.budgets
            for method in self.methods
        )
        return (("full", "full"), *pruned)

    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.rows())


TABLE1_COLUMNS = ("mme", "scienceqa-img", "textvqa", "mmbench-en", "infovqa", "docvqa", "ocrbench")
TABLE1_METHODS = ("dart", "divprune", "dart+vtw", "divprune+vtw", "dart+random", "divprune+random")
TABLE2_METHODS = ("pdrop", "sparsevlm", "vtw", "fastv", "dart", "divprune", "fastv+vtw", "dart+vtw",
                  "divprune+vtw", "fastv+random", "dart+random", "divprune+random")  # fmt: skip

PAPER_TABLES: dict[str, PaperTable] = {
    t.name: t
    for t in (
        PaperTable(
            name="table1", title="Table 1: Qwen2.5-VL-7B, retain 50%", model="qwen2.5-vl-7b", presets="qwen",
            columns=TABLE1_COLUMNS, budgets=(("50", "Retain 50% tokens"),), methods=TABLE1_METHODS, acc_column=True,
        ),
        PaperTable(
            name="table2", title="Table 2: LLaVA-1.5-7B", model="llava-1.5-7b", presets="llava",
            # TextVQA with LLaVA's OCR-token prompt (the release's llava_textvqa_val_v051_ocr.jsonl; 58.2 unpruned)
            columns=("mme", "scienceqa-img", "pope", "textvqa-ocr", "mmbench-en", "gqa", "mmbench-cn"),
            budgets=(("192", "Retain 192 tokens"), ("64", "Retain 64 tokens")), methods=TABLE2_METHODS,
        ),
        PaperTable(
            name="table3", title="Table 3: efficiency, LLaVA-1.5-7B on TextVQA", model="llava-1.5-7b",
            presets="llava", columns=("textvqa-ocr",), budgets=(("192", "192 tokens"), ("64", "64 tokens")),
            methods=("fastv", "dart", "dart+vtw", "dart+random"), marks=("efficiency", "gpu", "nightly"),
        ),
        PaperTable(  # not in the paper: Table 1's rows on Qwen3-VL-8B, settings by horizon/paper_scaling.py's rule
            name="table1-qwen3", title="Table 1's settings on Qwen3-VL-8B (derived, not the paper's), retain 50%",
            model="qwen3-vl-8b", presets="qwen3", columns=TABLE1_COLUMNS, budgets=(("50", "Retain 50% tokens"),),
            methods=TABLE1_METHODS, acc_column=True, published=False,
        ),
    )
}  # fmt: skip
