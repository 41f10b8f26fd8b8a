"""The withdraw horizon by paired tests: the first layer from which withdrawing every visual token is no longer
significantly below the unpruned model, on the same samples (Fig. 9's "convergence layer", judged paired)."""

from __future__ import annotations

from collections.abc import Mapping

from horizon.stats.paired import ALPHA, Paired, compare, paired_values

WITHDRAW_RULE = (
    "withdraw horizon: the first layer K from which withdrawing every visual token at any K' >= K is not "
    f"significantly below the unpruned model, paired on the same samples (p < {ALPHA:g}, two-sided)"
)


def withdraw_horizon(
    full: Mapping[str, float], withdrawn: Mapping[int, Mapping[str, float]]
) -> tuple[int | None, tuple[Paired, ...]]:
    """(the horizon, the comparisons from it on): ``full`` and ``withdrawn[k]`` are unit -> value of the unpruned
    run and of withdrawing every visual token from layer k. None when the deepest withdrawal already falls short
    (or shares no unit with the unpruned run)."""
    horizon: int | None = None
    kept: list[Paired] = []
    for layer in sorted(withdrawn, reverse=True):
        try:
            _, a, b = paired_values(full, withdrawn[layer])
        except ValueError:
            break
        p = compare(a, b)
        if p.significant and p.difference < 0:
            break
        horizon = layer
        kept.append(p)
    return horizon, tuple(kept)
