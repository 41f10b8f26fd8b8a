"""``horizon check-method NAME``: the method contract run against any registered method, built-in or plugin.

The contract tests of the built-ins (tests/test_methods_contract.py, tests/test_views.py, tests/test_methods_eager.py)
as a library: one :class:`~horizon.doctor.checks.Check` line each, on both tiny model families, and the selection's
time at the real models' geometry (horizon/speed/methods.py).
"""

from horizon.contract.method import CONTRACT_MODELS, FULL, QUICK, Depth, check_method, contract_checks, geometries_for

__all__ = ["CONTRACT_MODELS", "FULL", "QUICK", "Depth", "check_method", "contract_checks", "geometries_for"]
