"""Frame features and window aggregates: shapes, chunking invariance, physical sense."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagger.features import (
    FeatureConfig,
    FrameColumns,
    FrameFeaturizer,
    aggregate_windows,
    frame_feature_names,
    frame_features,
    silence_frame,
    window_feature_names,
)
from tagger.testing import signals

COLS = FrameColumns(FeatureConfig())


@pytest.mark.parametrize("n_samples", [1, 159, 160, 161, 16_000, 16_001])
def test_one_frame_per_hop_centred_on_the_samples(n_samples: int) -> None:
    y = np.zeros(n_samples, dtype=np.float32)
    features = frame_features(y)
    assert features.shape == (-(-n_samples // 160), len(frame_feature_names()))
    assert features.dtype == np.float32
    assert np.all(np.isfinite(features))


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=24_000), max_size=8))
def test_frame_features_do_not_depend_on_chunking(cuts: list[int]) -> None:
    y = signals.speech_like(1.5, seed=1) + signals.white_noise(1.5, amplitude=0.01, seed=2)
    whole = frame_features(y)
    featurizer = FrameFeaturizer()
    parts = [featurizer.push(block) for block in np.split(y, sorted(set(cuts)))]
    parts.append(featurizer.finish())
    assert np.array_equal(whole, np.concatenate(parts))


def test_tone_has_its_pitch_and_centroid() -> None:
    features = frame_features(signals.tone(1.0, freq_hz=200.0))[10:-10]
    assert np.allclose(features[:, COLS.f0], 200.0, rtol=0.03)
    assert np.all(features[:, COLS.voicing] > 0.9)
    assert np.median(features[:, COLS.centroid]) == pytest.approx(200.0, rel=0.15)
    assert np.median(features[:, COLS.rms_db]) == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.5)


def test_noise_is_flat_and_unvoiced() -> None:
    features = frame_features(signals.white_noise(1.0, amplitude=0.2))
    assert np.median(features[:, COLS.flatness]) > 0.4
    assert np.mean(features[:, COLS.f0] > 0) < 0.1
    assert np.median(features[:, COLS.zcr]) > 0.4


def test_silence_frame_is_the_padding_floor() -> None:
    row = silence_frame()
    assert row[COLS.rms_db] == pytest.approx(-100.0)
    assert np.all(row[COLS.logmel] == pytest.approx(-100.0))
    assert row[COLS.f0] == 0.0


def test_window_aggregates_ignore_padding_rows() -> None:
    frames = frame_features(signals.speech_like(3.0, seed=4))[:300]
    padded = frames.copy()
    padded[200:] = 1e6  # garbage after the valid rows must not leak in
    full = aggregate_windows(frames[None, :200], np.array([200]))
    partial = aggregate_windows(padded[None], np.array([200]))
    assert partial.shape == (1, len(window_feature_names()))
    assert np.allclose(full, partial, rtol=1e-5, atol=1e-4)


def test_window_aggregate_of_a_tone_reports_its_pitch() -> None:
    frames = frame_features(signals.tone(3.0, freq_hz=150.0))[:300]
    vector = aggregate_windows(frames[None], np.array([300]))[0]
    names = window_feature_names()
    assert np.exp(vector[names.index("log_f0_mean")]) == pytest.approx(150.0, rel=0.03)
    assert vector[names.index("voiced_fraction")] > 0.95
