"""The AudioSet network's front end, in NumPy: as published (32 kHz) and fed from 16 kHz.

Published (EfficientAT ``AugmentMelSTFT`` in eval mode, :func:`logmel_32k`): pre-emphasis
``x[n+1] - 0.97 x[n]``, STFT with a symmetric 800-sample Hann centred in 1024 points,
hop 320 (10 ms), centred frames with reflect padding, power, 128 triangular mel filters on
the Kaldi/HTK scale over 0–16 kHz (no area normalisation), ``(ln(mel + 1e-5) + 4.5) / 5``.

The pipeline's audio is 16 kHz, so above 8 kHz there is nothing to see. Rather than
resample every track to 32 kHz (twice the samples, twice the FFT), :func:`scene_mel_power`
computes the same mel bands from 16 kHz frames: 400-sample Hann (the same 25 ms),
512-point FFT (the same 31.25 Hz bins), the filters' first 257 columns, the pre-emphasis
applied as its power response ``|1 - 0.97 e^{-j 2 pi f / 32000}|^2`` on the bins, and
the 4x power of a window twice as long; the bands above 8 kHz get the floor, as a
resampled track would. The window is the frame features' Hann (no zero ends), so the
pipeline takes these bands from the frame features' own FFT (its even bins: a 1024-point
FFT of a 400-sample frame holds the 512-point one), at the cost of one small product.
``docs/speech.md`` measures what this costs against the exact 32 kHz path.
"""

from __future__ import annotations

import functools

import numpy as np

from tagger.errors import ConfigError

__all__ = [
    "MEL_FLOOR",
    "N_MELS",
    "kaldi_mel_bank",
    "logmel_32k",
    "network_input",
    "scene_bank",
    "scene_mel_power",
]

N_MELS = 128
MEL_FLOOR = 1e-5  # added to mel power before the log, as published
_SR_32K = 32_000
_N_FFT_32K = 1024
_WIN_32K = 800
_HOP_32K = 320
_PREEMPHASIS = 0.97
SCENE_FRAME = 400  # samples at 16 kHz: the 25 ms of the published 800 at 32 kHz
_N_FFT_16K = 512


def kaldi_mel_bank(
    *, n_mels: int, n_fft: int, sample_rate: int, fmin_hz: float, fmax_hz: float
) -> np.ndarray:
    """Triangular filters equally spaced on ``1127 ln(1 + f / 700)``, shape
    ``(n_mels, n_fft // 2 + 1)`` float64, weight 1 at each centre, no area normalisation,
    the Nyquist bin zero (``torchaudio.compliance.kaldi.get_mel_banks`` plus a zero column)."""
    n_bins = n_fft // 2
    low, high = _mel(fmin_hz), _mel(fmax_hz)
    step = (high - low) / (n_mels + 1)
    band = np.arange(n_mels)[:, None]
    left, centre, right = low + band * step, low + (band + 1) * step, low + (band + 2) * step
    bins = _mel(sample_rate / n_fft * np.arange(n_bins))[None, :]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    return np.pad(np.maximum(0.0, np.minimum(rising, falling)), ((0, 0), (0, 1)))


def _mel(hz: float | np.ndarray) -> np.ndarray:
    return np.asarray(1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0))


def logmel_32k(wave: np.ndarray) -> np.ndarray:
    """The published front end: 32 kHz mono ``wave`` (shape ``(n,)``) -> network input
    ``(128, 1 + (n - 2) // 320)`` float32 (mel x frames)."""
    x = np.asarray(wave, dtype=np.float64)
    x = x[1:] - _PREEMPHASIS * x[:-1]
    half = _N_FFT_32K // 2
    x = np.pad(x, half, mode="reflect")
    n_frames = 1 + (x.size - _N_FFT_32K) // _HOP_32K
    window = np.zeros(_N_FFT_32K)
    offset = (_N_FFT_32K - _WIN_32K) // 2
    window[offset : offset + _WIN_32K] = np.hanning(_WIN_32K)
    frames = np.lib.stride_tricks.sliding_window_view(x, _N_FFT_32K)[::_HOP_32K][:n_frames]
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel = power @ _bank_32k().T
    out: np.ndarray = ((np.log(mel + MEL_FLOOR) + 4.5) / 5.0).T.astype(np.float32)
    return out


