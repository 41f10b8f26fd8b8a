"""Speed benchmarks of horizon itself: commands that print ratios measured in one run."""
