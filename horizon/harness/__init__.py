"""The regression harness: what turns runs into guarded numbers.

The case matrix (``matrix``: model x benchmark x schedule, the paper's tables and sweeps, the organisms' tiers) and
its stand-ins (``stand_ins``); the case runner (``runner``: a case into a record, through :mod:`horizon.evaluation`);
records (``records``); baselines (``baselines``, ``baseline_units``: files, tolerances, shards, merging) and the
three baseline modes (``check``); the power of the gate (``gate_power``); GPU pinning of xdist workers (``gpus``);
and a pytest session's own logic (``session``: its options, its selection, its end). The root ``conftest.py`` is a
thin pytest plugin over it. Nothing below the harness imports it; it never imports the report or the CLI.
"""
