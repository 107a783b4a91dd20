"""Frame features and window aggregates: shapes, chunking invariance, physical sense."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagger.features import (
    SILENCE_DB,
    FeatureConfig,
    FrameColumns,
    FrameFeaturizer,
    FrameStream,
    aggregate_windows,
    frame_feature_names,
    frame_features,
    mel_filterbank,
    mfcc_from_logmel,
    power_to_db,
    silence_frame,
    window_feature_names,
)
from tagger.frontend import resample
from tagger.model import window_inputs
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


def test_each_pass_of_frames_is_analysed_once_however_small_the_chunks() -> None:
    y = signals.speech_like(8.0, seed=3)  # 800 frames: passes of 256 frames, the last partial
    passes: list[np.ndarray] = []
    stream = FrameStream(
        frame_length=400,
        hop_length=160,
        n_columns=1,
        analyse=lambda block: passes.append(block) or block[:, :1].copy(),
    )
    rows = [stream.push(block) for block in np.array_split(y, 97)]  # ~13 ms chunks
    assert all(len(r) % 256 == 0 for r in rows)  # whole passes only until the end
    rows.append(stream.finish())
    assert len(passes) == -(-800 // 256)
    padded = np.concatenate([np.zeros(200, dtype=np.float32), y, np.zeros(200, dtype=np.float32)])
    assert np.array_equal(np.concatenate(rows)[:, 0], padded[::160][:800])  # each frame's first sample


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
    assert row[COLS.rms_db] == pytest.approx(SILENCE_DB)
    assert np.all(row[COLS.logmel] == pytest.approx(SILENCE_DB))
    assert row[COLS.f0] == 0.0
    assert row[COLS.voicing] == 0.0


@pytest.mark.parametrize("gain_db", [-30.0, -45.0])
def test_a_gain_moves_levels_only(gain_db: float) -> None:
    """A gain of g dB adds g to rms_db and to every log-mel band that stays clear of the
    silence floor, and leaves voicing and f0 as they were, down to frames at -125 dBFS."""
    y = signals.speech_like(4.0, seed=6) + signals.pink_noise(4.0, amplitude=1e-4, seed=7)
    before = frame_features(y)
    after = frame_features(y * np.float32(10 ** (gain_db / 20)))
    levels = [COLS.rms_db, *range(COLS.logmel.start, COLS.logmel.stop)]
    clear = before[:, levels] > SILENCE_DB - gain_db + 10.0
    assert clear.mean() > 0.5
    np.testing.assert_allclose((after[:, levels] - before[:, levels])[clear], gain_db, atol=0.05)
    np.testing.assert_allclose(after[:, COLS.voicing], before[:, COLS.voicing], atol=1e-4)
    assert np.mean(after[:, COLS.f0] == before[:, COLS.f0]) >= 0.999
    assert np.mean(after[:, COLS.rms_db] < -100.0) > 0.05  # frames a -100 dB floor would lose


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


# --- Equivalence with librosa, which the shipped model's features were computed with ---
# tagger.features reimplements librosa's mel filterbank, power_to_db and MFCC (so the
# inference path never imports librosa/numba); these pin the numbers to librosa's.
# Tolerances measured on the signals below (projections are float32 matrix products, so
# sums run in a different order): log-mel ≤ 2e-5 dB, MFCC ≤ 2e-4, centroid and bandwidth
# ≤ 1.3e-2 Hz (6e-6 relative at 2.3 kHz); asserted with margin.
LOGMEL_TOL_DB = 1e-4
MFCC_TOL = 1e-3
SHAPE_TOL_HZ = 5e-2


def test_mel_filterbank_is_librosas() -> None:
    import librosa

    cfg = FeatureConfig()
    ours = mel_filterbank(
        sample_rate=cfg.sample_rate,
        n_fft=cfg.n_fft,
        n_mels=cfg.n_mels,
        fmin_hz=cfg.fmin_hz,
        fmax_hz=cfg.fmax_hz,
    )
    theirs = librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin_hz, fmax=cfg.fmax_hz
    ).astype(np.float32)
    assert ours.dtype == np.float32
    assert np.array_equal(ours, theirs)


def test_power_to_db_and_mfcc_are_librosas() -> None:
    import librosa

    rng = np.random.default_rng(11)
    power = (rng.random((500, 64)) ** 6).astype(np.float32)
    power[:5] = 0.0  # digital silence hits the floor
    logmel = power_to_db(power)
    assert np.array_equal(
        logmel, librosa.power_to_db(power, ref=1.0, amin=10 ** (SILENCE_DB / 10), top_db=None)
    )
    theirs = librosa.feature.mfcc(S=logmel.T, n_mfcc=20).T
    assert np.max(np.abs(mfcc_from_logmel(logmel, n_mfcc=20) - theirs)) <= 1e-5


def librosa_reference(y: np.ndarray) -> np.ndarray:
    """Frame features as computed before librosa left the inference path: log-mel via
    ``librosa.filters.mel`` + dense product + ``librosa.power_to_db``, MFCC via
    ``librosa.feature.mfcc``, centroid/bandwidth as L1-normalised magnitude moments.
    The other columns (rms, zcr, roll-off, flatness, voicing, f0) come from code that
    did not change and are taken from :func:`frame_features`."""
    import librosa
    import scipy.fft
    from numpy.lib.stride_tricks import sliding_window_view

    cfg = FeatureConfig()
    ours = frame_features(y)
    half = cfg.frame_length // 2
    padded = np.pad(np.asarray(y, dtype=np.float32), (half, half + cfg.hop_length))
    frames = sliding_window_view(padded, cfg.frame_length)[:: cfg.hop_length][: ours.shape[0]]
    window = np.hanning(cfg.frame_length + 2)[1:-1].astype(np.float32)
    spectrum = scipy.fft.rfft(frames * window, n=cfg.n_fft, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    magnitude = np.sqrt(power)
    basis = librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin_hz, fmax=cfg.fmax_hz
    ).astype(np.float32)
    logmel = librosa.power_to_db(
        np.einsum("tf,mf->tm", power, basis), ref=1.0, amin=10 ** (SILENCE_DB / 10), top_db=None
    )
    freqs = np.fft.rfftfreq(cfg.n_fft, d=1.0 / cfg.sample_rate).astype(np.float32)
    total = magnitude.sum(axis=1, dtype=np.float64)
    weights = magnitude / np.where(total > 0, total, 1.0)[:, None].astype(np.float32)
    centroid = weights @ freqs
    bandwidth = np.sqrt(np.einsum("tf,tf->t", weights, (freqs[None, :] - centroid[:, None]) ** 2))
    reference = ours.copy()
    reference[:, COLS.logmel] = logmel
    reference[:, COLS.mfcc] = librosa.feature.mfcc(S=logmel.T, n_mfcc=cfg.n_mfcc).T
    reference[:, COLS.centroid] = centroid
    reference[:, COLS.bandwidth] = bandwidth
    return reference


def realistic_signals() -> dict[str, np.ndarray]:
    """Seeded speech-like babble in noise, a tone, and a few RAVDESS clips when present."""
    found = {
        "speech_like": signals.speech_like(12.0, seed=21) + signals.pink_noise(12.0, amplitude=0.01, seed=22),
        "tone": signals.tone(3.0, freq_hz=220.0),
    }
    corpus = Path("/work/shared/corpora/ravdess/audio")
    if corpus.is_dir():
        import soundfile

        for clip in sorted(corpus.glob("Actor_0[1-2]/*.flac"))[::30][:3]:
            samples, rate = soundfile.read(clip, dtype="float32", always_2d=True)
            found[clip.name] = resample(samples.mean(axis=1), orig_sr=rate, target_sr=16_000)
    return found


@pytest.mark.parametrize("name", list(realistic_signals()))
def test_frame_features_match_librosa_and_model_input_is_unchanged(name: str) -> None:
    y = realistic_signals()[name]
    ours, reference = frame_features(y), librosa_reference(y)
    assert np.max(np.abs(ours[:, COLS.logmel] - reference[:, COLS.logmel])) <= LOGMEL_TOL_DB
    assert np.max(np.abs(ours[:, COLS.mfcc] - reference[:, COLS.mfcc])) <= MFCC_TOL
    for column in (COLS.centroid, COLS.bandwidth):
        assert np.max(np.abs(ours[:, column] - reference[:, column])) <= SHAPE_TOL_HZ
    # The shipped model's input, on 3 s windows of these frames.
    n_windows = ours.shape[0] // 300
    assert n_windows >= 1
    shape = (n_windows, 300, ours.shape[1])
    for input_name in ("melscal", "logmel", "frames"):
        new = window_inputs(input_name, frames=ours[: n_windows * 300].reshape(shape), features=np.zeros(1))
        old = window_inputs(
            input_name, frames=reference[: n_windows * 300].reshape(shape), features=np.zeros(1)
        )
        # The inputs hold MFCCs (|c| up to ~50) and spectral shape in Hz: the column
        # tolerances above apply, as absolute and as relative (shape 5e-2 Hz at ~1 kHz).
        np.testing.assert_allclose(new, old, rtol=5e-5, atol=MFCC_TOL)
