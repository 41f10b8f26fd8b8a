"""Pruning methods: the single list of method modules, which registers each into ``METHODS``."""

from horizon.methods import (  # noqa: F401  (imported to register)
    cdpruner,
    dart,
    divprune,
    fastv,
    oracle,
    pdrop,
    pool,
    random,
    sgl,
    sparsevlm,
    visionzip,
    vtw,
)
from horizon.methods.base import METHODS, Method, Selection, check_selection, register_method

__all__ = ["METHODS", "Method", "Selection", "check_selection", "register_method"]
