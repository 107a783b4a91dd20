"""Per-window content class (speech / music / other) from frame features.

Speech and music are both voiced and loud; what tells them apart is *how* they move:
speech swings its level at the syllable rate (3–8 Hz) with pauses between words and
its pitch glides, while music sustains its level, holds notes at a steady pitch, and
repeats onsets at a beat. A small multinomial logistic regression over such window
statistics (weights in ``tagger/models/content_gate.json``) makes the call.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.errors import ConfigError, ModelError, ParameterError
from tagger.features import (
    SILENCE_DB,
    FeatureConfig,
    FrameColumns,
    level_floor_db,
    loud_level_db,
    masked_quantile,
    valid_frames,
)

__all__ = [
    "CONTENT_CLASSES",
    "CONTENT_FEATURES",
    "ContentConfig",
    "ContentGate",
    "audible_s",
    "classify_content",
    "content_features",
    "decide_content",
    "load_content_gate",
]

CONTENT_CLASSES: tuple[str, ...] = ("speech", "music", "other")
"""Content labels, in the order of the gate's probability columns."""

CONTENT_FEATURES: tuple[str, ...] = (
    "voiced_fraction",  # share of frames that are voiced with a continuous pitch
    "voicing_mean",  # mean periodicity of audible frames
    "level_spread_db",  # 90th - 10th percentile of frame level (dB)
    "low_energy_fraction",  # share of frames 10 dB or more below the window's loud level
    "syllabic_modulation",  # share of level-envelope modulation power at 3-8 Hz
    "modulation_depth_db",  # RMS of the 3-8 Hz band of the level envelope (dB)
    "flux_mean_db",  # mean frame-to-frame log-mel change (dB per band)
    "flux_cv",  # its coefficient of variation
    "onset_periodicity",  # autocorrelation peak of the onset envelope at 0.25-1.5 s lags
    "pitch_step_st",  # mean |pitch change| between voiced neighbours (semitones / 10 ms)
    "note_fraction",  # share of voiced frames in held notes (150 ms within 0.6 semitone)
    "voiced_run_s",  # mean length of voiced runs (log seconds)
    "f0_range_st",  # 90th - 10th percentile of voiced pitch (semitones)
    "log_centroid",  # mean log2 spectral centroid (octaves re 1 kHz) of audible frames
    "log_bandwidth",  # mean log2 spectral bandwidth (octaves re 1 kHz)
    "log_flatness",  # mean log10 spectral flatness
    "zcr_std",  # std of the zero-crossing rate
    "spectral_sustain",  # mean correlation of consecutive log-mel frames
)
"""Columns of :func:`content_features`, in order."""

_DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "models" / "content_gate.json"
_FRAME_RATE_HZ = 100.0
_NOTE_FRAMES = 15  # 150 ms
_NOTE_RANGE_ST = 0.6  # pitch range of a held note; one lag step at 400 Hz is 0.43 st


