"""The evaluation loop: a model on a benchmark's samples under schedules (prompting, answers, scores, failures)."""

from __future__ import annotations

import logging
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from horizon.benchmarks.base import Benchmark, DatasetFormatError, Sample
from horizon.engine.output import Output
from horizon.engine.plan import PlanError
from horizon.engine.run import prepare, run
from horizon.engine.sweep import run_many
from horizon.methods import METHODS
from horizon.models.adapter import Prompt
from horizon.models.loading import LoadedModel
from horizon.protocol import PROTOCOLS
from horizon.schedule import Schedule

log = logging.getLogger(__name__)

# The per-sample failures the loop counts and goes on past (each names its sample): a row or image that cannot be
# read or that the processor refuses (DatasetFormatError), or a schedule this sample's prompt cannot satisfy
# (PlanError, e.g. a Qwen image with fewer visual tokens than a #N keep). Anything else (out of memory, an engine
# or a schedule error) is raised: it is never counted as a failed sample and passed over.
SAMPLE_ERRORS = (DatasetFormatError, PlanError)


Progress = Callable[[int], None]  # called with how many more samples finished (a batch reports its size at once)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while samples ran: a KeyboardInterrupt (so whoever does not catch it stops as before) that carries
    what finished: one result per schedule, each scored on the samples it finished (``done`` of ``total``)."""

    def __init__(self, results: list[EvalResult], done: int, total: int) -> None:
        super().__init__(f"interrupted after {done} of {total} samples")
        self.results = results
        self.done = done
        self.total = total


class NoSampleRanError(RuntimeError, ValueError):
    """No sample could be run (every one failed, each for the reason listed): the result has nothing to score.

    A RuntimeError as it always was, and a ValueError so that the command line reports it in one line (most often
    the data: every image unreadable or too large; or a schedule no prompt can satisfy)."""


@dataclass(frozen=True)
class EvalResult:
    benchmark: str
    schedule: str
    metrics: dict[str, float]
    n: int
    failures: tuple[str, ...]  # "sample id: error" for samples that could not be run
    predictions: dict[str, str] = field(repr=False)
    average_visual_tokens: float = 0.0
    prefill_ms: float = 0.0  # median over samples
    decode_ms: float = 0.0
    text_tokens: float = 0.0  # mean non-visual prompt tokens
    visual_tokens_in: float = 0.0  # mean visual tokens of the prompt before pruning
    model_s: float = 0.0  # total time in the model's processor and the engine's run() (the model's share)
    units: dict[str, float] = field(default_factory=dict, repr=False)  # unit (group) -> value in [0, 1] (horizon/stats)
    groups: dict[str, str] = field(default_factory=dict, repr=False)  # sample id -> its unit, where not the id itself


def evaluate(
    loaded: LoadedModel,
    bench: Benchmark,
    samples: Iterable[Sample],
    schedule: Schedule,
    *,
    seed: int = 0,
    max_new_tokens: int | None = None,
    batch: int = 1,
    progress: Progress | None = None,
) -> EvalResult:
    """Run every sample (``batch`` per forward) and score; a failing sample is counted, not fatal. Ctrl-C raises
    :class:`Interrupted` carrying the finished samples' result."""
    result = evaluate_many(loaded, bench, samples, [schedule], seed=seed, max_new_tokens=max_new_tokens, batch=batch,
                           progress=progress)[0]  # fmt: skip
    return checked(result)


def checked(result: EvalResult) -> EvalResult:
    """``result`` if any sample ran; otherwise the error of the first failure."""
    if result.n == 0:
        first = result.failures[0] if result.failures else "none recorded"
        raise NoSampleRanError(
            f"every sample of {result.benchmark} failed under {result.schedule} ({len(result.failures)} failures); "
            f"first: {first}"
        )
    return result


