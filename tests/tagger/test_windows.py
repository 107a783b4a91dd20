"""Window geometry: coverage, exact bounds, and invariance to chunking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagger.errors import ConfigError
from tagger.windows import WindowConfig, Windower, kept_window_count, window_bounds

SMALL = WindowConfig(window_s=0.3, hop_s=0.1, sample_rate=1000, frame_hop=10)


@given(n_samples=st.integers(min_value=1, max_value=5000))
def test_windows_cover_the_track_end_to_end(n_samples: int) -> None:
    bounds = window_bounds(n_samples, config=SMALL)
    assert bounds[0, 0] == 0
    assert bounds[:, 1].max() == n_samples
    # Consecutive windows overlap or touch: no gap anywhere.
    assert np.all(bounds[1:, 0] <= bounds[:-1, 1])
    assert np.all(bounds[:, 1] > bounds[:, 0])
    # Every kept partial window (except a lone first one) holds >= half a window.
    lengths = bounds[:, 1] - bounds[:, 0]
    if len(bounds) > 1:
        assert np.all(lengths >= SMALL.window_samples / 2)


def test_defaults_are_three_seconds_every_second() -> None:
    config = WindowConfig()
    assert (config.window_samples, config.hop_samples) == (48_000, 16_000)
    assert (config.frames_per_window, config.frames_per_hop) == (300, 100)
    bounds = window_bounds(10 * 16_000, config=config)
    # 10 s: starts 0..7 full, start 8 has 2 s (kept), start 9 has 1 s (dropped).
    assert bounds[:, 0].tolist() == [k * 16_000 for k in range(9)]
    assert bounds[-1].tolist() == [128_000, 160_000]


def test_short_track_gets_one_padded_window() -> None:
    assert kept_window_count(8_000, config=WindowConfig()) == 1
    assert kept_window_count(0, config=WindowConfig()) == 0


@pytest.mark.parametrize("window_s, hop_s", [(3.0, 4.0), (3.005, 1.0), (0.0, 1.0)])
def test_bad_geometry_is_a_config_error(window_s: float, hop_s: float) -> None:
    with pytest.raises(ConfigError):
        WindowConfig(window_s=window_s, hop_s=hop_s)


def _windows(signal: np.ndarray, cuts: list[int]) -> list[tuple[int, int, np.ndarray]]:
    windower = Windower(per_window=SMALL.window_samples, per_hop=SMALL.hop_samples)
    out = []
    for block in np.split(signal, sorted(set(cuts))):
        out += [(w.index, w.n_valid, w.rows) for w in windower.push(block)]
    n_windows = kept_window_count(signal.size, config=SMALL)
    out += [(w.index, w.n_valid, w.rows) for w in windower.finish(n_windows=n_windows)]
    return out


@settings(max_examples=60, deadline=None)
@given(
    n_samples=st.integers(min_value=1, max_value=3000),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=12),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_windows_are_identical_however_the_stream_is_chunked(
    n_samples: int, cuts: list[int], seed: int
) -> None:
    signal = np.random.default_rng(seed).standard_normal(n_samples).astype(np.float32)
    whole = _windows(signal, [])
    chunked = _windows(signal, [c for c in cuts if c < n_samples])
    assert len(whole) == len(chunked) == kept_window_count(n_samples, config=SMALL)
    bounds = window_bounds(n_samples, config=SMALL)
    for (k, valid, rows), (k2, valid2, rows2), (start, end) in zip(whole, chunked, bounds, strict=True):
        assert k == k2 and valid == valid2 == end - start
        assert np.array_equal(rows, rows2)
        assert np.array_equal(rows[:valid], signal[start:end])
        assert np.all(rows[valid:] == 0.0)
