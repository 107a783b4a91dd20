"""The windows/s benchmark runs a real module in a fresh interpreter."""

from __future__ import annotations

from pathlib import Path

from tagger.training.speed import benchmark_windows_per_s


def test_benchmark_measures_a_model_in_a_subprocess(tiny_model: Path) -> None:
    speed = benchmark_windows_per_s(tiny_model, n_windows=512)
    assert 100.0 < speed < 1e7  # a tiny MLP on one core: thousands of windows/s
