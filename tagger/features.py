"""Frame features computed once per track, and their per-window aggregates.

Frame ``i`` is centred on sample ``i * hop_length`` and spans ``frame_length``
samples (zeros before the track start and after its end), so a track of ``n``
samples has ``ceil(n / hop_length)`` frames. The streaming
:class:`FrameFeaturizer` carries the tail between chunks: its output does not
depend on how the track was chunked. Windows then *aggregate* frame rows
(:func:`aggregate_windows`), so overlapping windows never recompute a spectrum.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft
import threadpoolctl
from numpy.lib.stride_tricks import sliding_window_view

from tagger.constants import SAMPLE_RATE
from tagger.errors import ConfigError, ParameterError, UsageError

__all__ = [
    "SILENCE_DB",
    "FeatureConfig",
    "FrameFeaturizer",
    "FrameStream",
    "aggregate_windows",
    "frame_feature_names",
    "frame_features",
    "level_floor_db",
    "loud_level_db",
    "masked_quantile",
    "mel_filterbank",
    "mfcc_from_logmel",
    "power_to_db",
    "silence_frame",
    "valid_frames",
    "window_feature_names",
]

_POWER_FLOOR = 1e-13  # the floor of mel power / frame power: see SILENCE_DB
SILENCE_DB = -130.0
"""``rms_db`` and log-mel (dB) of digital silence: the floor of frame and mel power.

