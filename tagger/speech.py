"""Per-window speech / no-speech decision from frame features (no model needed).

A window is speech when enough of it is *voiced* (periodic in the 80–400 Hz pitch
range, well above the noise floor, spectrally non-flat) and its level *moves* the
way syllables do. Silence fails the level test, broadband noise the periodicity
test, steady tones and hum the modulation test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tagger.errors import ConfigError
from tagger.features import FeatureConfig, FrameColumns, level_floor_db, valid_frames

__all__ = [
    "SpeechConfig",
    "detect_speech",
    "foreground_frames",
    "speech_evidence",
    "voiced_frames",
    "voiced_s_per_block",
]


@dataclass(frozen=True)
class SpeechConfig:
    """Thresholds of the detector (dB, fractions, seconds, semitones).

    A voiced frame lies within ``level_range_db`` dB of its window's loud level
    (:func:`tagger.features.loud_level_db`) and above ``min_level_db`` dBFS (a guard against
    digital silence, not a level threshold): the decision does not change with a gain
    until the window's loud level nears ``min_level_db + level_range_db``.
    ``min_above_floor_db`` and ``floor_percentile`` say which voiced frames are the
    *foreground* (:func:`foreground_frames`, used to find pauses, not by the detector):
    those at least ``min_above_floor_db`` dB above the window's floor, the
    ``floor_percentile``-th percentile of its frame levels.

    Measured accuracy with these defaults is in ``docs/speech.md``.
    """

    level_range_db: float = 40.0
    min_level_db: float = -100.0
    min_voicing: float = 0.45
    max_flatness: float = 0.30
    min_voiced_fraction: float = 0.10
    min_voiced_s: float = 0.15
    min_level_spread_db: float = 4.0
    min_f0_spread_semitones: float = 0.3
    max_f0_jump_semitones: float = 1.0
    min_above_floor_db: float = 14.0
    floor_percentile: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_voiced_fraction <= 1.0:
            raise ConfigError("min_voiced_fraction must be within [0, 1]")
        if not 0.0 <= self.floor_percentile <= 100.0:
            raise ConfigError("floor_percentile must be within [0, 100]")


@dataclass(frozen=True)
class SpeechEvidence:
    """Per-window quantities the decision is made from, each shape ``(n_windows,)``."""

    voiced_fraction: np.ndarray
    voiced_s: np.ndarray
    level_spread_db: np.ndarray
    f0_spread_semitones: np.ndarray


def speech_evidence(
    frames: np.ndarray,
    n_valid: np.ndarray,
    *,
    features: FeatureConfig = FeatureConfig(),
    config: SpeechConfig = SpeechConfig(),
    voiced: np.ndarray | None = None,
) -> SpeechEvidence:
    """Compute :class:`SpeechEvidence` for frames ``(n_windows, n_frames, n_frame_features)``
    of which the first ``n_valid[w]`` frames of window ``w`` hold audio; ``voiced``: their
    :func:`voiced_frames` when already computed."""
    cols = FrameColumns(features)
    valid = valid_frames(frames, n_valid)
    level = frames[:, :, cols.rms_db]
    semitones = 12.0 * np.log2(np.maximum(frames[:, :, cols.f0], 1.0))
    if voiced is None:
        voiced = voiced_frames(frames, n_valid, features=features, config=config)
    n_voiced = voiced.sum(axis=1)
    frame_s = features.hop_length / features.sample_rate
    voiced_fraction = n_voiced / np.maximum(valid.sum(axis=1), 1)

    # Syllabic movement: spread (10th–90th percentile) of level over audible frames
    # (pauses included: down to 20 dB below the voicing floor).
    floor = level_floor_db(level, valid, range_db=config.level_range_db, guard_db=config.min_level_db)
    audible = valid & (level > floor[:, None] - 20.0)
    level_spread = _masked_percentile_spread(level, audible)
    f0_spread = _masked_percentile_spread(semitones, voiced)
    return SpeechEvidence(
        voiced_fraction=voiced_fraction,
        voiced_s=n_voiced * frame_s,
        level_spread_db=level_spread,
        f0_spread_semitones=f0_spread,
    )


def voiced_frames(
    frames: np.ndarray,
    n_valid: np.ndarray,
    *,
    features: FeatureConfig = FeatureConfig(),
    config: SpeechConfig = SpeechConfig(),
) -> np.ndarray:
    """``(n_windows, n_frames)`` bool: frames that are voiced (periodic, within
    ``config.level_range_db`` of the window's loud level, not spectrally flat) *and*
    continue a pitch from a neighbour within ``config.max_f0_jump_semitones`` (noise throws
    up isolated autocorrelation peaks at random lags; voices glide).
    Padded frames past ``n_valid`` are never voiced."""
    cols = FrameColumns(features)
    valid = valid_frames(frames, n_valid)
    level = frames[:, :, cols.rms_db]
    floor = level_floor_db(level, valid, range_db=config.level_range_db, guard_db=config.min_level_db)
    voiced = (
        valid
        & (level >= floor[:, None])
        & (frames[:, :, cols.voicing] >= config.min_voicing)
        & (frames[:, :, cols.flatness] <= config.max_flatness)
        & (frames[:, :, cols.f0] > 0)
    )
    semitones = 12.0 * np.log2(np.maximum(frames[:, :, cols.f0], 1.0))
    steady = (
        voiced[:, 1:] & voiced[:, :-1] & (np.abs(np.diff(semitones, axis=1)) <= config.max_f0_jump_semitones)
    )
    continuous = np.zeros_like(voiced)
    continuous[:, 1:] |= steady
    continuous[:, :-1] |= steady
    return continuous


def foreground_frames(
    frames: np.ndarray,
    n_valid: np.ndarray,
    voiced: np.ndarray,
    *,
    features: FeatureConfig = FeatureConfig(),
    config: SpeechConfig = SpeechConfig(),
) -> np.ndarray:
    """``(n_windows, n_frames)`` bool: the ``voiced`` frames (:func:`voiced_frames`) whose
    level stands at least ``config.min_above_floor_db`` dB above their window's floor, the
    ``config.floor_percentile``-th percentile of the level (dB) of its first ``n_valid``
    frames.

    A bed under dialogue (a film score, a song, traffic) is the floor of every window it
    runs through, and its own voiced frames (a singer, a held note) sit within a few dB
    of it, while dialogue is mixed well above its bed: in a pause the bed's voice is
    all that is left, and it is not foreground. Over room tone the floor is far below any
    voice, so clean speech keeps all its voiced frames."""
    cols = FrameColumns(features)
    valid = valid_frames(frames, n_valid)
    level = frames[:, :, cols.rms_db].astype(np.float64)
    floor = _masked_percentiles(level, valid, (config.floor_percentile,))[0]
    foreground: np.ndarray = np.asarray(voiced, dtype=bool) & (
        level >= floor[:, None] + config.min_above_floor_db
    )
    return foreground


def voiced_s_per_block(voiced: np.ndarray, *, frames_per_block: int, frame_s: float) -> np.ndarray:
    """Voiced seconds in each ``frames_per_block``-frame block of each window: ``voiced``
    ``(n, n_frames)`` bool -> ``(n, n_frames // frames_per_block)`` float32 (a trailing
    partial block is dropped)."""
    n, n_frames = voiced.shape
    n_blocks = n_frames // frames_per_block
    blocks = voiced[:, : n_blocks * frames_per_block].reshape(n, n_blocks, frames_per_block)
    seconds: np.ndarray = (blocks.sum(axis=2) * frame_s).astype(np.float32)
    return seconds


def detect_speech(
    frames: np.ndarray,
    n_valid: np.ndarray,
    *,
    features: FeatureConfig = FeatureConfig(),
    config: SpeechConfig = SpeechConfig(),
    voiced: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean ``(n_windows,)``: does each window contain speech? ``voiced``: the frames'
    :func:`voiced_frames` when already computed."""
    evidence = speech_evidence(frames, n_valid, features=features, config=config, voiced=voiced)
    return (
        (evidence.voiced_fraction >= config.min_voiced_fraction)
        & (evidence.voiced_s >= config.min_voiced_s)
        & (evidence.level_spread_db >= config.min_level_spread_db)
        & (evidence.f0_spread_semitones >= config.min_f0_spread_semitones)
    )


def _masked_percentiles(values: np.ndarray, mask: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """The ``qs``-th percentiles (linear interpolation, as :func:`numpy.percentile`) of
    ``values[w][mask[w]]`` per row: ``(len(qs), n_rows)`` float64, +inf where a row has no
    value. One sort for all of them; :func:`numpy.nanpercentile` with ``axis`` loops over
    rows in Python when NaNs are present (8-20x slower here)."""
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)  # a row's values first
    counts = mask.sum(axis=1)
    last = np.maximum(counts - 1, 0)
    rows = np.arange(values.shape[0])
    has_values = counts > 0  # the others hold only inf
    result = np.full((len(qs), values.shape[0]), np.inf)
    for i, q in enumerate(qs):
        position = q / 100.0 * last
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, last)
        below = ordered[rows, low][has_values]
        above = ordered[rows, high][has_values]
        result[i, has_values] = below + (position - low)[has_values] * (above - below)
    return result


def _masked_percentile_spread(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """90th minus 10th percentile of ``values[w][mask[w]]`` per row; 0 where < 2 values."""
    high, low = _masked_percentiles(values, mask, (90.0, 10.0))
    with np.errstate(invalid="ignore"):  # rows without values: inf - inf, replaced by 0
        spread: np.ndarray = np.where(mask.sum(axis=1) >= 2, high - low, 0.0)
    return spread