@functools.cache
def _bank_32k() -> np.ndarray:
    return kaldi_mel_bank(
        n_mels=N_MELS, n_fft=_N_FFT_32K, sample_rate=_SR_32K, fmin_hz=0.0, fmax_hz=_SR_32K / 2
    )


def scene_bank(*, window: np.ndarray, n_fft: int) -> np.ndarray:
    """``(n_fft // 2 + 1, 128)`` float32: 16 kHz power spectrum bins -> the network's mel
    power, for frames of ``window`` (400 samples, 25 ms) zero-padded to ``n_fft`` (512 or
    a multiple: only the bins on the 31.25 Hz grid of the 32 kHz front end are used, the
    others get weight 0). Includes the pre-emphasis power response and the 32 kHz window's
    larger sum."""
    if len(window) != SCENE_FRAME or n_fft % _N_FFT_16K:
        raise ConfigError(
            f"the scene bank needs {SCENE_FRAME}-sample frames and n_fft a multiple of {_N_FFT_16K}"
        )
    step = n_fft // _N_FFT_16K
    n_bins = _N_FFT_16K // 2 + 1  # bins 0 .. 8 kHz, the frequencies of the 32 kHz bins 0 .. 256
    freqs = np.arange(n_bins) * (_SR_32K / _N_FFT_32K)
    preemphasis = 1.0 + _PREEMPHASIS**2 - 2.0 * _PREEMPHASIS * np.cos(2.0 * np.pi * freqs / _SR_32K)
    # A 32 kHz frame has twice the samples of the 16 kHz frame over the same 25 ms:
    # its spectrum is (sum of its window) / (sum of ours) larger, squared in power.
    gain = (np.hanning(_WIN_32K).sum() / np.sum(window, dtype=np.float64)) ** 2
    bank = np.zeros((n_fft // 2 + 1, N_MELS))
    bank[::step] = (_bank_32k()[:, :n_bins] * (preemphasis * gain)[None, :]).T
    return bank.astype(np.float32)


@functools.cache
def _tables_16k() -> tuple[np.ndarray, np.ndarray]:
    """(window (400,) float32, bank (257, 128) float32) of :func:`scene_mel_power`: the
    frame features' window (Hann without its zero ends), so both paths agree."""
    window = np.hanning(SCENE_FRAME + 2)[1:-1].astype(np.float32)
    return window, scene_bank(window=window, n_fft=_N_FFT_16K)


def scene_mel_power(frames: np.ndarray) -> np.ndarray:
    """Mel power of the network's 128 bands from 16 kHz frames ``(n, 400)`` float32
    (frame ``i`` centred on sample ``160 i``) -> ``(n, 128)`` float32, linear power
    (bands above 8 kHz 0). :func:`network_input` turns it into the network's input. The
    pipeline gets the same rows from the frame features' own FFT
    (``FrameFeaturizer(scene=True)``)."""
    window, bank = _tables_16k()
    spectrum = np.fft.rfft(frames * window, n=_N_FFT_16K, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    mel: np.ndarray = power @ bank
    return mel


def network_input(mel_power: np.ndarray, *, gain: np.ndarray | float = 1.0) -> np.ndarray:
    """``(ln(gain * mel_power + 1e-5) + 4.5) / 5`` float32, the published log-mel scale;
    ``gain`` (a power ratio, broadcast against ``mel_power``) normalises loudness."""
    scaled = np.asarray(mel_power, dtype=np.float32) * np.asarray(gain, dtype=np.float32)
    out: np.ndarray = ((np.log(scaled + np.float32(MEL_FLOOR)) + np.float32(4.5)) / np.float32(5.0)).astype(
        np.float32
    )
    return out
