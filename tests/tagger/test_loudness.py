"""BS.1770 loudness: the reference tone, gain equivariance, gating, and level gains."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.errors import ParameterError
from tagger.loudness import integrated_loudness, loudness_gain_db, peak_gain_db
from tagger.testing.signals import silence, speech_like


@pytest.mark.parametrize("sample_rate", [16000, 48000])
def test_full_scale_997_hz_tone_reads_minus_3_lufs(sample_rate: int) -> None:
    # BS.1770-4: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS (the K-filter's
    # +0.69 dB at 997 Hz undoing the -0.691 offset); designs for 16 kHz land within 0.1.
    t = np.arange(5 * sample_rate) / sample_rate
    tone = np.sin(2 * np.pi * 997.0 * t)
    assert integrated_loudness(tone, sample_rate=sample_rate) == pytest.approx(-3.01, abs=0.1)
    assert integrated_loudness(0.1 * tone, sample_rate=sample_rate) == pytest.approx(-23.01, abs=0.1)


def test_gating_ignores_silence_and_gains_reach_their_targets() -> None:
    speech = speech_like(4.0, seed=0, level=0.2)
    padded = np.concatenate([speech, silence(8.0)])
    # 8 s of silence after 4 s of speech does not lower the loudness (absolute gate).
    assert integrated_loudness(padded) == pytest.approx(integrated_loudness(speech), abs=0.5)
    gain = loudness_gain_db(speech, target_lufs=-23.0)
    assert integrated_loudness(speech * 10 ** (gain / 20)) == pytest.approx(-23.0, abs=1e-6)
    assert integrated_loudness(silence(2.0)) == float("-inf")
    assert loudness_gain_db(silence(2.0), target_lufs=-23.0) == 0.0
    assert 20 * np.log10(np.abs(speech).max()) + peak_gain_db(speech, target_dbfs=-1.0) == pytest.approx(-1.0)
    with pytest.raises(ParameterError):
        integrated_loudness(np.zeros((2, 100)))
