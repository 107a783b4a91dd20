"""Benchmarks (not tests): ratios and scaling figures measured in one run."""
