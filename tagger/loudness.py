"""Programme loudness after ITU-R BS.1770-4 (K-weighting, 400 ms blocks, -70 LUFS absolute and
-10 LU relative gates), and gains that bring a mono signal to a loudness or a peak level.

Pure numpy/scipy: the same filters as ``pyloudnorm`` (a high shelf of +4 dB at 1.5 kHz and a
38 Hz high-pass, designed for the signal's own sample rate by the bilinear transform).
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from tagger.constants import SAMPLE_RATE
from tagger.errors import ParameterError

__all__ = ["integrated_loudness", "k_weighting", "loudness_gain_db", "peak_gain_db"]

_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_BLOCK_S = 0.4
_OVERLAP = 0.75


def k_weighting(*, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Second-order sections ``(2, 6)`` of the K-weighting filter at ``sample_rate`` Hz
    (pre-filter shelf, then the RLB high-pass), for :func:`scipy.signal.sosfilt`."""
    if sample_rate <= 0:
        raise ParameterError(f"sample_rate must be positive, got {sample_rate}")
    sections = []
    for kind, gain_db, q, fc in (("shelf", 4.0, 1.0 / np.sqrt(2.0), 1500.0), ("highpass", 0.0, 0.5, 38.0)):
        a_gain = 10.0 ** (gain_db / 40.0)
        w0 = 2.0 * np.pi * fc / sample_rate
        alpha = np.sin(w0) / (2.0 * q)
        cos_w0 = np.cos(w0)
        if kind == "shelf":
            root = 2.0 * np.sqrt(a_gain) * alpha
            b = a_gain * np.array(
                [
                    (a_gain + 1) + (a_gain - 1) * cos_w0 + root,
                    -2.0 * ((a_gain - 1) + (a_gain + 1) * cos_w0),
                    (a_gain + 1) + (a_gain - 1) * cos_w0 - root,
                ]
            )
            a = np.array(
                [
                    (a_gain + 1) - (a_gain - 1) * cos_w0 + root,
                    2.0 * ((a_gain - 1) - (a_gain + 1) * cos_w0),
                    (a_gain + 1) - (a_gain - 1) * cos_w0 - root,
                ]
            )
        else:
            b = np.array([(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2])
            a = np.array([1 + alpha, -2.0 * cos_w0, 1 - alpha])
        sections.append(np.concatenate([b / a[0], a / a[0]]))
    return np.array(sections)


def integrated_loudness(y: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness of mono ``y`` ``(n,)`` in LUFS (BS.1770-4: K-weighted mean square
    over 400 ms blocks every 100 ms, gated at -70 LUFS and then 10 LU below the mean of the
    blocks that passed). A signal shorter than one block is one block; ``-inf`` when every
    block is gated out (silence)."""
    samples = np.asarray(y, dtype=np.float64)
    if samples.ndim != 1:
        raise ParameterError(f"need mono samples (n,), got shape {samples.shape}")
    weighted = scipy.signal.sosfilt(k_weighting(sample_rate=sample_rate), samples)
    block = round(_BLOCK_S * sample_rate)
    hop = round(block * (1.0 - _OVERLAP))
    if weighted.size < block:
        weighted = np.pad(weighted, (0, block - weighted.size))
    starts = np.arange(0, weighted.size - block + 1, hop)
    cumulative = np.concatenate([[0.0], np.cumsum(weighted**2)])
    mean_square = (cumulative[starts + block] - cumulative[starts]) / block
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(mean_square)
    kept = mean_square[block_lufs > _ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return float("-inf")
    relative_gate = -0.691 + 10.0 * np.log10(kept.mean()) + _RELATIVE_GATE_LU
    kept = mean_square[(block_lufs > _ABSOLUTE_GATE_LUFS) & (block_lufs > relative_gate)]
    return float(-0.691 + 10.0 * np.log10(kept.mean()))


def loudness_gain_db(y: np.ndarray, *, target_lufs: float, sample_rate: int = SAMPLE_RATE) -> float:
    """Gain in dB that brings ``y`` to ``target_lufs`` integrated loudness (0 for silence)."""
    loudness = integrated_loudness(y, sample_rate=sample_rate)
    return 0.0 if not np.isfinite(loudness) else float(target_lufs - loudness)


def peak_gain_db(y: np.ndarray, *, target_dbfs: float = -1.0) -> float:
    """Gain in dB that puts the sample peak of ``y`` at ``target_dbfs`` (0 for silence)."""
    peak = float(np.max(np.abs(y))) if np.size(y) else 0.0
    return 0.0 if peak <= 0 else float(target_dbfs - 20.0 * np.log10(peak))
