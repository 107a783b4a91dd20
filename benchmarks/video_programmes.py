"""Test-video programmes for the video-level benchmark: which clips go in which video, how
they are laid out in time (the truth), and the mixed, loudness-normalised soundtrack.

Pure functions over arrays and manifests' rows; no files are read or written here
(:mod:`benchmarks.video_level` does the I/O).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from tagger.constants import SAMPLE_RATE
from tagger.errors import ParameterError
from tagger.loudness import loudness_gain_db
from tagger.testing import signals
from tagger.training.augment import HELDOUT_SONG, mix_at_snr

__all__ = [
    "CONDITIONS",
    "CONTAINERS",
    "HELD_OUT_FOLD",
    "HELD_OUT_NOISE_SPLIT",
    "HELD_OUT_SONG",
    "TARGET_LUFS",
    "Container",
    "SpeechSpan",
    "VideoPlan",
    "active_span",
    "lay_out",
    "loop_to",
    "mix_programme",
    "plan_videos",
]

# The held-out material, the same the shipped model is trained without.
HELD_OUT_FOLD = 2
"""Test speakers: fold 2 of each corpus's ``folds.tsv`` (RAVDESS actors 9-12): the shipped
model's ``training.test_fold``."""
HELD_OUT_SONG = HELDOUT_SONG
"""The music corpus's song no model is trained on (path in its manifest)."""
HELD_OUT_NOISE_SPLIT = "heldout"
"""UrbanSound8K fold 10, :func:`tagger.training.augment.noise_bank`'s held-out split."""

TARGET_LUFS = -23.0
"""Integrated programme loudness (EBU R 128) of every test video."""
ROOM_TONE_BELOW_SPEECH_DB = 50.0
"""Room tone under the whole programme, this far below the speech level (not digital silence)."""
CONDITIONS = ("clean", "noise", "music")


@dataclass(frozen=True)
class Container:
    """How a video is written: file ``suffix``, ffmpeg ``codec_args`` (video and audio
    encoders and muxer options) and the audio ``channels``."""

    name: str
    suffix: str
    codec_args: tuple[str, ...]
    channels: int


_H264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
CONTAINERS: tuple[Container, ...] = (
    Container("mp4/aac", ".mp4", (*_H264, "-c:a", "aac", "-b:a", "96k"), 2),
    Container("mkv/opus", ".mkv", (*_H264, "-c:a", "libopus", "-b:a", "48k"), 1),
    Container("mkv/flac", ".mkv", (*_H264, "-c:a", "flac", "-sample_fmt", "s16"), 1),
    Container(
        "webm/opus",
        ".webm",
        ("-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus", "-b:a", "64k"),
        2,
    ),
    Container("ts/ac3", ".ts", (*_H264, "-c:a", "ac3", "-b:a", "128k", "-f", "mpegts"), 2),
    Container("ts/mp2", ".ts", (*_H264, "-c:a", "mp2", "-b:a", "96k", "-f", "mpegts"), 1),
)
"""The containers and codecs the test videos rotate through (all with audio at 48 kHz)."""


@dataclass(frozen=True)
class SpeechSpan:
    """One clip's active speech in a programme: ``[start_s, end_s)`` seconds, its emotion."""

    start_s: float
    end_s: float
    emotion: str


@dataclass(frozen=True)
class VideoPlan:
    """One test video before it is built.

    ``kind``: ``single`` (one emotion), ``change`` (emotion A then B) or ``negative`` (no
    speech); ``clips``: corpus-relative paths in programme order with their ``emotions``;
    ``pauses_s``: ``lead``, one pause between each pair of clips, ``tail`` (seconds);
    ``condition``: clean / noise / music with the background's ``snr_db`` under speech."""

    name: str
    corpus: str
    speaker: str
    kind: str
    clips: tuple[str, ...]
    emotions: tuple[str, ...]
    pauses_s: tuple[float, ...]
    condition: str
    snr_db: float
    container: Container
    seed: int

    @property
    def truth_label(self) -> str:
        """The dominant emotion the video should get (``no_speech`` for a negative)."""
        if not self.emotions:
            return "no_speech"
        values, counts = np.unique(np.asarray(self.emotions), return_counts=True)
        return str(values[int(np.argmax(counts))])


