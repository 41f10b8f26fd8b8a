"""Benchmarks: one file per benchmark (scorer first; local loading and prompts follow), shared text helpers."""
