"""One method on one loaded model: the runs its contract checks make, with everything the method reads supplied
(a guide's importance from the model itself, the oracle's information for a fixed answer) and every view field it
read recorded, so the "reads only what it declares" check sees the runs of all the checks before it."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from horizon.doctor.checks import QUESTIONS
from horizon.engine.guide import guide_importance
from horizon.engine.output import Output
from horizon.engine.run import prepare, run
from horizon.images import demo_image
from horizon.information import answer_token, oracle_information
from horizon.methods.base import Method
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.schedule import WITHDRAW_ALL_METHODS, Keep, Schedule, Stage

FIXED_ANSWER = "STOP"  # the oracle's answer token, as the doctor and the contract tests fix it


class Probe:
    """Runs one-stage schedules of ``method`` on ``loaded`` at the method's ``max(min_layer, 2)`` layer; prompts and
    per-sample inputs are made once; :attr:`reads` collects every stage's ``inputs_used``."""

    def __init__(self, loaded: LoadedModel, method: Method) -> None:
        self.loaded = loaded
        self.method = method
        self.layer = max(method.min_layer, 2)
        self.reads: set[str] = set()
        self.runs = 0  # runs that got as far as recording their stage
        self._prompts: dict[tuple[str, ...], Prompt] = {}
        self._guides: dict[str, torch.Tensor] = {}
        self._information: dict[str, torch.Tensor] = {}

    @property
    def model(self) -> str:
        return self.loaded.name

    @property
    def withdraws(self) -> bool:
        """The method withdraws every visual token (VTW): its stages keep none, written without a keep."""
        return self.method.name in WITHDRAW_ALL_METHODS

    def prompt(self, questions: Sequence[str] = QUESTIONS[:1]) -> Prompt:
        key = tuple(questions)
        if key not in self._prompts:
            self._prompts[key] = prepare(self.loaded, [demo_image()] * len(key), list(key))
        return self._prompts[key]

    def grid(self) -> tuple[int, int] | None:
        grid = self.prompt().grid
        return None if grid is None else (int(grid[0, 0]), int(grid[0, 1]))

    def n_visual(self) -> int:
        return self.prompt().n_visual

    def planned(self, keep: Keep) -> int:
        """What a stage keeping ``keep`` promises: a fraction as the count the method meets on the demo image's grid,
        an absolute count as written."""
        if self.withdraws:
            return 0
        count = keep.count(self.n_visual())
        return count if keep.absolute else self.method.meetable(count, self.n_visual(), self.grid())

    def schedule(self, keep: Keep) -> Schedule:
        return Schedule((Stage(self.method.name, self.layer, Keep(0) if self.withdraws else keep),))

    def run(self, keep: Keep, *, questions: Sequence[str] = QUESTIONS[:1], seed: int = 0,
            schedule: Schedule | None = None, loaded: LoadedModel | None = None) -> Output:  # fmt: skip
        """One greedy token of ``questions`` (one prompt each, the demo image; several: a left-padded batch) under a
        stage of the method keeping ``keep`` (or under ``schedule``), on ``loaded`` (default: the probe's model)."""
        schedule = self.schedule(keep) if schedule is None else schedule
        guide, information = self._inputs(questions) if schedule.stages else (None, None)
        out = run(loaded or self.loaded, self.prompt(questions), schedule, max_new_tokens=1, seed=seed,
                  guide_importance=guide, information=information)  # fmt: skip
        for stage in out.stages:
            self.reads |= set(stage.inputs_used)
        self.runs += bool(out.stages)
        return out

    def _inputs(self, questions: Sequence[str]) -> tuple[torch.Tensor | None, dict[int, torch.Tensor] | None]:
        """The guide's importance and the oracle's information the method reads, each sample's computed alone (so a
        batch and its single runs rank by the same numbers), or None where it reads neither."""
        needs = self.method.needs
        guide = torch.cat([self._guide(q) for q in questions]) if "guide_importance" in needs else None
        information = None
        if "information" in needs:
            information = {self.layer: torch.cat([self._info(q) for q in questions])}
        return guide, information

    def _guide(self, question: str) -> torch.Tensor:
        if question not in self._guides:  # the model guides itself: the same geometry, real attention
            self._guides[question] = guide_importance(self.loaded, [demo_image()], [question], new_tokens=2)
        return self._guides[question]

    def _info(self, question: str) -> torch.Tensor:
        if question not in self._information:
            token = answer_token(self.loaded.processor, question, FIXED_ANSWER)
            info = oracle_information(self.loaded, self.prompt([question]), token, [self.layer])
            self._information[question] = info[self.layer]
        return self._information[question]
