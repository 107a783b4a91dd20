"""Audio side of emotag: decode tracks, cut windows, compute features, decide speech.

Knows nothing of Prefect or of the catalogue. Audio inside the pipeline is mono
float32 in [-1, 1] at :data:`SAMPLE_RATE` Hz.
"""

from tagger.constants import EMOTIONS, NON_EMOTION_LABELS, SAMPLE_RATE
from tagger.errors import (
    ConfigError,
    DatasetError,
    DecodeError,
    EmotagError,
    MediaError,
    MediaTimeout,
    ModelError,
    NoAudioError,
    ParameterError,
    ProbeError,
    TaggerError,
    UsageError,
)

__all__ = [
    "EMOTIONS",
    "NON_EMOTION_LABELS",
    "SAMPLE_RATE",
    "ConfigError",
    "DatasetError",
    "DecodeError",
    "EmotagError",
    "MediaError",
    "MediaTimeout",
    "ModelError",
    "NoAudioError",
    "ParameterError",
    "ProbeError",
    "TaggerError",
    "UsageError",
]