def active_span(
    y: np.ndarray, *, sample_rate: int = SAMPLE_RATE, floor_db: float = 35.0, pad_s: float = 0.05
) -> tuple[int, int]:
    """``[first, last)`` samples of the active part of clip ``y`` ``(n,)``: from the first to
    the last 20 ms frame whose RMS is within ``floor_db`` dB of the loudest frame, widened
    by ``pad_s`` seconds each side (within the clip). ``(0, 0)`` for an all-zero clip."""
    frame = max(1, round(0.02 * sample_rate))
    n_frames = y.size // frame
    if n_frames == 0:
        return (0, 0)
    rms = np.sqrt(
        np.mean(np.asarray(y[: n_frames * frame], dtype=np.float64).reshape(n_frames, frame) ** 2, axis=1)
    )
    if rms.max() <= 0.0:
        return (0, 0)
    active = np.flatnonzero(rms >= rms.max() * 10 ** (-floor_db / 20))
    pad = round(pad_s * sample_rate)
    return (max(0, int(active[0]) * frame - pad), min(y.size, (int(active[-1]) + 1) * frame + pad))


def lay_out(
    clips: Sequence[np.ndarray],
    emotions: Sequence[str],
    pauses_s: Sequence[float],
    *,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[np.ndarray, list[SpeechSpan]]:
    """The speech track ``(n,)`` float32 and the truth: ``pauses_s[0]`` seconds of zeros,
    then each clip followed by the next pause (``len(pauses_s) == len(clips) + 1``, the last
    is the tail). Spans are in seconds from the track start, exact to the sample."""
    if len(clips) != len(emotions) or len(pauses_s) != len(clips) + 1:
        raise ParameterError("need one emotion per clip and len(clips) + 1 pauses")
    gaps = [np.zeros(round(p * sample_rate), dtype=np.float32) for p in pauses_s]
    pieces: list[np.ndarray] = [gaps[0]]
    spans: list[SpeechSpan] = []
    position = gaps[0].size
    for clip, emotion, gap in zip(clips, emotions, gaps[1:], strict=True):
        spans.append(SpeechSpan(position / sample_rate, (position + clip.size) / sample_rate, emotion))
        pieces += [np.asarray(clip, dtype=np.float32), gap]
        position += clip.size + gap.size
    return np.concatenate(pieces), spans


def loop_to(recordings: Sequence[np.ndarray], n: int) -> np.ndarray:
    """``n`` samples of ``recordings`` played one after another, from the first again when
    they run out, shape ``(n,)`` float32."""
    if not recordings or all(r.size == 0 for r in recordings):
        raise ParameterError("need at least one non-empty recording")
    sequence = [r for r in recordings if r.size]
    total = sum(r.size for r in sequence)
    joined = np.concatenate(sequence * (n // total + 1))
    return np.asarray(joined[:n], dtype=np.float32)


def mix_programme(
    speech: np.ndarray,
    *,
    background: np.ndarray | None,
    snr_db: float,
    seed: int,
    target_lufs: float = TARGET_LUFS,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """The soundtrack ``(n,)`` float32: ``speech`` with ``background`` (same length) at
    ``snr_db`` dB below the speech level (:func:`mix_at_snr`'s definition), room tone
    :data:`ROOM_TONE_BELOW_SPEECH_DB` below it, scaled to ``target_lufs`` integrated
    (BS.1770). With all-zero ``speech`` (a negative video) the background is the
    programme and the room tone sits that far below it."""
    room = signals.pink_noise(speech.size / sample_rate, amplitude=1.0, seed=seed, sample_rate=sample_rate)
    room = np.resize(room, speech.size).astype(np.float64)
    has_speech = bool(np.any(np.abs(speech) > 1e-3))
    if background is not None and background.size != speech.size:
        raise ParameterError("background must be as long as the speech track")
    if has_speech:
        mixed = mix_at_snr(speech, background, snr_db=snr_db) if background is not None else speech
        reference = _level(speech)
    else:
        if background is None:
            raise ParameterError("a programme without speech needs a background")
        mixed = background
        reference = _level(background)
    mixed = mixed.astype(np.float64) + room * reference * 10 ** (-ROOM_TONE_BELOW_SPEECH_DB / 20)
    gain = 10 ** (loudness_gain_db(mixed, target_lufs=target_lufs, sample_rate=sample_rate) / 20)
    return np.clip(mixed * gain, -1.0, 1.0).astype(np.float32)


def _level(y: np.ndarray) -> float:
    loud = np.abs(y) > 1e-3
    return float(np.sqrt(np.mean(np.asarray(y[loud], dtype=np.float64) ** 2))) if loud.any() else 1e-3


def plan_videos(
    clips_by_speaker: Mapping[str, Mapping[str, Mapping[str, Sequence[str]]]],
    *,
    seed: int,
    quick: bool = False,
    n_negatives: int = 3,
) -> list[VideoPlan]:
    """Every test video, deterministic for ``seed``.

    ``clips_by_speaker``: ``{corpus: {speaker: {emotion: [clip path, ...]}}}`` of the
    held-out speakers. Per corpus and emotion: two clean videos, one over noise, one over
    music (each a speaker in turn, 3-5 of their clips of that emotion); four two-emotion
    videos per corpus; ``n_negatives`` of music only and of noise only. Containers rotate
    through :data:`CONTAINERS`. ``quick``: about a dozen videos (a subset of the same plan)."""
    rng = np.random.default_rng([seed, 14])
    plans: list[VideoPlan] = []

    def add(
        corpus: str, speaker: str, kind: str, clips: list[str], emotions: list[str], condition: str
    ) -> None:
        index = len(plans)
        n_pauses = len(clips) + 1
        pauses = [float(rng.uniform(1.0, 2.0))] + [float(rng.uniform(1.5, 4.0)) for _ in range(n_pauses - 2)]
        pauses.append(float(rng.uniform(1.0, 2.0)))
        if not clips:
            pauses = [float(rng.uniform(12.0, 20.0))]
        container = CONTAINERS[index % len(CONTAINERS)]
        plans.append(
            VideoPlan(
                name="",
                corpus=corpus,
                speaker=speaker,
                kind=kind,
                clips=tuple(clips),
                emotions=tuple(emotions),
                pauses_s=tuple(round(p, 3) for p in pauses),
                condition=condition,
                snr_db=round(float(rng.uniform(10.0, 20.0)), 1),
                container=container,
                seed=int(rng.integers(1 << 31)),
            )
        )

    def pick(paths: Sequence[str], k: int) -> list[str]:
        chosen = rng.choice(len(paths), size=min(k, len(paths)), replace=False)
        return [paths[int(i)] for i in chosen]

    for corpus in sorted(clips_by_speaker):
        speakers = sorted(clips_by_speaker[corpus])
        emotions = sorted({e for s in speakers for e in clips_by_speaker[corpus][s]})
        turn = 0
        for emotion in emotions:
            for condition in ("clean", "clean", "noise", "music"):
                having = [s for s in speakers if clips_by_speaker[corpus][s].get(emotion)]
                speaker = having[turn % len(having)]
                turn += 1
                clips = pick(clips_by_speaker[corpus][speaker][emotion], int(rng.integers(3, 6)))
                add(corpus, speaker, "single", clips, [emotion] * len(clips), condition)
        for k in range(4):
            speaker = speakers[k % len(speakers)]
            own = sorted(clips_by_speaker[corpus][speaker])
            first, second = (own[int(i)] for i in rng.choice(len(own), size=2, replace=False))
            a = pick(clips_by_speaker[corpus][speaker][first], int(rng.integers(2, 4)))
            b = pick(clips_by_speaker[corpus][speaker][second], int(rng.integers(2, 4)))
            add(corpus, speaker, "change", a + b, [first] * len(a) + [second] * len(b), CONDITIONS[k % 3])
    for _ in range(n_negatives):
        for condition in ("music", "noise"):
            add("none", "none", "negative", [], [], condition)
    if quick:
        plans = [
            replace(plan, container=CONTAINERS[k % len(CONTAINERS)])
            for k, plan in enumerate(_quick_subset(plans))
        ]
    return [replace(plan, name=_name(k, plan)) for k, plan in enumerate(plans)]


def _name(index: int, plan: VideoPlan) -> str:
    """``007_ravdess_10_single_sad_noise_mkv-opus``: number, speaker, kind, emotions, condition, codec."""
    label = "-".join(dict.fromkeys(plan.emotions)) or "none"
    codec = plan.container.name.replace("/", "-")
    return f"{index:03d}_{plan.corpus}_{plan.speaker}_{plan.kind}_{label}_{plan.condition}_{codec}"


def _quick_subset(plans: list[VideoPlan]) -> list[VideoPlan]:
    """About twelve videos: per corpus one clean, one noisy, one music single-emotion video of
    different emotions and one change video, plus one negative of each kind."""
    chosen: list[VideoPlan] = []
    seen: set[tuple[str, str, str]] = set()
    used_emotions: set[tuple[str, str]] = set()
    for plan in plans:
        key = (plan.corpus, plan.kind, plan.condition if plan.kind != "change" else "")
        if key in seen or (plan.kind == "single" and (plan.corpus, plan.emotions[0]) in used_emotions):
            continue
        seen.add(key)
        if plan.kind == "single":
            used_emotions.add((plan.corpus, plan.emotions[0]))
        chosen.append(plan)
    return chosen
