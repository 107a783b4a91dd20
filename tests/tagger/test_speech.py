"""Speech / no-speech decisions on synthetic signals and on corpus speech."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tagger.features import FeatureConfig, FrameColumns
from tagger.frontend import FrontEndConfig, analyse_signal
from tagger.model_inputs import level_free_mel_scalar_steps
from tagger.speech import foreground_frames, voiced_frames, voiced_s_per_block
from tagger.testing import signals
from tagger.training.augment import mix_at_snr

# The voicing detector and the feature gate on their own: synthetic "speech" (a buzz with
# formants) is music to the AudioSet network, which tests/tagger/audioset checks on real speech.
FEATURE_GATE = FrontEndConfig(gate="features")

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
    batch = analyse_signal(NON_SPEECH[name](), config=FEATURE_GATE)
    assert batch is not None
    assert not batch.is_speech.any()


@pytest.mark.parametrize("name", sorted(SPEECH))
def test_speech_like_windows_are_speech(name: str) -> None:
    batch = analyse_signal(SPEECH[name](), config=FEATURE_GATE)
    assert batch is not None
    assert batch.is_speech.mean() >= 0.8


def test_speech_then_silence_is_split_in_time() -> None:
    y = np.concatenate([signals.speech_like(4.0, seed=9), signals.silence(6.0)])
    batch = analyse_signal(y, config=FEATURE_GATE)
    assert batch is not None
    assert batch.is_speech[batch.end_s <= 4.0].all()
    assert not batch.is_speech[batch.start_s >= 4.0].any()


@pytest.mark.parametrize("gain_db", [-30.0, -40.0])
def test_quiet_speech_gets_the_same_decisions(gain_db: float) -> None:
    """Speech 30-40 dB down (about -65 dBFS RMS, where a -70 dBFS floor lost it) keeps
    its voiced frames, speech flags, content classes and model input: every level test
    is relative to the window's loud level."""
    y = signals.speech_like(8.0, seed=2) + signals.pink_noise(8.0, amplitude=0.002, seed=3)
    loud = analyse_signal(y, config=FEATURE_GATE)
    quiet = analyse_signal(y * np.float32(10 ** (gain_db / 20)), config=FEATURE_GATE)
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
        batch = analyse_signal(y, sample_rate=rate, config=FEATURE_GATE)
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


def _block_seconds(start_s: np.ndarray, n_blocks: int) -> np.ndarray:
    """Start (s) of each 1 s block of windows starting at ``start_s``, ``(n_windows, n_blocks)``."""
    starts: np.ndarray = start_s[:, None] + np.arange(n_blocks)[None, :]
    return starts


def test_over_room_tone_every_voiced_frame_is_foreground() -> None:
    """Clean speech: the window's floor is room tone, far below any voice, so the pause
    rule sees (nearly) every voiced frame, and nothing that is not voiced."""
    rng = np.random.default_rng(11)
    y = np.concatenate(
        [signals.speech_like(5.0, seed=3), signals.silence(3.0), signals.speech_like(5.0, seed=4)]
    )
    y = y + rng.normal(0.0, 3e-4, y.size).astype(np.float32)  # room tone, -70 dBFS
    batch = analyse_signal(y, config=FEATURE_GATE)
    assert batch is not None
    voiced = voiced_frames(batch.frames, batch.n_valid_frames)
    foreground = foreground_frames(batch.frames, batch.n_valid_frames, voiced)
    assert not (foreground & ~voiced).any()
    assert foreground.sum() >= 0.97 * voiced.sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("snr_db", [10.0, 20.0])
def test_the_voice_of_a_music_bed_is_not_foreground_in_a_pause(seed: int, snr_db: float) -> None:
    """Speech, a 3 s pause, speech, all over music (held notes on a beat) ``snr_db`` below
    the speech: the music's voiced frames in the pause are near the windows' floor, so no
    1 s block inside the pause holds foreground voice although every one holds voiced
    frames, while most blocks of speech keep it (the pause rule's 0.05 s)."""
    speech = np.concatenate(
        [
            signals.speech_like(5.0, seed=3 + seed),
            signals.silence(3.0),
            signals.speech_like(5.0, seed=4 + seed, f0_hz=190.0),
        ]
    )
    y = mix_at_snr(speech, signals.music_like(speech.size / 16_000, seed=seed), snr_db=snr_db)
    batch = analyse_signal(y, config=FEATURE_GATE)
    assert batch is not None
    voiced = voiced_frames(batch.frames, batch.n_valid_frames)
    block_start = _block_seconds(batch.start_s, batch.voiced_s.shape[1])
    in_pause = (block_start >= 5.0) & (block_start + 1.0 <= 8.0)
    all_voiced = voiced_s_per_block(voiced, frames_per_block=100, frame_s=0.01)
    assert all_voiced[in_pause].min() >= 0.05  # the bed is voiced: voicing alone sees no pause
    assert batch.voiced_s[in_pause].max() < 0.05  # ... foreground voicing does
    in_speech = (block_start + 1.0 <= 5.0) | (block_start >= 8.0)
    assert np.mean(batch.voiced_s[in_speech] >= 0.05) >= 0.4


def test_a_window_without_audio_has_no_foreground() -> None:
    frames = np.zeros((2, 300, FrameColumns(FeatureConfig()).n_columns), dtype=np.float32)
    voiced = np.ones((2, 300), dtype=bool)
    foreground = foreground_frames(frames, np.array([0, 0]), voiced)
    assert foreground.shape == (2, 300) and not foreground.any()
