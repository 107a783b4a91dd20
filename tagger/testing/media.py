"""Small media files for examples and tests, written to a fresh temporary folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from tagger.constants import SAMPLE_RATE

__all__ = ["write_wav"]


def write_wav(y: np.ndarray, *, sample_rate: int = SAMPLE_RATE, name: str = "clip.wav") -> str:
    """Write mono float ``y`` (shape ``(n,)``, in [-1, 1]) at ``sample_rate`` Hz as 16-bit
    PCM WAV in a new temporary folder; returns its path."""
    path = Path(tempfile.mkdtemp(prefix="emotag-")) / name
    sf.write(path, np.asarray(y, dtype=np.float32), sample_rate, subtype="PCM_16")
    return str(path)
