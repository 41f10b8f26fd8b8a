"""What a reported number is: its kind and direction, declared once where it is produced.

Every number a record holds is declared by its producer (a benchmark spec for its scores, the evaluation for
visual tokens and time ratios, the information study for its per-layer values). Tolerances, report columns,
the paper's Acc./Rel. arithmetic and horizon rules read the declaration; a number nobody declared is an
error, never a guess from its name.

Kinds:

* ``percent``: a percentage over the case's ``n`` samples: the mean of per-sample values in [0, 1], x100
  (accuracy, F1, ANLS, circular accuracy, POPE's yes-ratio). Its standard error is at most the binomial one,
  so a binomial band is a safe tolerance.
* ``score``: a bounded score that is not a mean over samples (MME's perception + cognition, max 2800).
* ``count``: a count or an index (OCRBench's correct answers, visual tokens per layer, a horizon layer).
* ``value``: a real-valued measurement (information per layer, its variance, information retained).
* ``ratio``: a ratio of two timings measured in the same session (pruned over unpruned prefill).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["percent", "score", "count", "value", "ratio"]
KINDS: tuple[MetricKind, ...] = ("percent", "score", "count", "value", "ratio")
Direction = Literal["higher", "lower", "none"]
DIRECTIONS: tuple[Direction, ...] = ("higher", "lower", "none")


class UndeclaredMetricError(ValueError):
    """A number whose kind nobody declared (names it and where declarations live)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One declared number: ``name``, its kind, which way is better, and a score's maximum."""

    name: str
    kind: MetricKind
    direction: Direction = "higher"
    maximum: float | None = None  # a score's bound (MME total: 2800); percentages are out of 100

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"metric name {self.name!r} must be a non-empty word")
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric {self.name!r}: direction {self.direction!r} is not one of {', '.join(DIRECTIONS)}")
        if self.kind == "score" and (self.maximum is None or self.maximum <= 0):
            raise ValueError(f"metric {self.name!r}: a score declares its maximum (> 0), got {self.maximum!r}")
        if self.kind != "score" and self.maximum is not None:
            raise ValueError(f"metric {self.name!r}: only a score has a maximum ({self.kind} is out of 100 or unbounded)")

    def as_percent(self, value: float) -> float:
        """``value`` on a 0-100 scale: a percentage as it is, a score as a share of its maximum (MME / 28)."""
        if self.kind == "percent":
            return value
        if self.kind == "score" and self.maximum is not None:
            return 100.0 * value / self.maximum
        raise ValueError(f"metric {self.name!r} ({self.kind}) has no percentage scale")


def percent(name: str, direction: Direction = "higher") -> Metric:
    return Metric(name=name, kind="percent", direction=direction)


def table(metrics: Iterable[Metric]) -> dict[str, Metric]:
    """name -> metric, refusing a name declared twice."""
    out: dict[str, Metric] = {}
    for m in metrics:
        if m.name in out:
            raise ValueError(f"metric {m.name!r} is declared twice")
        out[m.name] = m
    return out


def kind_of(name: str, declared: Mapping[str, Metric], where: str) -> MetricKind:
    """The declared kind of ``name``; an :class:`UndeclaredMetricError` naming ``where`` it should be declared."""
    metric = declared.get(name)
    if metric is None:
        known = ", ".join(sorted(declared)[:12]) + (" ..." if len(declared) > 12 else "")
        raise UndeclaredMetricError(f"metric {name!r} has no declared kind ({where} declares: {known})")
    return metric.kind
