"""Fixed-length, overlapping windows over a stream, with exact sample bounds.

A window is ``[start, start + window)`` in samples; window ``k`` starts at ``k * hop``.
The same rule cuts raw samples and frame-feature rows (one row per ``frame_hop``
samples), so both views of a track agree window for window. The streaming
:class:`Windower` carries the tail between pushes, so window ``k`` is identical
however the track was chunked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tagger.constants import SAMPLE_RATE
from tagger.errors import ConfigError, ParameterError

__all__ = ["Window", "WindowConfig", "Windower", "kept_window_count", "window_bounds"]


@dataclass(frozen=True)
class WindowConfig:
    """How a track is cut. Times in seconds, rates in Hz, ``frame_hop`` in samples.

    ``window_s`` and ``hop_s`` must be whole multiples of ``frame_hop / sample_rate``
    (10 ms by default), so windows map onto frame rows exactly. A trailing partial
    window is kept when at least ``min_fraction`` of it holds audio; the first window
    is always kept, so a track shorter than that still gets one (padded) window.
    """

    window_s: float = 3.0
    hop_s: float = 1.0
    sample_rate: int = SAMPLE_RATE
    frame_hop: int = 160
    min_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.frame_hop <= 0:
            raise ConfigError("sample_rate and frame_hop must be positive")
        if not 0.0 < self.min_fraction <= 1.0:
            raise ConfigError(f"min_fraction must be in (0, 1], got {self.min_fraction}")
        if self.window_s <= 0 or self.hop_s <= 0:
            raise ConfigError("window_s and hop_s must be positive")
        if self.hop_s > self.window_s:
            raise ConfigError(f"hop_s ({self.hop_s}) longer than window_s ({self.window_s}) leaves gaps")
        for name, seconds in (("window_s", self.window_s), ("hop_s", self.hop_s)):
            frames = seconds * self.sample_rate / self.frame_hop
            if abs(frames - round(frames)) > 1e-6:
                raise ConfigError(
                    f"{name}={seconds} s is not a whole number of {self.frame_hop}-sample frames"
                )

    @property
    def window_samples(self) -> int:
        return self.frames_per_window * self.frame_hop

    @property
    def hop_samples(self) -> int:
        return self.frames_per_hop * self.frame_hop

    @property
    def frames_per_window(self) -> int:
        return round(self.window_s * self.sample_rate / self.frame_hop)

    @property
    def frames_per_hop(self) -> int:
        return round(self.hop_s * self.sample_rate / self.frame_hop)


def kept_window_count(n_samples: int, *, config: WindowConfig) -> int:
    """Number of windows a track of ``n_samples`` samples yields (0 only for an empty track)."""
    if n_samples <= 0:
        return 0
    win, hop = config.window_samples, config.hop_samples
    # Windows start at k*hop < n_samples; keep those holding >= min_fraction of a window.
    n_started = (n_samples - 1) // hop + 1
    min_valid = config.min_fraction * win
    valid = np.minimum(n_samples - np.arange(n_started) * hop, win)
    kept = int(np.count_nonzero(valid >= min_valid))
    return max(kept, 1)


def window_bounds(n_samples: int, *, config: WindowConfig) -> np.ndarray:
    """Sample bounds of the kept windows, shape ``(n_windows, 2)`` int64: ``[start, end)``.

    ``end`` is where audio stops inside the window (``start + window_samples`` for a
    full window, the track end for a padded last one).
    """
    n_windows = kept_window_count(n_samples, config=config)
    starts = np.arange(n_windows, dtype=np.int64) * config.hop_samples
    ends = np.minimum(starts + config.window_samples, n_samples)
    return np.stack([starts, ends], axis=1)


@dataclass(frozen=True)
class Window:
    """One window: ``rows`` has shape ``(per_window, ...)``, padded with the windower's
    pad row after ``n_valid`` rows. ``index`` is k, the window's position in the track."""

    index: int
    n_valid: int
    rows: np.ndarray


class Windower:
    """Streams windows of ``per_window`` rows every ``per_hop`` rows along axis 0.

    Rows are samples (``per_window = window_samples``) or frame-feature vectors
    (``per_window = frames_per_window``, padded with the features of silence).
    Memory is bounded by one window plus the pushed block. Full windows come out
    of :meth:`push`; :meth:`finish` adds the trailing partial windows that
    :func:`kept_window_count` keeps.
    """

    def __init__(self, *, per_window: int, per_hop: int, pad_row: np.ndarray | float = 0.0) -> None:
        if per_window <= 0 or not 0 < per_hop <= per_window:
            raise ParameterError(f"bad window geometry: per_window={per_window}, per_hop={per_hop}")
        self.per_window = per_window
        self.per_hop = per_hop
        self.pad_row = pad_row
        self._buffer: np.ndarray | None = None
        self._buffer_start = 0  # row index of _buffer[0] in the whole stream
        self._next_window = 0
        self._n_rows = 0

    def push(self, block: np.ndarray) -> Iterator[Window]:
        """Add ``block`` (shape ``(n, ...)``) and yield every window it completes."""
        if block.shape[0] == 0:
            return
        self._buffer = block if self._buffer is None else np.concatenate([self._buffer, block])
        self._n_rows += block.shape[0]
        while True:
            start = self._next_window * self.per_hop
            if start + self.per_window > self._n_rows:
                break
            offset = start - self._buffer_start
            rows = self._buffer[offset : offset + self.per_window].copy()
            yield Window(index=self._next_window, n_valid=self.per_window, rows=rows)
            self._next_window += 1
        self._drop_consumed()

    def finish(self, *, n_windows: int) -> Iterator[Window]:
        """Yield partial windows up to ``n_windows`` in all (see :func:`kept_window_count`)."""
        while self._next_window < n_windows:
            if self._buffer is None:
                return
            start = self._next_window * self.per_hop
            offset = start - self._buffer_start
            valid = self._buffer[offset : offset + self.per_window]
            rows = np.empty((self.per_window, *valid.shape[1:]), dtype=valid.dtype)
            rows[: valid.shape[0]] = valid
            rows[valid.shape[0] :] = self.pad_row
            yield Window(index=self._next_window, n_valid=valid.shape[0], rows=rows)
            self._next_window += 1

    def _drop_consumed(self) -> None:
        assert self._buffer is not None
        keep_from = self._next_window * self.per_hop - self._buffer_start
        if keep_from > 0:
            self._buffer = self._buffer[keep_from:].copy()
            self._buffer_start += keep_from
