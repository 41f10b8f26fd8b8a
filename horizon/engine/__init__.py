"""The pruning engine: the pruned decoder loop, token views, and one-run orchestration."""