@dataclass
class _Tally:
    """One schedule's answers and costs while its samples run."""

    done: list[Sample] = field(default_factory=list)
    preds: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    visual: list[float] = field(default_factory=list)
    prefill: list[float] = field(default_factory=list)
    decode: list[float] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (prompt tokens, visual tokens)
    model_s: float = 0.0

    def add(self, bench: Benchmark, family: str, sample: Sample, out: Output, seconds: float, row: int = 0,
            prompt_len: int | None = None, batch: int = 1) -> None:  # fmt: skip
        """Sample ``row`` of ``out`` (a run of ``batch`` samples: its times are shared equally), its answer cut as
        ``family`` is cut under the benchmark's protocol."""
        self.done.append(sample)
        self.preds.append(bench.cut(out.answers[row], family))
        self.visual.append(out.average_visual_tokens)
        self.prefill.append(out.prefill_s * 1e3 / batch)
        self.decode.append(out.decode_s * 1e3 / batch)
        self.sizes.append((out.prompt_len if prompt_len is None else prompt_len, out.n_visual))
        self.model_s += seconds

    def partial_result(self, bench: Benchmark, schedule: Schedule) -> EvalResult:
        """The result of the samples that finished before Ctrl-C: a group cut short is left out as unfinished; a
        set of answers that cannot be scored yet (an MMBench group without its main row) keeps nothing."""
        try:
            return self.result(bench, schedule, cut="its group was not finished (interrupted)")
        except Exception as err:  # noqa: BLE001 - Ctrl-C stays Ctrl-C: a scoring error is said, not raised
            return EvalResult(bench.name, str(schedule), {}, 0,
                              (*self.failures, f"the finished samples could not be scored: {err}"), {})  # fmt: skip

    def result(self, bench: Benchmark, schedule: Schedule,
               cut: str = "another member of their group failed") -> EvalResult:  # fmt: skip
        """The tally scored (``cut``: why a group's finished answers are left out when a member is missing)."""
        if not self.done:  # nothing ran: an empty result carrying the failures (see checked())
            return EvalResult(bench.name, str(schedule), {}, 0, tuple(self.failures), {})
        metrics = bench.checked_scores(
            _score_whole_groups(bench, self.done, self.preds, self.failures, cut)
            if bench.group_size
            else bench.score(self.done, self.preds)
        )
        return EvalResult(
            bench.name, str(schedule), metrics, len(self.done), tuple(self.failures),
            {s.id: p for s, p in zip(self.done, self.preds, strict=True)}, statistics.fmean(self.visual),
            statistics.median(self.prefill), statistics.median(self.decode),
            statistics.fmean(p - v for p, v in self.sizes), statistics.fmean(v for _, v in self.sizes), self.model_s,
            bench.unit_values(self.done, self.preds), {s.id: s.group for s in self.done if s.group != s.id},
        )  # fmt: skip


