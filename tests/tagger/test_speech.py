"""Speech / no-speech decisions on synthetic signals and on corpus speech."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tagger.frontend import analyse_signal
from tagger.testing import signals

NON_SPEECH: dict[str, Callable[[], np.ndarray]] = {
    "silence": lambda: signals.silence(6.0),
    "tone_440": lambda: signals.tone(6.0, freq_hz=440.0),
    "tone_120": lambda: signals.tone(6.0, freq_hz=120.0),
    "quiet_tone": lambda: signals.tone(6.0, freq_hz=220.0, amplitude=0.01),
    "white_noise": lambda: signals.white_noise(6.0, amplitude=0.1),
    "loud_white_noise": lambda: signals.white_noise(6.0, amplitude=0.5, seed=3),
    "pink_noise": lambda: signals.pink_noise(6.0, amplitude=0.1),
    "loud_pink_noise": lambda: signals.pink_noise(6.0, amplitude=0.5, seed=2),
}
SPEECH: dict[str, Callable[[], np.ndarray]] = {
    "babble_140hz": lambda: signals.speech_like(6.0, seed=0),
    "quiet_babble_220hz": lambda: signals.speech_like(6.0, seed=3, f0_hz=220.0, level=0.05),
    "babble_in_white_noise": lambda: (
        signals.speech_like(6.0, seed=5) + signals.white_noise(6.0, amplitude=0.003)
    ),
    "babble_in_pink_noise": lambda: (
        signals.speech_like(6.0, seed=7) + signals.pink_noise(6.0, amplitude=0.01)
    ),
}


@pytest.mark.parametrize("name", sorted(NON_SPEECH))
def test_non_speech_windows_are_marked_no_speech(name: str) -> None:
    batch = analyse_signal(NON_SPEECH[name]())
    assert batch is not None
    assert not batch.is_speech.any()


@pytest.mark.parametrize("name", sorted(SPEECH))
def test_speech_like_windows_are_speech(name: str) -> None:
    batch = analyse_signal(SPEECH[name]())
    assert batch is not None
    assert batch.is_speech.mean() >= 0.8


def test_speech_then_silence_is_split_in_time() -> None:
    y = np.concatenate([signals.speech_like(4.0, seed=9), signals.silence(6.0)])
    batch = analyse_signal(y)
    assert batch is not None
    assert batch.is_speech[batch.end_s <= 4.0].all()
    assert not batch.is_speech[batch.start_s >= 4.0].any()


def test_corpus_clips_are_speech(corpus: Path) -> None:
    manifest = pd.read_csv(corpus / "manifest.tsv", sep="\t")
    sample = manifest.groupby("emotion").sample(n=5, random_state=0)
    clip_has_speech = []
    for relative in sample["path"]:
        y, rate = sf.read(corpus / relative, dtype="float32")
        batch = analyse_signal(y, sample_rate=rate)
        assert batch is not None
        clip_has_speech.append(bool(batch.is_speech.any()))
    assert np.mean(clip_has_speech) >= 0.95


def test_percentile_spread_is_numpys_nanpercentile_per_row() -> None:
    from tagger.speech import _masked_percentile_spread

    rng = np.random.default_rng(4)
    values = (rng.standard_normal((200, 300)) * rng.uniform(0.1, 40.0, (200, 1))).astype(np.float32)
    mask = rng.random((200, 300)) < rng.uniform(0.0, 1.0, (200, 1))
    mask[:5] = False
    mask[5, :1] = True  # one value: no spread
    mask[6, :2] = True
    ours = _masked_percentile_spread(values, mask)
    masked = np.where(mask, values, np.nan)
    for row in range(values.shape[0]):
        if mask[row].sum() < 2:
            assert ours[row] == 0.0
        else:
            high, low = np.nanpercentile(masked[row], [90.0, 10.0])
            assert ours[row] == pytest.approx(float(high - low), rel=1e-6, abs=1e-5)  # float32 rounding
