"""Bench media, generated once with ffmpeg lavfi sources and cached under ``bench/media/``.

Two base videos (tiny picture + voice-like AAC audio, 48 kHz stereo, in mp4) are encoded;
everything else (library, long videos, short clips) is cut or looped from them by stream copy.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tagger import ffmpeg_bin

__all__ = ["MEDIA_DIR", "LibraryVideo", "base_video", "library", "long_video", "short_clips"]

MEDIA_DIR = Path("bench/media")

# Voice-like tones (vibrato = pitch glide, tremolo = syllabic level) over pink noise.
_VOICES = (
    (150.0, 4.0, 1),
    (210.0, 3.0, 2),
)


@dataclass(frozen=True)
class LibraryVideo:
    """One generated library video: its path, duration (s) and number of audio tracks."""

    path: Path
    duration_s: float
    n_tracks: int

    @property
    def audio_s(self) -> float:
        """Seconds of audio over all tracks."""
        return self.duration_s * self.n_tracks


def _ffmpeg(args: list[str], target: Path) -> Path:
    """Run ffmpeg writing ``target`` via a partial file, so an interrupted run leaves no
    half-written media behind."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.partial{target.suffix}")
    subprocess.run(ffmpeg_bin.write_file_command(*args, str(partial)), check=True)
    partial.replace(target)
    return target


def base_video(variant: int, *, minutes: float) -> Path:
    """A ``minutes``-long mp4: 64x48 picture at 1 fps (every frame a keyframe, so stream
    copies can cut anywhere) and one AAC track (128 kb/s) of voice-like audio."""
    frequency, syllable_hz, seed = _VOICES[variant % len(_VOICES)]
    seconds = minutes * 60.0
    audio = (
        f"sine=frequency={frequency}:sample_rate=48000:duration={seconds},"
        f"vibrato=f=5:d=0.3,tremolo=f={syllable_hz}:d=0.9[voice];"
        f"anoisesrc=color=pink:amplitude=0.02:sample_rate=48000:duration={seconds}:seed={seed}[noise];"
        "[voice][noise]amix=inputs=2,aformat=channel_layouts=stereo[audio]"
    )
    args = [
        "-f", "lavfi", "-i", "testsrc=size=64x48:rate=1",
        "-filter_complex", audio,
        "-map", "0:v", "-map", "[audio]", "-t", f"{seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "1",
        "-c:a", "aac", "-b:a", "128k", "-shortest",
    ]  # fmt: skip
    return _ffmpeg(args, MEDIA_DIR / f"base{variant}_{minutes:g}min.mp4")


def _cut(source: Path, *, offset_s: float, duration_s: float, target: Path) -> Path:
    args = ["-ss", f"{offset_s}", "-i", str(source), "-t", f"{duration_s}", "-map", "0", "-c", "copy"]
    return _ffmpeg(args, target)


def library(*, quick: bool) -> list[LibraryVideo]:
    """The benchmark library: full, 20 videos of 2–10 min (120 min of video, one video
    with a second audio track, so 126 min of audio); quick, 6 videos of 15–60 s."""
    if quick:
        minutes = [0.25, 0.5, 0.75, 1.0, 0.5, 1.0]
        base_minutes = 1.5
    else:
        minutes = [2.0, 4.0, 6.0, 8.0, 10.0] * 4
        base_minutes = 12.0
    bases = [base_video(v, minutes=base_minutes) for v in range(2)]
    folder = MEDIA_DIR / ("library_quick" if quick else "library")
    videos = []
    for k, length in enumerate(minutes):
        duration_s = length * 60.0
        source = bases[k % 2]
        # Different start offsets so same-length videos differ in content (and fingerprint).
        offset_s = float((k // 2) * 7) % max(1.0, base_minutes * 60.0 - duration_s)
        target = folder / f"video_{k:02d}.mp4"
        two_tracks = k == 2
        if two_tracks:
            args = [
                "-ss", f"{offset_s}", "-i", str(bases[0]),
                "-ss", f"{offset_s}", "-i", str(bases[1]),
                "-t", f"{duration_s}", "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c", "copy",
                "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
            ]  # fmt: skip
            _ffmpeg(args, target)
        else:
            _cut(source, offset_s=offset_s, duration_s=duration_s, target=target)
        videos.append(LibraryVideo(target, duration_s, 2 if two_tracks else 1))
    return videos


def long_video(minutes: float, *, quick: bool) -> Path:
    """A ``minutes``-long video, the base video looped by stream copy (no re-encoding)."""
    base = base_video(0, minutes=1.5 if quick else 12.0)
    args = ["-stream_loop", "-1", "-i", str(base), "-t", f"{minutes * 60.0}", "-map", "0", "-c", "copy"]
    return _ffmpeg(args, MEDIA_DIR / "long" / f"video_{minutes:g}min.mp4")


def short_clips(count: int, *, quick: bool) -> Path:
    """A folder of ``count`` clips of 3–5 s, each cut from a different point of a base
    video; returns the folder (only these clips in it)."""
    base_minutes = 1.5 if quick else 12.0
    bases = [base_video(v, minutes=base_minutes) for v in range(2)]
    folder = MEDIA_DIR / f"clips_{count}"
    span_s = base_minutes * 60.0 - 6.0
    per_base = -(-count // 2)
    for i in range(count):
        offset_s = round((i // 2) * span_s / per_base, 2)
        _cut(bases[i % 2], offset_s=offset_s, duration_s=3.0 + i % 3, target=folder / f"clip_{i:03d}.mp4")
    return folder
