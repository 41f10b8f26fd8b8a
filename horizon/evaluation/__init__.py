"""Evaluation: the loop that runs a model over a benchmark's samples under schedules (``loop``), its per-sample
rows (``per_sample``) and the information study runner (``study``). The regression harness above it
(:mod:`horizon.harness`) turns these runs into records and checks them against baselines."""
