"""Constants shared by every stage: sample rate and the label vocabulary."""

from typing import Final

SAMPLE_RATE: Final[int] = 16_000
"""Sample rate (Hz) of all audio inside the pipeline."""

EMOTIONS: Final[tuple[str, ...]] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)
"""The eight RAVDESS emotions, in model-output order (RAVDESS code minus one)."""

NON_EMOTION_LABELS: Final[tuple[str, ...]] = ("no_speech", "uncertain")
"""Labels a window can carry that are not emotions."""
