"""Tag a track end to end: front end -> model -> labels -> segments and profile.

One core (:func:`tag_batches`) serves a file track (:func:`tag_track`) and an
in-memory signal (:func:`tag_signal`), so both produce the same rows. Only the
model's class probabilities per window are kept, never a track's audio or frames.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from tagger.affect import affect
from tagger.ahead import DecodeAhead
from tagger.constants import EMOTIONS, SAMPLE_RATE
from tagger.decision import Decision, decide
from tagger.errors import ConfigError
from tagger.frontend import FrontEndConfig, WindowBatch, analyse_chunks, resample
from tagger.media import MediaInfo, decode_time_limit, stream_audio
from tagger.segments import (
    Profile,
    Segment,
    merge_segments,
    owned_spans,
    owned_voiced_s,
    profile,
    smooth_labels,
)

__all__ = [
    "TagConfig",
    "TrackTags",
    "WindowClassifier",
    "tag_batches",
    "tag_signal",
    "tag_track",
    "track_stream",
]


class WindowClassifier(Protocol):
    """What tagging needs of a model (``tagger.model.Classifier`` is one)."""

    version: str
    needs_aggregates: bool  # reads WindowBatch.features (else the front end skips them)
    decision: Decision  # how probabilities become labels (its card's, tagger.decision)

    def predict(self, batch: WindowBatch) -> np.ndarray: ...

    def label(self, probs: np.ndarray, is_speech: np.ndarray) -> list[str]: ...


@dataclass(frozen=True)
class TagConfig:
    """Front end plus post-processing: majority smoothing over ``2*smoothing_radius+1``
    windows, segments shorter than ``min_segment_s`` seconds (pauses: ``min_pause_s``)
    absorbed by a neighbour; a speech window with less than ``min_owned_voiced_s``
    seconds of voice in the stretch it owns (its centre hop) is a pause, ``no_speech``.
    Decoding a track may spend ``timeout_base_s + duration * timeout_s_per_audio_s``
    seconds waiting on ffmpeg before it is killed, where the file's declared duration
    is capped by what its size allows at ``timeout_min_bitrate_bps``, and the limit is
    kept within ``[timeout_floor_s, timeout_ceiling_s]`` (see
    :func:`tagger.media.decode_time_limit`). Audio is decoded in chunks of ``chunk_s``
    seconds, the first ones growing from ``first_chunk_s`` (``None``: all ``chunk_s``)."""

    frontend: FrontEndConfig = field(default_factory=FrontEndConfig)
    smoothing_radius: int = 1
    min_segment_s: float = 2.0
    min_pause_s: float = 1.0
    min_owned_voiced_s: float = 0.05
    chunk_s: float = 30.0
    first_chunk_s: float | None = 1.0
    timeout_s_per_audio_s: float = 0.5
    timeout_base_s: float = 30.0
    timeout_min_bitrate_bps: float = 4_000.0
    timeout_floor_s: float = 5.0
    timeout_ceiling_s: float = 4 * 3600.0

    def __post_init__(self) -> None:
        if min(self.smoothing_radius, self.min_segment_s, self.min_pause_s, self.min_owned_voiced_s) < 0:
            raise ConfigError("smoothing_radius, min_segment_s, min_pause_s, min_owned_voiced_s must be >= 0")
        if self.chunk_s <= 0 or (self.first_chunk_s is not None and self.first_chunk_s <= 0):
            raise ConfigError("chunk_s and first_chunk_s must be > 0")
        self.timeout_s(None)  # checks the time-limit settings now, not at the first decode

    def timeout_s(self, duration_s: float | None, *, size_bytes: int | None = None) -> float:
        """Decode time limit (s) for a file declaring ``duration_s`` seconds in ``size_bytes``."""
        return decode_time_limit(
            duration_s,
            size_bytes=size_bytes,
            base_s=self.timeout_base_s,
            s_per_audio_s=self.timeout_s_per_audio_s,
            min_bitrate_bps=self.timeout_min_bitrate_bps,
            floor_s=self.timeout_floor_s,
            ceiling_s=self.timeout_ceiling_s,
        )


@dataclass(frozen=True)
class TrackTags:
    """Tags of one track. Arrays have one row per window:
    ``start_s``/``end_s`` (seconds), ``content`` (str: ``speech``, ``music`` or
    ``other``), ``is_speech`` (``content == "speech"``), ``probs`` ``(n, 8)`` calibrated,
    ``labels`` (emotion, ``no_speech`` or ``uncertain``, before smoothing), ``arousal`` and
    ``valence`` (float32 in [-1, 1] from ``probs``, :func:`tagger.affect.affect`; NaN
    where the window has no speech), ``confidence`` (float32: the evidence of the class the
    model's decision rule picks, :func:`tagger.decision.decide`)."""

    model_version: str
    start_s: np.ndarray
    end_s: np.ndarray
    content: np.ndarray
    is_speech: np.ndarray
    probs: np.ndarray
    labels: list[str]
    segments: list[Segment]
    profile: Profile
    arousal: np.ndarray
    valence: np.ndarray
    confidence: np.ndarray

    @property
    def n_windows(self) -> int:
        return int(self.start_s.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.end_s.max()) if self.n_windows else 0.0


def tag_batches(
    batches: Iterable[WindowBatch], *, classifier: WindowClassifier, config: TagConfig = TagConfig()
) -> TrackTags:
    """Classify every window of a stream of batches and post-process the track."""
    starts, ends, content, speech, voiced, probs = [], [], [], [], [], []
    for batch in batches:
        starts.append(batch.start_s)
        ends.append(batch.end_s)
        content.append(batch.content)
        speech.append(batch.is_speech)
        voiced.append(batch.voiced_s)
        probs.append(classifier.predict(batch).astype(np.float32))
    if not starts:
        empty = np.zeros(0)
        return TrackTags(
            model_version=classifier.version,
            start_s=empty,
            end_s=empty,
            content=np.zeros(0, dtype=str),
            is_speech=np.zeros(0, dtype=bool),
            probs=np.zeros((0, len(EMOTIONS)), dtype=np.float32),
            labels=[],
            segments=[],
            profile=profile(np.zeros((0, 2)), np.zeros((0, len(EMOTIONS))), np.zeros(0, dtype=bool)),
            arousal=np.zeros(0, dtype=np.float32),
            valence=np.zeros(0, dtype=np.float32),
            confidence=np.zeros(0, dtype=np.float32),
        )
    start_s, end_s = np.concatenate(starts), np.concatenate(ends)
    is_speech, all_probs = np.concatenate(speech), np.concatenate(probs)
    window = config.frontend.window
    spans = owned_spans(start_s, end_s, hop_s=window.hop_s, window_s=window.window_s)
    # A speech window whose own stretch holds no voice is a pause (its neighbours' speech
    # made the window speech): label the stretch as what it is, so boundaries are ~1 s.
    owned = owned_voiced_s(start_s, spans, np.concatenate(voiced), hop_s=window.hop_s)
    pause = is_speech & (owned < config.min_owned_voiced_s)
    is_speech = is_speech & ~pause
    all_content = np.where(pause, "other", np.concatenate(content))
    labels = classifier.label(all_probs, is_speech)
    _, confidence = decide(all_probs, classifier.decision)
    smoothed = smooth_labels(np.asarray(labels, dtype=object), radius=config.smoothing_radius)
    arousal, valence = affect(all_probs)
    arousal[~is_speech] = np.nan
    valence[~is_speech] = np.nan
    segments = merge_segments(
        spans,
        smoothed,
        confidence,
        min_duration_s=config.min_segment_s,
        min_pause_s=config.min_pause_s,
        arousal=arousal,
        valence=valence,
    )
    return TrackTags(
        model_version=classifier.version,
        start_s=start_s,
        end_s=end_s,
        content=all_content,
        is_speech=is_speech,
        probs=all_probs,
        labels=labels,
        segments=segments,
        profile=profile(
            spans, all_probs, is_speech, labels=np.asarray(labels, dtype=object), decision=classifier.decision
        ),
        confidence=confidence,
        arousal=arousal,
        valence=valence,
    )


def tag_signal(
    y: np.ndarray,
    *,
    classifier: WindowClassifier,
    sample_rate: int = SAMPLE_RATE,
    config: TagConfig = TagConfig(),
) -> TrackTags:
    """Tag an in-memory mono signal ``y`` (shape ``(n,)``) at ``sample_rate`` Hz."""
    mono = resample(
        np.asarray(y, dtype=np.float32), orig_sr=sample_rate, target_sr=config.frontend.window.sample_rate
    )
    batches = analyse_chunks([mono], config=frontend_for(classifier, config.frontend))
    return tag_batches(batches, classifier=classifier, config=config)


def tag_track(
    path: str | os.PathLike[str],
    *,
    track: int,
    classifier: WindowClassifier,
    config: TagConfig = TagConfig(),
    info: MediaInfo | None = None,
    decoded: DecodeAhead | None = None,
    on_decoded: Callable[[], None] | None = None,
) -> TrackTags:
    """Stream and tag audio track ``track`` of a media file.

    ``decoded``: that track's decode, already running (:class:`tagger.ahead.DecodeAhead`,
    closed here); ``on_decoded`` is called once the track's audio has been read to its
    end (e.g. to start the next track's decode while this one's last windows are
    classified)."""
    chunks = decoded if decoded is not None else track_stream(path, track=track, config=config, info=info)
    try:
        batches = analyse_chunks(_then(chunks, on_decoded), config=frontend_for(classifier, config.frontend))
        return tag_batches(batches, classifier=classifier, config=config)
    finally:
        if decoded is not None:
            decoded.close()


def track_stream(
    path: str | os.PathLike[str], *, track: int, config: TagConfig, info: MediaInfo | None = None
) -> Iterator[np.ndarray]:
    """The mono float32 chunks at the front end's rate of track ``track`` of a file
    (``info``: its probe, else probed first), decoded with ``config``'s chunking and time
    limit (from the probe's duration and size, or the file's size alone)."""
    if info is not None:
        timeout_s = config.timeout_s(info.duration_s, size_bytes=info.size_bytes)
    else:
        timeout_s = config.timeout_s(None, size_bytes=_size_or_none(path))
    return stream_audio(
        path,
        track=track,
        sample_rate=config.frontend.window.sample_rate,
        chunk_s=config.chunk_s,
        first_chunk_s=config.first_chunk_s,
        timeout_s=timeout_s,
        info=info,
    )


def _then(chunks: Iterable[np.ndarray], done: Callable[[], None] | None) -> Iterator[np.ndarray]:
    yield from chunks
    if done is not None:
        done()


def frontend_for(classifier: WindowClassifier, frontend: FrontEndConfig) -> FrontEndConfig:
    """``frontend`` without the per-window aggregates when ``classifier`` does not read
    them (they cost ~8 % of a track's tagging time), and running the classifier's tail
    on the scene trunk's feature map when it has one (``tail_path``, a ``scene_map``
    model: :class:`tagger.model.Classifier`)."""
    config = frontend if classifier.needs_aggregates else replace(frontend, aggregates=False)
    tail = getattr(classifier, "tail_path", None)
    return replace(config, tail=None if tail is None else str(tail))


def _size_or_none(path: str | os.PathLike[str]) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None
