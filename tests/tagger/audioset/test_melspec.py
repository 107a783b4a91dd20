"""The AudioSet front end fed from 16 kHz agrees with the published 32 kHz one."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.audioset.melspec import (
    MEL_FLOOR,
    kaldi_mel_bank,
    logmel_32k,
    network_input,
    scene_mel_power,
)
from tagger.frontend import resample
from tagger.testing import signals


def _frames16(y: np.ndarray) -> np.ndarray:
    padded = np.pad(y, 200)
    n = -(-y.size // 160)
    return np.lib.stride_tricks.sliding_window_view(padded, 400)[::160][:n]


def test_kaldi_bank_is_triangles_peaking_at_one() -> None:
    bank = kaldi_mel_bank(n_mels=128, n_fft=1024, sample_rate=32_000, fmin_hz=0.0, fmax_hz=16_000.0)
    assert bank.shape == (128, 513)
    assert bank.min() >= 0.0 and bank[:, -1].max() == 0.0  # the Nyquist bin is left out
    assert np.all(bank.max(axis=1) <= 1.0) and np.all(
        bank[10:].sum(axis=1) > 0
    )  # low bands may fall between bins
    centres = bank.argmax(axis=1)
    assert np.all(np.diff(centres) >= 0)  # ordered by frequency


@pytest.mark.parametrize("seed", [0, 1])
def test_16k_mel_matches_the_published_front_end_below_8k(seed: int) -> None:
    """Speech-like audio at 16 kHz: the 16 kHz bank against the published front end on
    the same audio resampled to 32 kHz, over the bands wholly below 7.5 kHz."""
    y = signals.speech_like(3.0, seed=seed) + signals.pink_noise(3.0, amplitude=0.01, seed=seed)
    ours = network_input(scene_mel_power(_frames16(y))).T  # (128, 300)
    published = logmel_32k(resample(y, orig_sr=16_000, target_sr=32_000))
    n = min(ours.shape[1], published.shape[1])
    bank = kaldi_mel_bank(n_mels=128, n_fft=1024, sample_rate=32_000, fmin_hz=0.0, fmax_hz=16_000.0)
    low = bank[:, 240:].sum(axis=1) == 0  # bands below 7.5 kHz
    diff = ours[low, 2 : n - 2] - published[low, 2 : n - 2]  # edges: zero vs reflect padding
    assert abs(float(diff.mean())) < 0.01  # no level offset (measured ~1e-3 on the reference clips)
    assert float(np.abs(diff).mean()) < 0.05  # one log-mel unit is 5 natural-log units of power


def test_above_8k_is_empty_and_a_gain_is_a_power_ratio() -> None:
    y = signals.white_noise(1.0, amplitude=0.1, seed=3)
    power = scene_mel_power(_frames16(y))
    assert power.shape == (100, 128) and power.dtype == np.float32
    bank = kaldi_mel_bank(n_mels=128, n_fft=1024, sample_rate=32_000, fmin_hz=0.0, fmax_hz=16_000.0)
    above = bank[:, :257].sum(axis=1) == 0
    assert above.any() and np.all(power[:, above] == 0.0)
    np.testing.assert_allclose(network_input(power, gain=4.0), network_input(power * 4.0), atol=1e-6)
    silent = network_input(np.zeros((1, 128), np.float32))
    np.testing.assert_allclose(silent, (np.log(MEL_FLOOR) + 4.5) / 5, rtol=1e-6)