def evaluate_many(
    loaded: LoadedModel,
    bench: Benchmark,
    samples: Iterable[Sample],
    schedules: Sequence[Schedule],
    *,
    seed: int = 0,
    max_new_tokens: int | None = None,
    information: InformationFn | None = None,
    batch: int = 1,
    progress: Progress | None = None,
) -> list[EvalResult]:
    """Every schedule on every sample; several schedules share each sample's unpruned prefix (run_many).

    A schedule that fails on a sample is counted there without failing the others; one that fails on every
    sample gets an empty result (``n == 0``, its failures listed). Oracle stages get each sample's information
    at their layers from ``information(sample, prompt, layers)`` (default: measured with the sample's gold
    answer, :func:`oracle_information_for`).

    ``batch`` > 1 runs that many samples per forward (left-padded; each sample keeps its own random subsets, so
    the answers are those of one-by-one runs, tests/test_benchmarks.py); a batch that cannot run together
    (different visual-token counts, a failing schedule) runs one by one. Times are then each batch's, shared
    equally among its samples. Schedules with oracle stages always run one by one.

    ``progress(k)`` is called as each sample (or batch of ``k``) finishes, failed ones included. Ctrl-C (a
    KeyboardInterrupt) raises :class:`Interrupted` with every schedule's result on the samples that finished."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    pending = list(samples)
    if not pending:
        raise ValueError(f"no samples of {bench.name} to evaluate: the subset is empty")
    tallies = [_Tally() for _ in schedules]
    finished = [0]

    def step(k: int) -> None:
        finished[0] += k
        if progress is not None:
            progress(k)

    try:
        _evaluate_into(loaded, bench, pending, schedules, tallies, seed, max_new_tokens, information, batch, step)
    except KeyboardInterrupt:
        raise Interrupted([t.partial_result(bench, s) for t, s in zip(tallies, schedules, strict=True)], finished[0],
                          len(pending)) from None  # fmt: skip
    return [t.result(bench, s) for t, s in zip(tallies, schedules, strict=True)]


def _evaluate_into(
    loaded: LoadedModel,
    bench: Benchmark,
    pending: list[Sample],
    schedules: Sequence[Schedule],
    tallies: Sequence[_Tally],
    seed: int,
    max_new_tokens: int | None,
    information: InformationFn | None,
    batch: int,
    progress: Progress,
) -> None:
    """:func:`evaluate_many`'s loop: every sample's answers into ``tallies``."""
    max_new = max_new_tokens or bench.new_tokens(loaded.adapter.family)
    oracle_layers = sorted(
        {st.layer for s in schedules for st in s.stages if "information" in METHODS.get(st.method).needs}
    )
    provider = information or oracle_information_for(loaded, bench)
    if batch > 1 and not oracle_layers:
        chunks, pending = [pending[k : k + batch] for k in range(0, len(pending), batch)], []
        for chunk in chunks:
            if len(chunk) == 1 or not _run_batch(loaded, bench, chunk, schedules, tallies, max_new, seed):
                pending += chunk
            else:
                progress(len(chunk))
    for sample in pending:
        t0 = time.perf_counter()  # the model's time: its processor, then the engine
        prompt, info = None, None
        try:
            prompt = prompt_of(loaded, bench, [sample])
            info = provider(sample, prompt, oracle_layers) if oracle_layers else None
            outs: list[Output | None] = (
                [run(loaded, prompt, schedules[0], max_new_tokens=max_new, seed=seed, information=info)]
                if len(schedules) == 1
                else list(run_many(loaded, prompt, schedules, max_new_tokens=max_new, seed=seed, information=info))
            )
        except SAMPLE_ERRORS as err:
            if len(schedules) > 1 and prompt is not None:  # the shared run failed: try each schedule alone
                outs = _one_by_one(loaded, prompt, schedules, tallies, sample, max_new, seed, info)
            else:
                log.warning("sample %s failed: %s", sample.id, err)
                for t in tallies:
                    t.failures.append(f"{sample.id}: {err}")
                progress(1)
                continue
        share = (time.perf_counter() - t0) / len(schedules)
        for tally, out in zip(tallies, outs, strict=True):
            if out is not None:
                tally.add(bench, loaded.adapter.family, sample, out, share)
        progress(1)


InformationFn = Callable[[Sample, Prompt, Sequence[int]], Mapping[int, torch.Tensor]]


def oracle_information_for(loaded: LoadedModel, bench: Benchmark) -> InformationFn:
    """Information of a sample's visual tokens at some layers, for its gold answer's first token, as the protocol
    ``bench`` runs under measures it (its window and answer rule: the paper's 2x2 windows and the release's y)."""
    from horizon.information import answer_text, answer_token, oracle_information
    from horizon.information.answer import rule_for

    protocol = PROTOCOLS.get(bench.protocol)
    rule = rule_for(protocol.answer_rule, bench.name)

    def provide(sample: Sample, prompt: Prompt, layers: Sequence[int]) -> Mapping[int, torch.Tensor]:
        question = bench.prompt(sample, loaded.adapter.family)
        try:
            y = answer_token(loaded.processor, question, answer_text(sample, rule, bench.name))
            return oracle_information(loaded, prompt, y, layers, window=protocol.window)
        except ValueError as err:  # the gold answer gives no answer token, or the window does not tile the image
            raise DatasetFormatError(str(err)) from None

    return provide


def _run_batch(
    loaded: LoadedModel,
    bench: Benchmark,
    chunk: Sequence[Sample],
    schedules: Sequence[Schedule],
    tallies: Sequence[_Tally],
    max_new: int,
    seed: int,
) -> bool:
    """Every schedule on ``chunk`` in one batch, tallied; False (nothing tallied) if the batch cannot run."""
    t0 = time.perf_counter()
    try:
        prompt = prompt_of(loaded, bench, chunk)
        outs = (
            [run(loaded, prompt, schedules[0], max_new_tokens=max_new, seed=seed)]
            if len(schedules) == 1
            else run_many(loaded, prompt, schedules, max_new_tokens=max_new, seed=seed)
        )
    except SAMPLE_ERRORS as err:
        log.info("a batch of %d ran one by one: %s", len(chunk), err)
        return False
    share = (time.perf_counter() - t0) / (len(schedules) * len(chunk))
    lengths = prompt.inputs["attention_mask"].sum(1).tolist() if "attention_mask" in prompt.inputs else None
    for tally, out in zip(tallies, outs, strict=True):
        for row, sample in enumerate(chunk):
            length = int(lengths[row]) if lengths is not None else None
            tally.add(bench, loaded.adapter.family, sample, out, share, row, length, len(chunk))
    return True


def prompt_of(loaded: LoadedModel, bench: Benchmark, samples: Sequence[Sample]) -> Prompt:
    """The model's inputs for ``samples``, in the conversation of the protocol ``bench`` runs under
    (:meth:`~horizon.benchmarks.base.Benchmark.under`); an image that cannot be decoded, or that the processor refuses, is a
    :class:`DatasetFormatError` naming the samples."""
    images = [s.pil() for s in samples]
    questions = [bench.prompt(s, loaded.adapter.family) for s in samples]
    conversation = PROTOCOLS.get(bench.protocol).conversation
    try:
        return prepare(loaded, images, questions, conversation=conversation)
    except ValueError as err:
        raise DatasetFormatError(f"the processor refused sample {', '.join(s.id for s in samples)}: {err}") from None


def _one_by_one(
    loaded: LoadedModel,
    prompt: Prompt,
    schedules: Sequence[Schedule],
    tallies: Sequence[_Tally],
    sample: Sample,
    max_new: int,
    seed: int,
    info: Mapping[int, torch.Tensor] | None,
) -> list[Output | None]:
    """After a shared run failed: each schedule alone, so one bad schedule does not fail the others."""
    outs: list[Output | None] = []
    for schedule, tally in zip(schedules, tallies, strict=True):
        try:
            outs.append(run(loaded, prompt, schedule, max_new_tokens=max_new, seed=seed, information=info))
        except SAMPLE_ERRORS as err:
            tally.failures.append(f"{sample.id}: {err}")
            outs.append(None)
    return outs


def _score_whole_groups(
    bench: Benchmark, done: list[Sample], preds: list[str], failures: list[str],
    cut: str = "another member of their group failed",
) -> dict[str, float]:  # fmt: skip
    """A benchmark scored on whole groups (MME's image pairs): a group with a failed member is left out (and
    counted among failures)."""
    counts: dict[str, int] = defaultdict(int)
    for s in done:
        counts[s.group] += 1
    keep = [i for i, s in enumerate(done) if counts[s.group] == bench.group_size]
    if len(keep) < len(done):
        failures.append(f"{len(done) - len(keep)} {bench.name} answers left out: {cut}")
    return bench.score([done[i] for i in keep], [preds[i] for i in keep])
