"""The demo library: short RAVDESS speech clips (CC BY-NC-SA 4.0, see README.md here)
muxed onto generated pictures, plus a video without audio."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tagger import ffmpeg_bin
from tagger.constants import EMOTIONS, SAMPLE_RATE

__all__ = ["DemoVideo", "build_demo_library", "clip_emotion", "demo_actors", "demo_clips"]

CLIPS_DIR = Path(__file__).parent / "clips"


@dataclass(frozen=True)
class DemoVideo:
    """A demo video and what it holds: ``emotions`` in order of appearance (empty: no audio)."""

    path: Path
    emotions: tuple[str, ...]


def clip_emotion(path: Path) -> str:
    """Emotion encoded in a RAVDESS file name (``03-01-EE-…``)."""
    return EMOTIONS[int(path.name.split("-")[2]) - 1]


def demo_clips() -> list[Path]:
    return sorted(CLIPS_DIR.glob("*.flac"))


def demo_actors() -> set[int]:
    """RAVDESS actor numbers of the demo clips (the last field of a RAVDESS file name)."""
    return {int(path.stem.split("-")[-1]) for path in demo_clips()}


# (file name, emotions of its clips in order); the suffix picks container and codecs
_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("argument.mp4", ("angry", "angry")),
    ("bad_news.mkv", ("sad", "sad")),
    ("birthday.webm", ("happy", "happy")),
    ("meditation.mov", ("calm", "calm")),
    ("mood_swing.mp4", ("calm", "happy", "sad", "angry")),
)


def build_demo_library(folder: Path, *, gap_s: float = 0.6) -> list[DemoVideo]:
    """Write the demo videos into ``folder`` (created; existing files are reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_emotion: dict[str, list[Path]] = {}
    for clip in demo_clips():
        by_emotion.setdefault(clip_emotion(clip), []).append(clip)
    videos: list[DemoVideo] = []
    for name, emotions in _LAYOUT:
        target = folder / name
        if not target.exists():
            used: dict[str, int] = {}
            pieces: list[np.ndarray] = []
            for emotion in emotions:
                clip = by_emotion[emotion][used.get(emotion, 0) % len(by_emotion[emotion])]
                used[emotion] = used.get(emotion, 0) + 1
                samples, rate = sf.read(clip, dtype="float32")
                assert rate == SAMPLE_RATE
                pieces += [samples, np.zeros(round(gap_s * rate), dtype=np.float32)]
            _mux(np.concatenate(pieces), target)
        videos.append(DemoVideo(target, emotions))
    silent = folder / "title_card.mp4"
    if not silent.exists():
        _run(
            [
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=10",
                "-t",
                "3",
                *ffmpeg_bin.ENCODERS[".mp4"][:4],
            ],
            silent,
        )
    videos.append(DemoVideo(silent, ()))
    return videos


def _mux(samples: np.ndarray, target: Path) -> None:
    wav = target.with_name(target.name + ".wav")
    sf.write(wav, samples, SAMPLE_RATE)
    try:
        _run(
            [
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=10",
                "-i",
                f"file:{wav}",
                *ffmpeg_bin.ENCODERS[target.suffix],
                "-shortest",
            ],
            target,
        )
    finally:
        wav.unlink(missing_ok=True)


def _run(args: list[str], target: Path) -> None:
    partial = target.with_name(".partial-" + target.name)
    command = ffmpeg_bin.write_file_command(*args, "-f", _muxer(target.suffix), f"file:{partial}")
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    partial.replace(target)


def _muxer(suffix: str) -> str:
    return {".mp4": "mp4", ".mkv": "matroska", ".webm": "webm", ".mov": "mov"}[suffix]
