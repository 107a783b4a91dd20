"""Speech / no-speech decisions on synthetic signals and on corpus speech."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tagger.frontend import analyse_signal
from tagger.model_inputs import level_free_mel_scalar_steps
from tagger.speech import voiced_frames
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


@pytest.mark.parametrize("gain_db", [-30.0, -40.0])
def test_quiet_speech_gets_the_same_decisions(gain_db: float) -> None:
    """Speech 30-40 dB down (about -65 dBFS RMS, where a -70 dBFS floor lost it) keeps
    its voiced frames, speech flags, content classes and model input: every level test
    is relative to the window's loud level."""
    y = signals.speech_like(8.0, seed=2) + signals.pink_noise(8.0, amplitude=0.002, seed=3)
    loud = analyse_signal(y)
    quiet = analyse_signal(y * np.float32(10 ** (gain_db / 20)))
    assert loud is not None and quiet is not None
    assert loud.is_speech.all()
    np.testing.assert_array_equal(
        voiced_frames(quiet.frames, quiet.n_valid_frames), voiced_frames(loud.frames, loud.n_valid_frames)
    )
    np.testing.assert_array_equal(quiet.content, loud.content)
    np.testing.assert_array_equal(quiet.voiced_s, loud.voiced_s)
    # Rounding may move a frame's roll-off by one bin (15.6 Hz, 3.9 Hz in a 40 ms step).
    np.testing.assert_allclose(
        level_free_mel_scalar_steps(quiet.frames),
        level_free_mel_scalar_steps(loud.frames),
        rtol=1e-2,
        atol=1e-2,
    )


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
