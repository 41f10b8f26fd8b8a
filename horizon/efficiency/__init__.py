"""Analytic cost models (flops.py) and measurement helpers."""