30 dB under the noise floor of 16-bit PCM, so the quiet frames and mel bands of speech
30 dB down stay above it, and a gain moves them by the gain and nothing else (float32
arithmetic is scale-free); at -100 dB speech 30 dB down lost them (issue #14). Not lower:
at -160 dB, digital silence inside a clip dragged the window aggregates (log-mel means,
MFCCs) so far that the small aggregate models learnt worse."""
_FRAMES_PER_PASS = 256
"""Frames analysed together, in passes aligned to the track (see FrameStream._emit).

Pass ``k`` always holds frames ``k*256 .. k*256+255`` of the track at rows ``0..255`` of a
``(256, frame_length)`` matrix (frames not yet or no longer available are zero rows), so
every FFT, BLAS product and reduction a frame goes through has the same shape and puts
the frame at the same row whatever the chunking. Kernels round a row differently by
its position in the matrix (edge tiles, SIMD lanes), so that is what makes the features
bit-identical under any chunking on a given CPU and kernel (issue #23). A stream emits
whole passes only (the frames of a pass not yet complete wait for the next chunk, at
most 2.55 s), so no pass is computed twice, whatever the chunk size."""
_OCTAVE_COST = 0.01  # per octave of lag, as in Praat's pitch tracker


@dataclass(frozen=True)
class FeatureConfig:
    """Frame analysis parameters (samples, Hz).

    Defaults: 25 ms Hann frames every 10 ms, 1024-point FFT, 64 mel bands over
    50–8000 Hz, 20 MFCCs, f0 search range 80–400 Hz, periodicity measured below 1–2 kHz.
    """

    sample_rate: int = SAMPLE_RATE
    frame_length: int = 400
    hop_length: int = 160
    n_fft: int = 1024
    n_mels: int = 64
    n_mfcc: int = 20
    fmin_hz: float = 50.0
    fmax_hz: float = 8000.0
    f0_min_hz: float = 80.0
    f0_max_hz: float = 400.0
    voicing_threshold: float = 0.6
    voicing_band_hz: float = 1000.0

    def __post_init__(self) -> None:
        if self.frame_length > self.n_fft:
            raise ConfigError("frame_length must not exceed n_fft")
        if self.frame_length % 2:
            raise ConfigError("frame_length must be even (frames are centred)")
        if self.fmax_hz > self.sample_rate / 2:
            raise ConfigError("fmax_hz above Nyquist")
        if self.sample_rate / self.f0_min_hz >= self.frame_length:
            raise ConfigError("f0_min_hz too low for frame_length")


SCALAR_NAMES: tuple[str, ...] = (
    "rms_db",
    "zcr",
    "centroid_hz",
    "bandwidth_hz",
    "rolloff_hz",
    "flatness",
    "voicing",
)
"""The per-frame scalar columns, in order (between the MFCCs and ``f0_hz``)."""


def frame_feature_names(config: FeatureConfig = FeatureConfig()) -> list[str]:
    """Column names of :func:`frame_features`' output, in order."""
    return [
        *(f"logmel_{i:02d}" for i in range(config.n_mels)),
        *(f"mfcc_{i:02d}" for i in range(config.n_mfcc)),
        *SCALAR_NAMES,
        "f0_hz",
    ]


class FrameColumns:
    """Column slices of the frame-feature matrix for a given config."""

    def __init__(self, config: FeatureConfig) -> None:
        names = frame_feature_names(config)
        self.logmel = slice(0, config.n_mels)
        self.mfcc = slice(config.n_mels, config.n_mels + config.n_mfcc)
        index = {name: i for i, name in enumerate(names)}
        self.rms_db = index["rms_db"]
        self.zcr = index["zcr"]
        self.centroid = index["centroid_hz"]
        self.bandwidth = index["bandwidth_hz"]
        self.rolloff = index["rolloff_hz"]
        self.flatness = index["flatness"]
        self.voicing = index["voicing"]
        self.f0 = index["f0_hz"]
        self.scalars = slice(self.rms_db, self.voicing + 1)
        self.n_columns = len(names)


class FrameStream:
    """Streaming frames: push chunks of samples, get one analysed row per frame back.

    Frame ``i`` is centred on sample ``i * hop_length`` and spans ``frame_length``
    samples (zeros before the track start and after its end). ``analyse`` maps a
    ``(_FRAMES_PER_PASS, frame_length)`` float32 block of frames to
    ``(_FRAMES_PER_PASS, n_columns)`` rows; it always gets that fixed shape, frame ``i``
    at row ``i % _FRAMES_PER_PASS`` (see :data:`_FRAMES_PER_PASS`), on one BLAS thread.
    ``push(chunk)`` returns ``(n_new_frames, n_columns)`` for the frames of every pass
    whose frames' spans are all complete (so each pass is analysed once); :meth:`finish`
    returns the rest. Memory: one chunk plus a pass.
    """

    def __init__(
        self,
        *,
        frame_length: int,
        hop_length: int,
        n_columns: int,
        analyse: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.frame_length, self.hop_length, self.n_columns = frame_length, hop_length, n_columns
        self._analyse = analyse
        # Leading zeros make frame 0 centred on sample 0.
        self._buffer = np.zeros(frame_length // 2, dtype=np.float32)
        self._next_frame = 0
        self._n_samples = 0
        self._finished = False

    @property
    def samples_seen(self) -> int:
        return self._n_samples

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Add mono float32 samples (shape ``(n,)``); return the frames they complete."""
        if self._finished:
            raise UsageError("push() after finish()")
        samples = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self._buffer = np.concatenate([self._buffer, samples])
        self._n_samples += samples.size
        return self._emit(available=self._n_samples)

    def finish(self) -> np.ndarray:
        """Frames left at the end of the track (centred before its last sample)."""
        self._finished = True
        half = self.frame_length // 2
        self._buffer = np.concatenate([self._buffer, np.zeros(half, dtype=np.float32)])
        n_total = -(-self._n_samples // self.hop_length)  # ceil
        return self._emit(available=None, n_total=n_total)

    def _emit(self, *, available: int | None, n_total: int | None = None) -> np.ndarray:
        half, hop = self.frame_length // 2, self.hop_length
        if available is not None:
            # Frame i is complete when sample i*hop + half has arrived; frames go out in
            # whole passes (the rest waits for the next chunk), so no pass runs twice.
            stop = (available - half) // hop + 1 if available >= half else 0
            stop -= stop % _FRAMES_PER_PASS
        else:
            assert n_total is not None
            stop = n_total
        n_new = stop - self._next_frame
        if n_new <= 0:
            return np.empty((0, self.n_columns), dtype=np.float32)
        frames = sliding_window_view(self._buffer, self.frame_length)[::hop][:n_new]
        first, size = self._next_frame, _FRAMES_PER_PASS
        passes = []
        with _BLAS.limit(limits=1, user_api="blas"):
            for start in range(first - first % size, stop, size):
                lo, hi = max(first, start), min(stop, start + size)
                block = np.zeros((size, self.frame_length), dtype=np.float32)
                block[lo - start : hi - start] = frames[lo - first : hi - first]
                passes.append(self._analyse(block)[lo - start : hi - start])
        self._next_frame = stop
        # The buffer starts at sample (next_frame * hop - half) of the track.
        self._buffer = self._buffer[n_new * hop :].copy()
        return np.concatenate(passes)


class FrameFeaturizer(FrameStream):
    """Streaming frame features (:func:`frame_feature_names` columns, float32): a
    :class:`FrameStream` of :func:`_frame_features`.

    ``extra``: ``(n_fft // 2 + 1, k)`` float32, a projection of each frame's power
    spectrum appended as ``k`` more columns (the AudioSet network's mel bands,
    :func:`tagger.audioset.melspec.scene_bank`), so a second analysis shares this FFT."""

    def __init__(self, config: FeatureConfig = FeatureConfig(), *, extra: np.ndarray | None = None) -> None:
        self.config = config
        n_extra = 0 if extra is None else extra.shape[1]
        if extra is not None and extra.shape[0] != config.n_fft // 2 + 1:
            raise ConfigError(f"extra projection needs {config.n_fft // 2 + 1} rows, got {extra.shape[0]}")
        super().__init__(
            frame_length=config.frame_length,
            hop_length=config.hop_length,
            n_columns=FrameColumns(config).n_columns + n_extra,
            analyse=functools.partial(
                _frame_features, config=config, extra=None if extra is None else _Projection.of(extra)
            ),
        )


@dataclass(frozen=True)
class _Projection:
    """A projection of the power spectrum kept to its non-zero rows and columns (the
    scene bank reads every other FFT bin up to 8 kHz and fills no band above it: a
    quarter of the dense product)."""

    rows: np.ndarray  # (r,) bins with a weight
    cols: np.ndarray  # (c,) output columns with a weight
    matrix: np.ndarray  # (r, c) float32
    n_out: int

    @classmethod
    def of(cls, extra: np.ndarray) -> _Projection:
        rows, cols = np.flatnonzero(extra.any(axis=1)), np.flatnonzero(extra.any(axis=0))
        matrix = np.ascontiguousarray(extra[np.ix_(rows, cols)], dtype=np.float32)
        return cls(rows=rows, cols=cols, matrix=matrix, n_out=extra.shape[1])

    def __call__(self, power: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """``power`` ``(n, n_bins)`` -> ``(n, n_out)`` float32, written into ``out`` when given."""
        if out is None:
            out = np.empty((len(power), self.n_out), dtype=np.float32)
        out[...] = 0.0
        out[:, self.cols] = power[:, self.rows] @ self.matrix
        return out


def silence_frame(config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Frame features of digital silence, shape ``(n_frame_features,)``: the padding row."""
    rows = _frame_features(np.zeros((1, config.frame_length), dtype=np.float32), config)
    return np.asarray(rows[0])


def frame_features(y: np.ndarray, *, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Frame features of a whole signal ``y`` (shape ``(n,)``), shape
    ``(ceil(n / hop_length), n_frame_features)`` float32; see :func:`frame_feature_names`."""
    featurizer = FrameFeaturizer(config)
    head = featurizer.push(y)
    return np.concatenate([head, featurizer.finish()])


@functools.cache
def _analysis_tables(config: FeatureConfig) -> _Tables:
    window = np.hanning(config.frame_length + 2)[1:-1].astype(np.float32)  # no zero ends
    mel_basis = mel_filterbank(
        sample_rate=config.sample_rate,
        n_fft=config.n_fft,
        n_mels=config.n_mels,
        fmin_hz=config.fmin_hz,
        fmax_hz=config.fmax_hz,
    )
    n_bins = config.n_fft // 2 + 1
    # Autocorrelation of the analysis window, to undo its taper (Boersma 1993).
    window_power = np.abs(np.fft.rfft(window, n=config.n_fft)) ** 2
    window_acf = np.fft.irfft(window_power, n=config.n_fft)
    window_acf = window_acf / window_acf[0]
    freqs = np.fft.rfftfreq(config.n_fft, d=1.0 / config.sample_rate)
    # Raised-cosine low-pass: 1 up to the band edge, 0 an octave above it.
    edge = config.voicing_band_hz
    ramp = np.clip(np.log2(np.maximum(freqs, 1.0) / edge), 0.0, 1.0)
    low_pass = 0.5 + 0.5 * np.cos(np.pi * ramp)
    # ...and a high-pass below the lowest f0, so rumble and 1/f noise do not look periodic.
    high_pass = np.clip((freqs - 0.5 * config.f0_min_hz) / (0.5 * config.f0_min_hz), 0.0, 1.0)
    voicing_band = low_pass * high_pass
    # Bins above the last non-zero one add nothing to the autocorrelation.
    n_band = int(np.flatnonzero(voicing_band)[-1]) + 1
    lag_min = int(np.floor(config.sample_rate / config.f0_max_hz))
    lag_max = int(np.ceil(config.sample_rate / config.f0_min_hz))
    # Lag 0 (the energy), then one lag either side of the search range, to tell a real
    # peak from a slope: the inverse real DFT of the band-weighted power at those lags
    # only (what irfft(power * band, n_fft) gives there), as one matrix.
    lags = np.concatenate([[0], np.arange(lag_min - 1, lag_max + 2)])
    bins = np.arange(n_band)
    hermitian = np.where((bins == 0) | (bins == config.n_fft // 2), 1.0, 2.0) / config.n_fft
    acf_basis = (hermitian * voicing_band[:n_band])[:, None] * np.cos(
        2.0 * np.pi * np.outer(bins, lags) / config.n_fft
    )
    # Magnitude projections: sum, first and second moment (kHz), and sums over groups of
    # ROLLOFF_GROUP bins (to find the roll-off bin without a cumulative sum over all bins).
    khz = freqs / 1000.0
    n_groups = -(-n_bins // _ROLLOFF_GROUP)
    groups = (np.arange(n_bins)[:, None] // _ROLLOFF_GROUP == np.arange(n_groups)[None, :]).astype(float)
    magnitude_basis = np.concatenate([np.stack([np.ones(n_bins), khz, khz**2], axis=1), groups], axis=1)
    return _Tables(
        window=window,
        mel_basis=np.ascontiguousarray(mel_basis.T, dtype=np.float32),
        lag_min=lag_min,
        lag_max=lag_max,
        n_band=n_band,
        acf_basis=acf_basis.astype(np.float32),
        window_acf=window_acf[lag_min - 1 : lag_max + 2].astype(np.float32),
        magnitude_basis=magnitude_basis.astype(np.float32),
        freqs=freqs.astype(np.float32),
        n_columns=len(frame_feature_names(config)),
    )


_ROLLOFF_GROUP = 16  # bins per group in the roll-off search


@dataclass(frozen=True)
class _Tables:
    """Per-config constants of the frame analysis (computed once, see _analysis_tables)."""

    window: np.ndarray  # (frame_length,) float32 Hann, no zero ends
    mel_basis: np.ndarray  # (n_bins, n_mels) float32 filterbank, transposed
    lag_min: int  # shortest f0 lag searched, samples
    lag_max: int  # longest f0 lag searched, samples
    n_band: int  # bins below the voicing band's upper edge
    # (n_band, 1 + lag_max - lag_min + 3) float32: power -> acf at lag 0, lag_min-1..lag_max+1
    acf_basis: np.ndarray
    window_acf: np.ndarray  # (lag_max - lag_min + 3,) float32 normalised window acf at those lags
    magnitude_basis: np.ndarray  # (n_bins, 3 + n_groups) float32: sum, kHz, kHz^2, group sums
    freqs: np.ndarray  # (n_bins,) float32 bin frequencies, Hz
    n_columns: int  # len(frame_feature_names(config)): the columns before any extra projection


def mel_filterbank(
    *, sample_rate: int, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float
) -> np.ndarray:
    """Slaney-style mel filterbank, shape ``(n_mels, n_fft // 2 + 1)`` float32.

    Triangles on Slaney's mel scale (linear below 1 kHz, logarithmic above), each
    normalised to unit area in Hz (``norm="slaney"``): the same arithmetic, step by
    step, as ``librosa.filters.mel(htk=False, norm="slaney")``, so the log-mel the
    shipped model was trained on is reproduced without importing librosa (whose
    numba kernels compile on first use).
    """
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    mel_points = np.linspace(_hz_to_mel(fmin_hz), _hz_to_mel(fmax_hz), n_mels + 2)
    mel_freqs = _mel_to_hz(mel_points)
    spacing = np.diff(mel_freqs)
    ramps = np.subtract.outer(mel_freqs, fft_freqs)
    weights = np.zeros((n_mels, n_fft // 2 + 1), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / spacing[i]
        upper = ramps[i + 2] / spacing[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2 : n_mels + 2] - mel_freqs[:n_mels]))[:, np.newaxis]
    return weights


_MEL_F_SP = 200.0 / 3  # Hz per mel below 1 kHz (Slaney)
_MEL_MIN_LOG_HZ = 1000.0
_MEL_MIN_LOG_MEL = _MEL_MIN_LOG_HZ / _MEL_F_SP
_MEL_LOGSTEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> float:
    if hz >= _MEL_MIN_LOG_HZ:
        return float(_MEL_MIN_LOG_MEL + np.log(hz / _MEL_MIN_LOG_HZ) / _MEL_LOGSTEP)
    return hz / _MEL_F_SP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    hz = _MEL_F_SP * mels
    log_part = mels >= _MEL_MIN_LOG_MEL
    hz[log_part] = _MEL_MIN_LOG_HZ * np.exp(_MEL_LOGSTEP * (mels[log_part] - _MEL_MIN_LOG_MEL))
    return hz


def power_to_db(power: np.ndarray, *, amin: float = _POWER_FLOOR) -> np.ndarray:
    """``10 * log10(max(amin, power))`` in the input's dtype: librosa's
    ``power_to_db(ref=1.0, top_db=None)``."""
    decibels: np.ndarray = 10.0 * np.log10(np.maximum(amin, power))
    return decibels


def mfcc_from_logmel(logmel: np.ndarray, *, n_mfcc: int) -> np.ndarray:
    """MFCCs of log-mel rows ``(n, n_mels)`` -> ``(n, n_mfcc)``: orthonormal DCT-II
    along the mel axis, no liftering (librosa's ``feature.mfcc(S=...)`` defaults)."""
    coefficients: np.ndarray = scipy.fft.dct(logmel, type=2, norm="ortho", axis=1)[:, :n_mfcc]
    return coefficients


_BLAS = threadpoolctl.ThreadpoolController()


def _frame_features(
    frames: np.ndarray, config: FeatureConfig, extra: _Projection | None = None
) -> np.ndarray:
    """Features of frames shape ``(n, frame_length)`` -> ``(n, n_frame_features)`` float32.

    One real FFT per frame, shared by the log-mel/MFCC, the spectral shape and the
    autocorrelation that gives voicing and f0; every projection of the spectrum (mel
    bands, magnitude moments, autocorrelation at the searched lags) is a matrix
    product, on one BLAS thread: the parallelism is the
    worker processes, and BLAS threads spinning beside ffmpeg cost more than they give
    (the caller sets the thread limit once per chunk, see ``FrameStream._emit``,
    which also fixes the shape: ``_FRAMES_PER_PASS`` rows).
    """
    tables = _analysis_tables(config)
    sr = config.sample_rate
    n = frames.shape[0]

    rms = np.sqrt(np.einsum("tf,tf->t", frames, frames) / frames.shape[1])
    rms_db = 20.0 * np.log10(np.maximum(rms, np.sqrt(_POWER_FLOOR)))
    signs = np.signbit(frames)
    zcr = np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1) / (config.frame_length - 1)

    # Windowed frames written straight into the zero-padded FFT input (no extra copy).
    padded = np.zeros((n, config.n_fft), dtype=np.float32)
    np.multiply(frames, tables.window, out=padded[:, : config.frame_length])
    spectrum = scipy.fft.rfft(padded, axis=1).view(np.float32).reshape(n, -1, 2)
    np.square(spectrum, out=spectrum)
    power = np.add(spectrum[:, :, 0], spectrum[:, :, 1])  # (n, n_bins) float32
    magnitude = np.sqrt(power)

    logmel = power_to_db(power @ tables.mel_basis)
    mfcc = mfcc_from_logmel(logmel, n_mfcc=config.n_mfcc)
    centroid, bandwidth, rolloff = _magnitude_shape(
        magnitude, magnitude @ tables.magnitude_basis, tables.freqs
    )
    flatness = _flatness(power)

    # Normalised autocorrelation (of the power spectrum below voicing_band_hz, where
    # voice harmonics live and broadband noise matters least), window-corrected.
    acf = power[:, : tables.n_band] @ tables.acf_basis
    energy = np.maximum(acf[:, :1], np.finfo(np.float32).tiny)  # a floor for silence only
    normalised = np.minimum(acf[:, 1:] / energy / tables.window_acf, 1.0)
    inner = normalised[:, 1:-1]
    # Praat's octave cost: among near-equal peaks prefer the shortest lag (highest f0),
    # so a pure tone is not reported an octave low.
    lags = np.arange(tables.lag_min, tables.lag_max + 1)
    best = np.argmax(inner - _OCTAVE_COST * np.log2(lags / tables.lag_min), axis=1)
    rows = np.arange(n)
    peak = inner[rows, best]
    is_peak = (peak >= normalised[rows, best]) & (peak >= normalised[rows, best + 2])
    voicing = np.where(is_peak, np.clip(peak, 0.0, 1.0), 0.0)
    voicing[rms_db <= SILENCE_DB] = 0.0  # digital silence is not periodic
    f0 = np.where(voicing >= config.voicing_threshold, sr / (best + tables.lag_min), 0.0)

    out = np.empty((n, tables.n_columns + (0 if extra is None else extra.n_out)), dtype=np.float32)
    out[:, : config.n_mels] = logmel
    out[:, config.n_mels : config.n_mels + config.n_mfcc] = mfcc
    scalars = out[:, config.n_mels + config.n_mfcc : tables.n_columns]
    for i, column in enumerate((rms_db, zcr, centroid, bandwidth, rolloff, flatness, voicing, f0)):
        scalars[:, i] = column
    if extra is not None:
        extra(power, out=out[:, tables.n_columns :])
    return out


def _magnitude_shape(
    magnitude: np.ndarray, projected: np.ndarray, freqs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectral centroid, bandwidth (p=2) and 85 % roll-off (Hz) per frame.

    Same definitions as librosa's ``spectral_centroid/bandwidth/rolloff`` (magnitude
    weights, L1-normalised per frame). ``projected`` is ``magnitude @ magnitude_basis``
    ``(n, 3 + n_groups)``: the magnitude's sum, sums of f and f^2 (kHz) and its sums
    over groups of ``_ROLLOFF_GROUP`` bins. The roll-off bin is found group first, then
    within its group, instead of a cumulative sum over all bins.
    """
    total = projected[:, 0].astype(np.float64)
    safe = np.where(total > 0, total, 1.0)
    mean_khz = projected[:, 1] / safe
    variance_khz2 = np.maximum(projected[:, 2] / safe - mean_khz**2, 0.0)
    centroid = 1000.0 * mean_khz
    bandwidth = 1000.0 * np.sqrt(variance_khz2)

    n, n_bins = magnitude.shape
    group_cumulative = np.cumsum(projected[:, 3:], axis=1)
    threshold = 0.85 * group_cumulative[:, -1:]
    group = np.argmax(group_cumulative >= threshold, axis=1)
    before = np.where(group > 0, group_cumulative[np.arange(n), np.maximum(group - 1, 0)], 0.0)
    members = group[:, None] * _ROLLOFF_GROUP + np.arange(_ROLLOFF_GROUP)[None, :]
    inside = np.where(
        members < n_bins, np.take_along_axis(magnitude, np.minimum(members, n_bins - 1), axis=1), 0.0
    )
    within = before[:, None] + np.cumsum(inside, axis=1) >= threshold
    # Rounding may leave the group's own sum a hair under its projected one: then its last bin.
    offset = np.where(within.any(axis=1), np.argmax(within, axis=1), _ROLLOFF_GROUP - 1)
    rolloff = freqs[np.minimum(group * _ROLLOFF_GROUP + offset, n_bins - 1)]
    return centroid, bandwidth, rolloff


def _flatness(power: np.ndarray) -> np.ndarray:
    """Spectral flatness of power spectra ``(n, n_bins)``: geometric over arithmetic
    mean, ``amin=1e-10`` (librosa's ``spectral_flatness`` of the power spectrum)."""
    floored = np.maximum(power, np.float32(1e-10))
    ones = np.ones(power.shape[1], dtype=floored.dtype)  # row sums as BLAS products
    flatness: np.ndarray = np.exp((np.log(floored) @ ones) / len(ones)) / ((floored @ ones) / len(ones))
    return flatness


LOUD_QUANTILE = 0.95
"""A window's loud level is this quantile of its frames' ``rms_db`` (:func:`loud_level_db`)."""


def loud_level_db(level_db: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Loud level of windows, dBFS: frame levels ``level_db`` ``(n_windows, n_frames)`` and their
    ``valid`` mask (same shape, bool) -> ``(n_windows,)`` float64, the :data:`LOUD_QUANTILE`
    quantile (nearest rank) of each window's valid frames; 0 where none is valid.
    A gain of ``g`` dB moves it by ``g`` (above digital silence)."""
    loud: np.ndarray = masked_quantile(level_db, valid, LOUD_QUANTILE).astype(np.float64)
    return loud


def masked_quantile(values: np.ndarray, mask: np.ndarray, q: float) -> np.ndarray:
    """``q``-quantile (nearest rank) of ``values[w][mask[w]]`` per row of ``(n_rows, n)``
    arrays -> ``(n_rows,)``; 0 where a row has no value."""
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    counts = mask.sum(axis=1)
    rank = np.clip(np.round(q * (counts - 1)).astype(np.int64), 0, values.shape[1] - 1)
    picked = ordered[np.arange(values.shape[0]), rank]
    result: np.ndarray = np.where(counts > 0, picked, 0.0)
    return result


def valid_frames(frames: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """``(n_windows, n_frames)`` bool: the first ``n_valid[w]`` frames of each window of
    ``frames`` ``(n_windows, n_frames, ...)``, the ones that hold audio (the rest pad)."""
    mask: np.ndarray = np.arange(frames.shape[1])[None, :] < np.asarray(n_valid)[:, None]
    return mask


def level_floor_db(
    level_db: np.ndarray, valid: np.ndarray, *, range_db: float, guard_db: float
) -> np.ndarray:
    """Per-window level floor, dBFS, ``(n_windows,)`` float64: ``range_db`` below the window's
    :func:`loud_level_db`, but never below the absolute ``guard_db``. Frames under it are the
    window's background; the floor follows a gain, so a quieter copy of a window keeps the
    same frames above it until the floor reaches the guard."""
    floor: np.ndarray = np.maximum(loud_level_db(level_db, valid) - range_db, guard_db)
    return floor


def window_feature_names(config: FeatureConfig = FeatureConfig()) -> list[str]:
    """Column names of :func:`aggregate_windows`' output, in order."""
    return [
        *(f"mfcc_{i:02d}_mean" for i in range(config.n_mfcc)),
        *(f"mfcc_{i:02d}_std" for i in range(config.n_mfcc)),
        *(f"dmfcc_{i:02d}_mean" for i in range(config.n_mfcc)),
        *(f"dmfcc_{i:02d}_std" for i in range(config.n_mfcc)),
        *(f"{name}_mean" for name in SCALAR_NAMES),
        *(f"{name}_std" for name in SCALAR_NAMES),
        "voiced_fraction",
        "log_f0_mean",
        "log_f0_std",
        *(f"logmel_{i:02d}_mean" for i in range(config.n_mels)),
    ]


def aggregate_windows(
    frames: np.ndarray, n_valid: np.ndarray, *, config: FeatureConfig = FeatureConfig()
) -> np.ndarray:
    """Per-window statistics of frame features.

    ``frames``: shape ``(n_windows, frames_per_window, n_frame_features)``;
    ``n_valid``: shape ``(n_windows,)``, how many leading frames hold audio (the rest
    is padding and is ignored). Returns ``(n_windows, n_window_features)`` float32,
    columns as :func:`window_feature_names`: MFCC and delta-MFCC mean/std, spectral
    and voicing mean/std, voiced fraction, log-f0 mean/std over voiced frames,
    log-mel band means. Deltas are taken inside the window, so a window's vector
    depends on its own frames only.
    """
    if frames.ndim != 3:
        raise ParameterError(f"frames must be (n_windows, frames, features), got {frames.shape}")
    cols = FrameColumns(config)
    n_frames = frames.shape[1]
    valid_counts = np.clip(np.asarray(n_valid, dtype=np.int64), 1, n_frames)
    mask = (np.arange(n_frames)[None, :] < valid_counts[:, None]).astype(np.float32)
    weights = mask / valid_counts[:, None].astype(np.float32)

    def mean_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = np.einsum("wt,wtf->wf", weights, values)
        var = np.einsum("wt,wtf->wf", weights, (values - mean[:, None, :]) ** 2)
        return mean, np.sqrt(np.maximum(var, 0.0))

    mfcc = frames[:, :, cols.mfcc]
    delta = _deltas(mfcc, valid_counts)
    mfcc_mean, mfcc_std = mean_std(mfcc)
    delta_mean, delta_std = mean_std(delta)
    scalar_mean, scalar_std = mean_std(frames[:, :, cols.scalars])
    logmel_mean, _ = mean_std(frames[:, :, cols.logmel])

    voiced = (frames[:, :, cols.f0] > 0).astype(np.float32) * mask
    n_voiced = voiced.sum(axis=1)
    voiced_fraction = n_voiced / valid_counts
    log_f0 = np.log(np.maximum(frames[:, :, cols.f0], 1.0))
    voiced_weights = voiced / np.maximum(n_voiced, 1.0)[:, None]
    log_f0_mean = (voiced_weights * log_f0).sum(axis=1)
    log_f0_std = np.sqrt(np.maximum((voiced_weights * (log_f0 - log_f0_mean[:, None]) ** 2).sum(axis=1), 0.0))
    out = np.concatenate(
        [
            mfcc_mean,
            mfcc_std,
            delta_mean,
            delta_std,
            scalar_mean,
            scalar_std,
            voiced_fraction[:, None],
            log_f0_mean[:, None],
            log_f0_std[:, None],
            logmel_mean,
        ],
        axis=1,
    )
    return out.astype(np.float32)


def _deltas(values: np.ndarray, valid_counts: np.ndarray, *, width: int = 2) -> np.ndarray:
    """Regression deltas along axis 1 of ``(w, t, f)``, edges replicated at each
    window's own valid end (so padding never leaks into the last valid frames)."""
    n_windows, n_frames, _ = values.shape
    t = np.arange(n_frames)
    denominator = 2.0 * sum(k * k for k in range(1, width + 1))
    out = np.zeros_like(values)
    rows = np.arange(n_windows)[:, None]
    last = (valid_counts - 1)[:, None]
    for k in range(1, width + 1):
        ahead = np.minimum(t[None, :] + k, last)
        behind = np.clip(t[None, :] - k, 0, last)
        out += k * (values[rows, ahead] - values[rows, behind])
    return out / denominator
