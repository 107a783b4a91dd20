"""The one exception hierarchy of emotag.

Flows turn these into a ``failed`` row with the message as reason; anything not
derived from :class:`EmotagError` is a bug.
"""

from __future__ import annotations


class EmotagError(Exception):
    """Root of every error emotag raises on purpose."""


class ConfigError(EmotagError, ValueError):
    """An invalid configuration: a config object's values, an environment override, or
    an installation that lacks a part (e.g. the bundled ffmpeg)."""


class ParameterError(EmotagError, ValueError):
    """An argument a function cannot work with: wrong shape, out of range, empty."""


class UsageError(EmotagError, RuntimeError):
    """An object used out of order, e.g. ``push()`` after ``finish()``."""


class TaggerError(EmotagError):
    """Something went wrong on the audio / model side."""


class MediaError(TaggerError):
    """A media file could not be used. ``path`` names it; ``stderr`` holds ffmpeg's words."""

    def __init__(self, message: str, *, path: str | None = None, stderr: str = "") -> None:
        detail = message
        tail = _stderr_tail(stderr)
        if tail:
            detail = f"{message}: {tail}"
        super().__init__(detail)
        self.path = path
        self.stderr = stderr


class ProbeError(MediaError):
    """ffprobe could not read the container (missing, empty, truncated or not media)."""


class NoAudioError(MediaError):
    """The file is readable media but has no (usable) audio stream."""


class DecodeError(MediaError):
    """ffmpeg failed while decoding an audio track."""


class MediaTimeout(MediaError):
    """ffmpeg or ffprobe ran past its per-file time limit and was killed."""


class DatasetError(TaggerError):
    """A training or evaluation manifest, its folds or its clips cannot be used."""


class ModelError(TaggerError):
    """A model file is missing, unsafe, or does not match its model card."""


def _stderr_tail(stderr: str, *, max_chars: int = 600) -> str:
    """Last meaningful lines of ffmpeg's stderr, on one line, at most ``max_chars``."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " | ".join(lines[-4:])
    return text[-max_chars:]