@dataclass(frozen=True)
class ContentConfig:
    """Settings of the content gate.

    A window with less than ``min_audible_s`` seconds of *audible* frames is ``other``
    whatever the classifier says (silence carries no content): frames within
    ``level_range_db`` dB of the window's loud level (:func:`tagger.features.loud_level_db`)
    and above ``min_level_db`` dBFS, a guard against digital silence (:func:`audible_s`).
    ``speech`` needs ``p_speech / (p_speech + p_music) >= min_speech_vs_music`` and
    ``p_speech / (p_speech + p_other) >= min_speech_vs_other``: two thresholds, because
    letting music through costs more than losing a window of speech in noise (measured
    trade-offs in ``docs/speech.md``). Otherwise the window is ``music`` or ``other``,
    whichever is more probable. ``weights`` is the JSON file of the trained gate.
    """

    level_range_db: float = 40.0
    min_level_db: float = -100.0
    min_audible_s: float = 0.3
    min_speech_vs_music: float = 0.6
    min_speech_vs_other: float = 0.3
    weights: Path = _DEFAULT_WEIGHTS

    def __post_init__(self) -> None:
        for name in ("min_speech_vs_music", "min_speech_vs_other"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be within [0, 1]")
        if self.min_audible_s < 0:
            raise ConfigError("min_audible_s must be >= 0")


@dataclass(frozen=True)
class ContentGate:
    """A multinomial logistic regression over standardised :data:`CONTENT_FEATURES`:
    ``mean``/``scale`` ``(n_features,)``, ``coef`` ``(n_classes, n_features)``,
    ``intercept`` ``(n_classes,)``, classes in :data:`CONTENT_CLASSES` order."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def probabilities(self, window_features: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n_windows, 3)`` of features ``(n_windows, n_features)``."""
        z = (np.asarray(window_features, dtype=np.float64) - self.mean) / self.scale
        logits = z @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        probs: np.ndarray = odds / odds.sum(axis=1, keepdims=True)
        return probs

    def to_json(self) -> dict[str, object]:
        return {
            "classes": list(CONTENT_CLASSES),
            "features": list(CONTENT_FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }


@functools.cache
def load_content_gate(path: Path = _DEFAULT_WEIGHTS) -> ContentGate:
    """Read a gate written by :meth:`ContentGate.to_json`; checks classes and features."""
    try:
        spec = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read content gate {path}: {exc}") from exc
    if (
        tuple(spec.get("classes", ())) != CONTENT_CLASSES
        or tuple(spec.get("features", ())) != CONTENT_FEATURES
    ):
        raise ModelError(f"content gate {path} was trained for other classes or features")
    gate = ContentGate(
        mean=np.asarray(spec["mean"], dtype=np.float64),
        scale=np.asarray(spec["scale"], dtype=np.float64),
        coef=np.asarray(spec["coef"], dtype=np.float64),
        intercept=np.asarray(spec["intercept"], dtype=np.float64),
    )
    n = len(CONTENT_FEATURES)
    if gate.coef.shape != (len(CONTENT_CLASSES), n) or gate.mean.shape != (n,) or gate.scale.shape != (n,):
        raise ModelError(f"content gate {path}: weights have the wrong shape")
    return gate


def classify_content(
    frames: np.ndarray,
    n_valid: np.ndarray,
    *,
    features: FeatureConfig = FeatureConfig(),
    config: ContentConfig = ContentConfig(),
    voiced: np.ndarray | None = None,
) -> np.ndarray:
    """Content class per window, ``(n_windows,)`` array of str from :data:`CONTENT_CLASSES`.

    ``frames``: ``(n_windows, frames_per_window, n_frame_features)`` frame features of
    :func:`tagger.features.frame_features`; the first ``n_valid[w]`` rows of window
    ``w`` hold audio. ``voiced`` ``(n_windows,)`` bool, when given, is a veto: a window
    it marks False is never speech (the front end passes
    :func:`tagger.speech.detect_speech`, which keeps noise out).
    """
    window_features = content_features(frames, n_valid, features=features)
    probs = load_content_gate(config.weights).probabilities(window_features)
    allowed = np.ones(len(probs), dtype=bool) if voiced is None else np.asarray(voiced, dtype=bool)
    audible = audible_s(frames, n_valid, features=features, config=config)
    return decide_content(probs, audible_s=audible, speech_allowed=allowed, config=config)


def audible_s(
    frames: np.ndarray,
    n_valid: np.ndarray,
    *,
    features: FeatureConfig = FeatureConfig(),
    config: ContentConfig = ContentConfig(),
) -> np.ndarray:
    """Audible seconds per window, ``(n_windows,)`` float64: how long each window's valid
    frames (the first ``n_valid[w]`` of ``frames`` ``(n_windows, n_frames, n_frame_features)``)
    stay at or above :func:`tagger.features.level_floor_db` (``config.level_range_db``
    below the window's loud level, ``config.min_level_db`` dBFS at the least)."""
    valid = valid_frames(frames, n_valid)
    level = frames[:, :, FrameColumns(features).rms_db]
    floor = level_floor_db(level, valid, range_db=config.level_range_db, guard_db=config.min_level_db)
    frame_s = features.hop_length / features.sample_rate
    seconds: np.ndarray = (valid & (level >= floor[:, None])).sum(axis=1) * frame_s
    return seconds


def decide_content(
    probs: np.ndarray,
    *,
    audible_s: np.ndarray,
    speech_allowed: np.ndarray,
    config: ContentConfig = ContentConfig(),
) -> np.ndarray:
    """Content class per window from gate probabilities ``(n_windows, 3)``, audible
    seconds ``(n_windows,)`` and a speech veto ``(n_windows,)`` bool (False: not speech)."""
    p_speech, p_music, p_other = (np.asarray(probs)[:, i] for i in range(3))
    speech = (
        speech_allowed
        & (p_speech >= config.min_speech_vs_music * np.maximum(p_speech + p_music, 1e-12))
        & (p_speech >= config.min_speech_vs_other * np.maximum(p_speech + p_other, 1e-12))
    )
    music = p_music >= p_other
    labels = np.where(speech, "speech", np.where(music, "music", "other"))
    decided: np.ndarray = np.where(audible_s >= config.min_audible_s, labels, "other")
    return decided


def content_features(
    frames: np.ndarray, n_valid: np.ndarray, *, features: FeatureConfig = FeatureConfig()
) -> np.ndarray:
    """Speech-vs-music statistics per window, ``(n_windows, len(CONTENT_FEATURES))`` float64.

    Computed from frame features ``(n_windows, frames_per_window, n_frame_features)``
    (10 ms frames) of which the first ``n_valid[w]`` are audio. Every column depends on
    level differences, never on absolute level, so a gain change moves nothing but the
    frames that cross the silence floor.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise ParameterError(f"frames must be (n_windows, frames, features), got {frames.shape}")
    cols = FrameColumns(features)
    n_windows, n_frames, _ = frames.shape
    valid = valid_frames(frames, n_valid)
    n_valid_f = np.maximum(valid.sum(axis=1), 1).astype(np.float64)
    level = frames[:, :, cols.rms_db].astype(np.float64)
    loud = loud_level_db(level, valid)
    # Everything more than 50 dB below the window's loud level is the floor.
    floor = np.maximum(loud - 50.0, SILENCE_DB)
    level_floored = np.maximum(level, floor[:, None])
    audible = valid & (level > floor[:, None])
    n_audible = np.maximum(audible.sum(axis=1), 1).astype(np.float64)

    semitones = 12.0 * np.log2(np.maximum(frames[:, :, cols.f0].astype(np.float64), 1.0))
    voiced = audible & (frames[:, :, cols.f0] > 0) & (frames[:, :, cols.flatness] <= 0.3)
    step = np.abs(np.diff(semitones, axis=1))
    pair = voiced[:, 1:] & voiced[:, :-1] & (step <= 1.0)
    continuous = np.zeros_like(voiced)
    continuous[:, 1:] |= pair
    continuous[:, :-1] |= pair
    voiced = continuous
    voiced_fraction = voiced.sum(axis=1) / n_valid_f
    voicing_mean = (np.where(audible, frames[:, :, cols.voicing], 0.0)).sum(axis=1) / n_audible

    level_spread = masked_quantile(level_floored, valid, 0.9) - masked_quantile(level_floored, valid, 0.1)
    low_energy = (valid & (level_floored < loud[:, None] - 10.0)).sum(axis=1) / n_valid_f

    # Level envelope modulation spectrum over the valid frames (zero-mean, zero-padded).
    envelope = np.where(valid, level_floored - _masked_mean(level_floored, valid)[:, None], 0.0)
    n_fft = 512
    spectrum = np.abs(np.fft.rfft(envelope, n=n_fft, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / _FRAME_RATE_HZ)
    syllabic = (freqs >= 3.0) & (freqs <= 8.0)
    modulated = (freqs >= 0.5) & (freqs <= 20.0)
    syllabic_power = spectrum[:, syllabic].sum(axis=1)
    syllabic_share = syllabic_power / np.maximum(spectrum[:, modulated].sum(axis=1), 1e-9)
    # Parseval: band power -> RMS of the band-passed envelope in dB.
    depth_db = np.sqrt(2.0 * syllabic_power / n_fft / n_valid_f)

    # Spectral flux over log-mel floored 80 dB below the window's loudest band.
    # float32 and einsum reductions: these (n_windows, n_frames, n_mels) passes are most
    # of the gate's cost.
    logmel = np.asarray(frames[:, :, cols.logmel], dtype=np.float32)
    mel_peak = np.max(np.where(valid, logmel.max(axis=2), np.float32(-np.inf)), axis=1)
    logmel = np.maximum(logmel, (np.maximum(mel_peak, SILENCE_DB) - 80.0).astype(np.float32)[:, None, None])
    change = np.diff(logmel, axis=1)
    pair_valid = valid[:, 1:] & valid[:, :-1]
    n_pairs = np.maximum(pair_valid.sum(axis=1), 1).astype(np.float64)
    flux = np.sqrt(np.einsum("wtb,wtb->wt", change, change) / logmel.shape[2]).astype(np.float64)
    flux_mean = np.where(pair_valid, flux, 0.0).sum(axis=1) / n_pairs
    flux_var = np.where(pair_valid, (flux - flux_mean[:, None]) ** 2, 0.0).sum(axis=1) / n_pairs
    flux_cv = np.sqrt(flux_var) / np.maximum(flux_mean, 1e-6)
    onset = np.where(pair_valid, np.maximum(change, np.float32(0.0), out=change).mean(axis=2), 0.0)
    onset_periodicity = _periodicity(onset, pair_valid, min_lag=25, max_lag=150)
    centred = np.subtract(logmel, logmel.mean(axis=2, keepdims=True), out=logmel)
    norms = np.sqrt(np.einsum("wtb,wtb->wt", centred, centred)).astype(np.float64)
    products = np.einsum("wtb,wtb->wt", centred[:, 1:], centred[:, :-1]).astype(np.float64)
    correlation = products / np.maximum(norms[:, 1:] * norms[:, :-1], 1e-9)
    sustain = np.where(pair_valid & audible[:, 1:], correlation, 0.0).sum(axis=1) / np.maximum(
        (pair_valid & audible[:, 1:]).sum(axis=1), 1
    )

    # Pitch behaviour: speech glides, notes hold.
    # Mean, not median: f0 comes from integer lags, so steps are quantised.
    pitch_step = np.where(pair, step, 0.0).sum(axis=1) / np.maximum(pair.sum(axis=1), 1)
    note_frames = _held_notes(semitones, voiced, span=_NOTE_FRAMES, max_range_st=_NOTE_RANGE_ST)
    n_voiced = np.maximum(voiced.sum(axis=1), 1).astype(np.float64)
    note_fraction = note_frames.sum(axis=1) / n_voiced
    run_lengths = _mean_run_length(voiced) / _FRAME_RATE_HZ
    voiced_run = np.log(np.maximum(run_lengths, 0.01))
    f0_range = masked_quantile(semitones, voiced, 0.9) - masked_quantile(semitones, voiced, 0.1)

    def audible_mean(values: np.ndarray) -> np.ndarray:
        mean: np.ndarray = np.where(audible, values, 0.0).sum(axis=1) / n_audible
        return mean

    log_centroid = audible_mean(np.log2(np.maximum(frames[:, :, cols.centroid], 1.0) / 1000.0))
    log_bandwidth = audible_mean(np.log2(np.maximum(frames[:, :, cols.bandwidth], 1.0) / 1000.0))
    log_flatness = audible_mean(np.log10(np.maximum(frames[:, :, cols.flatness], 1e-6)))
    zcr = frames[:, :, cols.zcr].astype(np.float64)
    zcr_mean = audible_mean(zcr)
    zcr_std = np.sqrt(audible_mean((zcr - zcr_mean[:, None]) ** 2))

    out = np.stack(
        [
            voiced_fraction,
            voicing_mean,
            np.minimum(level_spread, 60.0),
            low_energy,
            syllabic_share,
            depth_db,
            flux_mean,
            np.minimum(flux_cv, 5.0),
            onset_periodicity,
            pitch_step,
            note_fraction,
            voiced_run,
            np.minimum(f0_range, 24.0),
            log_centroid,
            log_bandwidth,
            log_flatness,
            zcr_std,
            sustain,
        ],
        axis=1,
    )
    assert out.shape == (n_windows, len(CONTENT_FEATURES)), n_frames
    return out


def _held_notes(semitones: np.ndarray, voiced: np.ndarray, *, span: int, max_range_st: float) -> np.ndarray:
    """Frames ``(n_windows, n_frames)`` bool inside some stretch of ``span`` voiced frames
    whose pitch stays within ``max_range_st`` semitones: a held note. A speech syllable
    glides through more than that; a sung or played note does not."""
    n_frames = voiced.shape[1]
    if n_frames < span:
        return np.zeros_like(voiced)
    n_starts = n_frames - span + 1
    counts = np.cumsum(np.pad(voiced.astype(np.int32), ((0, 0), (1, 0))), axis=1)
    runs = counts[:, span:] - counts[:, :n_starts] == span  # all voiced, (w, n_starts)
    high = _sliding_extreme(semitones, span, np.maximum)
    low = _sliding_extreme(semitones, span, np.minimum)
    held = runs & (high - low <= max_range_st)  # (w, n_starts): frames start..start+span-1
    # A frame is in a held note when a held stretch starts in [frame - span + 1, frame].
    started = np.cumsum(np.pad(held.astype(np.int32), ((0, 0), (1, 0))), axis=1)
    frame = np.arange(n_frames)
    last_start = np.minimum(frame, n_starts - 1) + 1
    first_start = np.maximum(frame - span + 1, 0)
    out: np.ndarray = started[:, last_start] - started[:, first_start] > 0
    return out


def _sliding_extreme(values: np.ndarray, span: int, extreme: np.ufunc) -> np.ndarray:
    """``extreme`` (np.maximum or np.minimum) of every ``span`` consecutive values in
    each row ``(w, n)`` -> ``(w, n - span + 1)``: windows of doubling width, then two
    overlapping ones of the largest width that fits (log2(span) passes, exact)."""
    n_out = values.shape[1] - span + 1
    result, width = values, 1
    while width * 2 <= span:
        result = extreme(result[:, :-width], result[:, width:])
        width *= 2
    combined: np.ndarray = extreme(result[:, :n_out], result[:, span - width : span - width + n_out])
    return combined


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    mean: np.ndarray = np.where(mask, values, 0.0).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
    return mean


def _periodicity(envelope: np.ndarray, mask: np.ndarray, *, min_lag: int, max_lag: int) -> np.ndarray:
    """Highest normalised autocorrelation of ``envelope`` rows at lags ``[min_lag, max_lag]``
    frames (a beat between 40 and 240 per minute gives a clear peak)."""
    centred = np.where(mask, envelope - _masked_mean(envelope, mask)[:, None], 0.0)
    n_fft = 1024
    spectrum = np.fft.rfft(centred, n=n_fft, axis=1)
    acf = np.fft.irfft(np.abs(spectrum) ** 2, n=n_fft, axis=1)
    energy = np.maximum(acf[:, 0], 1e-12)
    n = mask.sum(axis=1)
    lags = np.arange(min_lag, max_lag + 1)
    # Unbiased: divide by the number of overlapping frames, so long lags are not penalised.
    overlap = np.maximum(n[:, None] - lags[None, :], 1).astype(np.float64)
    normalised = (acf[:, lags] / overlap) / (energy / np.maximum(n, 1))[:, None]
    normalised = np.where(overlap >= 50, normalised, 0.0)  # too few frames to trust
    peak: np.ndarray = np.clip(normalised.max(axis=1), 0.0, 1.0)
    return peak


def _mean_run_length(mask: np.ndarray) -> np.ndarray:
    """Mean length (frames) of the runs of True per row ``(n_windows, n_frames)``; 0 where
    none: the row's True count over its number of runs (rising edges)."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 0)))
    n_runs = (np.diff(padded, axis=1) == 1).sum(axis=1)
    count = mask.sum(axis=1)
    mean: np.ndarray = np.where(n_runs > 0, count / np.maximum(n_runs, 1), 0.0)
    return mean
