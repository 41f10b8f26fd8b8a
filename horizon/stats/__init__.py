"""Statistics of comparisons on the same samples: paired tests, intervals and power (scipy underneath).

:func:`compare` tests two runs' per-unit values (exact McNemar for correctness, a paired randomization test
otherwise) with a paired bootstrap interval and the smallest detectable effect; :mod:`horizon.stats.power` holds
the power formulas. docs/statistics.md states the rules the report and the baseline gates use.
"""

from horizon.stats.paired import MARGIN, Paired, compare, paired_values
from horizon.stats.power import ALPHA, POWER, mde_binary, mde_mean, min_flips

__all__ = ["ALPHA", "MARGIN", "POWER", "Paired", "compare", "mde_binary", "mde_mean", "min_flips", "paired_values"]
