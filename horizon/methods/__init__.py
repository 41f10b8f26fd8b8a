"""Pruning methods: the single list of method modules, which registers each into ``METHODS``."""

from horizon.methods import random, vtw  # noqa: F401  (imported to register)
from horizon.methods.base import METHODS, Method, check_selection, register_method

__all__ = ["METHODS", "Method", "check_selection", "register_method"]
