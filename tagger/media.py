"""The I/O edge towards media files: ffprobe for stream metadata, ffmpeg for PCM.

Every call treats its path as untrusted: it is handed to ffmpeg as an absolute
``file:`` URL (so ``-x.mp4`` or ``concat:a.mp4`` are read literally), only the
``file`` and ``pipe`` protocols are allowed, playlist/concat demuxers are refused,
and each run is killed when it exceeds its time limit.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import ffmpeg as ffmpeg_python
import numpy as np

from tagger import ffmpeg_bin
from tagger.constants import SAMPLE_RATE
from tagger.errors import DecodeError, MediaTimeout, NoAudioError, ParameterError, ProbeError
from tagger.piped import ReadAhead, StderrTail, Watchdog, cap_malloc_arenas, keep_on_one_cpu, widen_pipe

__all__ = [
    "DEMUXER_WHITELIST",
    "PROTOCOL_WHITELIST",
    "AudioStream",
    "MediaInfo",
    "build_decode_command",
    "decode_time_limit",
    "probe",
    "stream_audio",
    "to_url",
]

# Decoding streams through reader threads; glibc would give each its own malloc arena.
# Capped at import, before any thread exists (a process-wide policy: see the docstring).
cap_malloc_arenas()

PROTOCOL_WHITELIST = "file,pipe"
"""The only protocols ffmpeg may open: nothing over the network, no nested URLs."""

DEMUXER_WHITELIST = ",".join(
    (
        "mov",
        "mp4",
        "m4a",
        "3gp",
        "3g2",
        "mj2",
        "matroska",
        "webm",
        "avi",
        "flv",
        "mpegts",
        "mpeg",
        "mpegvideo",
        "ogg",
        "wav",
        "w64",
        "flac",
        "mp3",
        "aac",
        "asf",
        "ac3",
        "eac3",
        "dts",
        "truehd",
        "caf",
        "aiff",
        "au",
        "amr",
        "wv",
        "ape",
        "tta",
        "mxf",
        "nut",
        "rm",
        "dv",
        "ivf",
        "oma",
        "tak",
        "dsf",
        "loas",
    )
)
"""Demuxers ffmpeg may use. Playlist and reference formats (hls, concat, dash, tee,
sdp, image sequences …) are absent: they open other files or URLs by name."""


@dataclass(frozen=True)
class AudioStream:
    """One audio stream of a container.

    ``track`` is the 0-based index among audio streams (what :func:`stream_audio`
    takes); ``index`` is the container-wide stream index. ``duration_s`` is the
    duration the container declares for *this stream* in seconds (the stream's own
    duration, or Matroska's per-stream ``DURATION`` tag), ``None`` when it does not
    say; never the container's duration, which may be the picture's.
    """

    track: int
    index: int
    codec: str
    channels: int
    sample_rate: int
    duration_s: float | None
    language: str | None
    channel_layout: str | None = None


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe reports for a file: container, duration (s), size (bytes), audio streams."""

    path: str
    container: str
    duration_s: float | None
    size_bytes: int
    has_video: bool
    audio_streams: tuple[AudioStream, ...] = field(default_factory=tuple)

    @property
    def n_audio_tracks(self) -> int:
        return len(self.audio_streams)


_INPUT_PLACEHOLDER = "file:emotag-input"


def to_url(path: str | os.PathLike[str]) -> str:
    """Absolute ``file:`` URL for ``path`` that ffmpeg reads literally, whatever the name."""
    absolute = os.path.abspath(os.fspath(path))
    return f"file:{absolute}"


def decode_time_limit(
    declared_s: float | None,
    *,
    size_bytes: int | None,
    base_s: float = 30.0,
    s_per_audio_s: float = 0.5,
    min_bitrate_bps: float = 4_000.0,
    floor_s: float = 5.0,
    ceiling_s: float = 4 * 3600.0,
    unknown_s: float = 3600.0,
) -> float:
    """Seconds that decoding a file may spend waiting on ffmpeg before it is killed.

    ``base_s + s_per_audio_s * duration``, where the duration the file *declares*
    (``declared_s``, untrusted: it may be 1e12, negative, NaN or missing) is capped by
    the longest the file can play given its size: ``size_bytes * 8 / min_bitrate_bps``
    seconds (no real audio+video file averages under ``min_bitrate_bps``). Without a
    usable declaration the size bound is used, and without either ``unknown_s``. The
    result is clipped to ``[floor_s, ceiling_s]``, so it is never 0 (an immediate kill)
    nor unbounded.
    """
    for name, value in (
        ("base_s", base_s),
        ("s_per_audio_s", s_per_audio_s),
        ("min_bitrate_bps", min_bitrate_bps),
        ("floor_s", floor_s),
        ("ceiling_s", ceiling_s),
        ("unknown_s", unknown_s),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    if min_bitrate_bps <= 0 or floor_s > ceiling_s:
        raise ParameterError(f"need min_bitrate_bps > 0 and floor_s <= ceiling_s ({floor_s} > {ceiling_s})")
    size_bound_s = size_bytes * 8 / min_bitrate_bps if size_bytes is not None and size_bytes >= 0 else None
    declared = declared_s if declared_s is not None and math.isfinite(declared_s) and declared_s > 0 else None
    if declared is not None:
        duration_s = min(declared, size_bound_s) if size_bound_s is not None else declared
    else:
        duration_s = size_bound_s if size_bound_s is not None else unknown_s
    return float(min(max(base_s + s_per_audio_s * duration_s, floor_s), ceiling_s))


def probe(path: str | os.PathLike[str], *, timeout_s: float = 30.0) -> MediaInfo:
    """List the container and every audio stream of ``path`` via ffprobe's JSON output.

    Raises :class:`ProbeError` for a missing, empty or unreadable file, or one ffprobe
    cannot parse; :class:`MediaTimeout` when ffprobe runs past ``timeout_s`` seconds.
    A file without audio is *not* an error here (``audio_streams`` is empty).
    """
    text_path = os.fspath(path)
    _check_readable(text_path, ProbeError)
    exe = ffmpeg_bin.ffprobe()
    command = [
        exe.path,
        "-v",
        "error",
        "-hide_banner",
        "-protocol_whitelist",
        PROTOCOL_WHITELIST,
        "-format_whitelist",
        DEMUXER_WHITELIST,
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        to_url(text_path),
    ]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise MediaTimeout(f"ffprobe exceeded {timeout_s:g} s", path=text_path) from exc
    stderr = result.stderr.decode("utf-8", "replace")
    if result.returncode < 0:
        # Killed by a signal: a crash of ffprobe, which says nothing about the file.
        crashed = ffmpeg_bin.describe_exit("ffprobe", result.returncode)
        raise ProbeError(crashed, path=text_path, stderr=stderr)
    if result.returncode != 0:
        raise ProbeError("ffprobe could not read the file", path=text_path, stderr=stderr)
    try:
        report: dict[str, Any] = json.loads(result.stdout.decode("utf-8", "replace"))
    except json.JSONDecodeError as exc:
        raise ProbeError("ffprobe printed invalid JSON", path=text_path, stderr=stderr) from exc
    return _media_info(text_path, report, stderr=stderr)


_OUTPUT_FRAME_S = 1.0  # seconds of audio per frame ffmpeg writes to the pipe


def decode_filter(*, sample_rate: int) -> str:
    """The decode's audio filter: resample to ``sample_rate`` Hz, downmix to mono float,
    and hand on frames of ``_OUTPUT_FRAME_S`` seconds (the last one shorter, not padded).

    The samples are the ones ``-ar``/``-ac`` give (same resampler, same downmix matrix);
    what changes is the framing: a decoded AAC frame holds ~21 ms, and passing each one
    through ffmpeg's threads and the pipe on its own cost more CPU than decoding it
    (library of 126 min: 21.8 CPU-s and 13.8 s wall before, 16.0 and 10.5 s after).
    """
    frame = max(1, round(_OUTPUT_FRAME_S * sample_rate))
    return f"aresample={sample_rate},aformat=sample_fmts=flt:channel_layouts=mono,asetnsamples=n={frame}:p=0"


def build_decode_command(
    path: str | os.PathLike[str],
    *,
    track: int,
    sample_rate: int = SAMPLE_RATE,
    ffmpeg_path: str | None = None,
) -> list[str]:
    """The ffmpeg argv (built with ffmpeg-python) that writes track ``track`` of ``path``
    to stdout as mono float32 little-endian PCM at ``sample_rate`` Hz.

    The file name never passes through ffmpeg-python (it hashes its arguments as UTF-8,
    which fails on names that are not valid UTF-8): a placeholder is compiled and
    swapped for the real URL, which :mod:`subprocess` hands over as the file system's
    bytes."""
    stream = ffmpeg_python.input(
        _INPUT_PLACEHOLDER,
        protocol_whitelist=PROTOCOL_WHITELIST,
        format_whitelist=DEMUXER_WHITELIST,
    )
    output = stream.output(
        "pipe:1",
        map=f"0:a:{track}",
        format="f32le",
        acodec="pcm_f32le",
        af=decode_filter(sample_rate=sample_rate),
        vn=None,
        sn=None,
        dn=None,
        threads=1,
    )
    executable = ffmpeg_path if ffmpeg_path is not None else ffmpeg_bin.ffmpeg().path
    compiled: list[str] = output.compile(cmd=executable)
    compiled = [to_url(path) if arg == _INPUT_PLACEHOLDER else arg for arg in compiled]
    # Global options go first: ffmpeg ignores options trailing the last output.
    return [compiled[0], "-nostdin", "-hide_banner", "-loglevel", "error", *compiled[1:]]


def stream_audio(
    path: str | os.PathLike[str],
    *,
    track: int = 0,
    sample_rate: int = SAMPLE_RATE,
    chunk_s: float = 30.0,
    timeout_s: float = 600.0,
    info: MediaInfo | None = None,
    first_chunk_s: float | None = None,
) -> Iterator[np.ndarray]:
    """Yield audio track ``track`` of ``path`` as mono float32 chunks in [-1, 1].

    Each chunk has shape ``(n,)`` with ``n = round(chunk_s * sample_rate)`` samples,
    except the last, which may be shorter; with ``first_chunk_s``, the first chunks grow
    from ``round(first_chunk_s * sample_rate)`` samples, four times each, up to that
    (:class:`tagger.piped.ReadAhead`: the consumer starts sooner). Memory use is one chunk, whatever the
    file's length: samples come from an ffmpeg pipe, never from a temporary file.

    ``timeout_s`` bounds the total time spent *waiting on ffmpeg* (the consumer's own
    time between chunks does not count): past it ffmpeg is killed and
    :class:`MediaTimeout` raised. :class:`NoAudioError` when the file has no audio
    stream ``track`` or it decodes to nothing; :class:`DecodeError` when ffmpeg
    fails (its stderr is in the message). Stopping iteration early kills ffmpeg.
    """
    text_path = os.fspath(path)
    if sample_rate <= 0:
        raise ParameterError(f"sample_rate must be positive, got {sample_rate}")
    if chunk_s <= 0 or (first_chunk_s is not None and first_chunk_s <= 0):
        raise ParameterError(f"chunk_s and first_chunk_s must be positive, got {chunk_s} and {first_chunk_s}")
    media = info if info is not None else probe(text_path, timeout_s=min(timeout_s, 60.0))
    if not 0 <= track < media.n_audio_tracks:
        raise NoAudioError(f"no audio track {track} (file has {media.n_audio_tracks})", path=text_path)
    command = build_decode_command(text_path, track=track, sample_rate=sample_rate)
    chunk_bytes = max(1, round(chunk_s * sample_rate)) * 4
    first_bytes = None if first_chunk_s is None else max(1, round(first_chunk_s * sample_rate)) * 4
    yield from _run_decoder(
        command, path=text_path, chunk_bytes=chunk_bytes, first_bytes=first_bytes, timeout_s=timeout_s
    )


def _run_decoder(
    command: Sequence[str], *, path: str, chunk_bytes: int, timeout_s: float, first_bytes: int | None = None
) -> Iterator[np.ndarray]:
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert process.stdout is not None and process.stderr is not None
    widen_pipe(process.stdout)
    keep_on_one_cpu(process.pid)
    stderr_tail = StderrTail(process.stderr)
    watchdog = Watchdog(process, timeout_s=timeout_s)
    reader = ReadAhead(process.stdout, chunk_bytes=chunk_bytes, watchdog=watchdog, first_bytes=first_bytes)
    n_samples = 0
    try:
        for payload in reader:
            usable = len(payload) - len(payload) % 4
            if usable:
                chunk = np.frombuffer(payload[:usable], dtype="<f4").astype(np.float32)
                np.clip(chunk, -1.0, 1.0, out=chunk)
                n_samples += chunk.size
                yield chunk
        returncode = process.wait()
        stderr_tail.join()
        if watchdog.fired:
            raise MediaTimeout(
                f"ffmpeg exceeded {timeout_s:g} s decoding", path=path, stderr=stderr_tail.text
            )
        if returncode != 0:
            reason = ffmpeg_bin.describe_exit("ffmpeg", returncode)
            raise DecodeError(reason, path=path, stderr=stderr_tail.text)
        if n_samples == 0:
            raise NoAudioError("audio track decoded to no samples", path=path, stderr=stderr_tail.text)
    finally:
        reader.stop()
        watchdog.stop()
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join()
        process.stdout.close()
        stderr_tail.join()


def _check_readable(path: str, error: type[ProbeError]) -> None:
    if not os.path.lexists(path):
        raise error("no such file", path=path)
    if not os.path.isfile(path):
        raise error("not a regular file", path=path)
    if not os.access(path, os.R_OK):
        raise error("permission denied", path=path)
    if os.path.getsize(path) == 0:
        raise error("file is empty (0 bytes)", path=path)


def _media_info(path: str, report: dict[str, Any], *, stderr: str) -> MediaInfo:
    streams = report.get("streams") or []
    fmt = report.get("format") or {}
    if not fmt and not streams:
        raise ProbeError("ffprobe found no container or streams", path=path, stderr=stderr)
    audio: list[AudioStream] = []
    for stream in streams:
        if stream.get("codec_type") != "audio":
            continue
        tags = stream.get("tags") or {}
        language = tags.get("language") or tags.get("LANGUAGE")
        audio.append(
            AudioStream(
                track=len(audio),
                index=int(stream.get("index", len(audio))),
                codec=str(stream.get("codec_name", "unknown")),
                channels=int(stream.get("channels") or 0),
                sample_rate=int(stream.get("sample_rate") or 0),
                duration_s=_stream_duration(stream),
                language=None if language in (None, "und") else str(language),
                channel_layout=stream.get("channel_layout"),
            )
        )
    has_video = any(
        s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
        for s in streams
    )
    return MediaInfo(
        path=path,
        container=str(fmt.get("format_name", "unknown")),
        duration_s=_float_or_none(fmt.get("duration")),
        size_bytes=int(fmt.get("size") or os.path.getsize(path)),
        has_video=has_video,
        audio_streams=tuple(audio),
    )


def _stream_duration(stream: dict[str, Any]) -> float | None:
    """The stream's own declared duration (s): ffprobe's ``duration``, else Matroska's
    per-stream ``DURATION`` tag (``HH:MM:SS.nnnnnnnnn``; ``DURATION-eng`` from mkvmerge)."""
    own = _float_or_none(stream.get("duration"))
    if own is not None and own >= 0:
        return own
    for key, value in (stream.get("tags") or {}).items():
        if key.upper().split("-")[0] == "DURATION":
            match = _DURATION_TAG.fullmatch(str(value).strip())
            if match:
                hours, minutes, seconds = match.groups()
                return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return None


_DURATION_TAG = re.compile(r"(\d{1,9}):([0-5]?\d):([0-5]?\d(?:\.\d+)?)")


def _float_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
