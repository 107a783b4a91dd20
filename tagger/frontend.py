"""The audio front end: chunks of samples -> windows with features and a speech flag.

One core (:func:`analyse_chunks`) serves a streamed file track (:func:`analyse_file`),
an in-memory signal (:func:`analyse_signal`) and training clips alike, so training
sees exactly what inference sees.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr

from tagger.audioset.gate import (
    SCENE_CLASSES,
    SceneConfig,
    SceneNet,
    SceneStream,
    combine_content,
    decide_scene,
    load_scene_net,
    scene_threads,
    smoothed_speech,
)
from tagger.audioset.melspec import scene_bank
from tagger.constants import SAMPLE_RATE
from tagger.content import ContentConfig, classify_content
from tagger.errors import ConfigError, ParameterError
from tagger.features import FeatureConfig, FrameColumns, FrameFeaturizer, aggregate_windows, silence_frame
from tagger.litert import LiteRTForward
from tagger.media import MediaInfo, stream_audio
from tagger.speech import (
    SpeechConfig,
    detect_speech,
    foreground_frames,
    voiced_frames,
    voiced_s_per_block,
)
from tagger.windows import Window, WindowConfig, Windower, kept_window_count

__all__ = [
    "FrontEndConfig",
    "WindowBatch",
    "analyse_chunks",
    "analyse_file",
    "analyse_signal",
    "make_batch",
    "resample",
    "scene_mel_rows",
]


@dataclass(frozen=True)
class FrontEndConfig:
    """Window, feature, speech and content settings in one object; ``batch_windows``
    windows per batch. ``aggregates``: compute the per-window aggregates
    (``WindowBatch.features``); a model that reads frames alone does not need them,
    and without them ``features`` has shape ``(b, 0)``.

    ``gate``: what decides a window's content class. ``"features"``: the voicing detector
    and the feature gate of :mod:`tagger.content`; ``"scene"``: the pretrained AudioSet
    network alone (:mod:`tagger.audioset.gate`); ``"combined"`` (default): the network
    where it is sure (speech, or music/singing), the feature gate where it is not
    (``docs/speech.md`` measures the three).

    ``tail``: the LiteRT file of an emotion model that reads the scene trunk's feature map
    (:func:`tagger.audioset.network.build_emotion_tail`); the front end runs it on the
    trunk's thread, on each window's own stretch of that map, its step logits averaged
    (``WindowBatch.tail_logits``).
    ``"shipped"`` (default): the shipped model's, when it is such a model; ``None``: none.
    :func:`tagger.pipeline.frontend_for` sets it from the model."""

    window: WindowConfig = field(default_factory=WindowConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    gate: str = "combined"
    batch_windows: int = 64
    aggregates: bool = True
    tail: str | None = "shipped"

    def __post_init__(self) -> None:
        if self.window.sample_rate != self.features.sample_rate:
            raise ConfigError("window and feature sample rates differ")
        if self.window.frame_hop != self.features.hop_length:
            raise ConfigError("window frame_hop must equal features hop_length")
        if self.batch_windows <= 0:
            raise ConfigError("batch_windows must be positive")
        if self.gate not in GATES:
            raise ConfigError(f"gate must be one of {GATES}, got {self.gate!r}")
        if self.gate != "features" and not self.scene_ready:
            raise ConfigError("the scene gate needs 16 kHz audio and 10 ms frames")
        if self.tail not in (None, SHIPPED_TAIL) and not self.scene_ready:
            raise ConfigError("an emotion tail runs on the scene trunk: it needs 16 kHz and 10 ms frames")

    @property
    def uses_scene(self) -> bool:
        """The scene network decides content (``gate`` ``scene`` or ``combined``)."""
        return self.gate != "features"

    @property
    def scene_ready(self) -> bool:
        """The scene network can read these frames: 16 kHz audio, 10 ms hops."""
        return (self.features.sample_rate, self.features.hop_length) == (16_000, 160)

    @property
    def runs_trunk(self) -> bool:
        """The scene trunk runs: for the gate, or for an emotion tail (any gate)."""
        return self.uses_scene or (self.scene_ready and resolve_tail(self.tail) is not None)


GATES = ("features", "scene", "combined")
SHIPPED_TAIL = "shipped"
_MODELS = Path(__file__).resolve().parent / "models"


def resolve_tail(tail: str | None) -> str | None:
    """The absolute path of the LiteRT tail that ``FrontEndConfig.tail`` names, or ``None``."""
    if tail == SHIPPED_TAIL:
        return _shipped_tail()
    return None if tail is None else str(Path(tail).resolve())


@functools.cache
def _shipped_tail() -> str | None:
    """The shipped model's LiteRT file when it reads the scene trunk's map (its card says
    ``scene_map``), else ``None``. :func:`tagger.model.load_model` verifies it when the
    model is loaded; the front end only runs it."""
    try:
        card = json.loads((_MODELS / "default.card.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if card.get("input", {}).get("name") != "scene_map":
        return None
    path = _MODELS / str(card.get("runtime", {}).get("litert", {}).get("file", "default.tflite"))
    return str(path) if path.is_file() else None


@dataclass(frozen=True)
class WindowBatch:
    """Consecutive windows of one track.

    - ``index``: ``(b,)`` int64, window number k in the track
    - ``start_s``, ``end_s``: ``(b,)`` float64 seconds, ``[start_s, end_s)`` of audio
    - ``frames``: ``(b, frames_per_window, n_frame_features)`` float32 (padded rows after
      ``n_valid_frames``)
    - ``n_valid_frames``: ``(b,)`` int64
    - ``features``: ``(b, n_window_features)`` float32 (see ``window_feature_names``)
    - ``content``: ``(b,)`` str, ``speech``, ``music`` or ``other`` (see :mod:`tagger.content`)
    - ``is_speech``: ``(b,)`` bool, ``content == "speech"``
    - ``scene_probs``: ``(b, 4)`` float32, the AudioSet network's p(speech) (the median
      over the window and its neighbours), p(singing), p(music) and p(rival)
      (:data:`tagger.audioset.gate.SCENE_CLASSES`); NaN with ``gate="features"``
    - ``voiced_s``: ``(b, window_s / hop_s)`` float32, foreground voiced seconds in each
      hop-long block of the window (:func:`tagger.speech.voiced_s_per_block` of
      :func:`tagger.speech.foreground_frames`): which stretch of a speech window holds the
      voice, for segment boundaries finer than a window; the voiced frames of a music or
      noise bed, near the window's floor, do not count
    - ``tail_logits``: ``(b, k)`` float32, the emotion tail's logits for the window
      (``k = 0`` without ``FrontEndConfig.tail``)
    - ``tail_model``: ``(b,)`` str, the LiteRT file that gave ``tail_logits`` (``""``: none),
      so that a model never reads another model's logits
    """

    index: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    frames: np.ndarray
    n_valid_frames: np.ndarray
    features: np.ndarray
    content: np.ndarray
    is_speech: np.ndarray
    voiced_s: np.ndarray
    scene_probs: np.ndarray
    tail_logits: np.ndarray
    tail_model: np.ndarray

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @staticmethod
    def concatenate(batches: list[WindowBatch]) -> WindowBatch:
        """One batch holding all windows of ``batches`` (which must be non-empty)."""
        if not batches:
            raise ParameterError("no batches to concatenate")
        return WindowBatch(
            **{
                name: np.concatenate([getattr(b, name) for b in batches])
                for name in WindowBatch.__dataclass_fields__
            }
        )


def analyse_chunks(
    chunks: Iterable[np.ndarray], *, config: FrontEndConfig = FrontEndConfig()
) -> Iterator[WindowBatch]:
    """Cut a stream of mono float32 chunks at ``config.window.sample_rate`` into windows.

    Yields batches of at most ``config.batch_windows`` windows, in order. Windows
    cover the track end to end (see :func:`tagger.windows.window_bounds`). Memory is
    bounded by one chunk plus one batch, whatever the track length.
    """
    scene = _SceneGate(config) if config.runs_trunk else None
    featurizer = FrameFeaturizer(config.features, extra=None if scene is None else scene.bank)
    n_features = FrameColumns(config.features).n_columns
    wcfg = config.window
    windower = Windower(
        per_window=wcfg.frames_per_window,
        per_hop=wcfg.frames_per_hop,
        pad_row=silence_frame(config.features),
    )
    pending: list[Window] = []
    # smoothing reads the next window's span too: a batch waits for that window, and for
    # the scene network to cover it
    lookahead = 1 if config.uses_scene and config.scene.smooth_windows > 1 else 0

    def ready(n_samples: int | None) -> Iterator[WindowBatch]:
        # A batch goes out once it is full and the scene network has covered its last window.
        nonlocal pending
        while len(pending) >= config.batch_windows + lookahead or (n_samples is not None and pending):
            batch = pending[: config.batch_windows]
            following = pending[config.batch_windows] if len(pending) > config.batch_windows else None
            last = (batch[-1].index + lookahead) * wcfg.frames_per_hop + wcfg.frames_per_window
            if scene is not None and n_samples is None and scene.stream.covered_frames < last:
                return
            yield make_batch(batch, n_samples=n_samples, config=config, scene=scene, following=following)
            pending = pending[config.batch_windows :]

    for chunk in chunks:
        rows = featurizer.push(chunk)
        pending.extend(windower.push(rows[:, :n_features]))
        if scene is not None:
            scene.stream.push(rows[:, n_features:])
        yield from ready(None)
    tail_frames = featurizer.finish()
    if scene is not None:
        scene.stream.push(tail_frames[:, n_features:])
        scene.stream.finish()
    tail_frames = tail_frames[:, :n_features]
    n_samples = featurizer.samples_seen
    n_windows = kept_window_count(n_samples, config=wcfg)
    pending.extend([*windower.push(tail_frames), *windower.finish(n_windows=n_windows)])
    yield from ready(n_samples)


class _SceneGate:
    """The scene network over one track: its mel bands come from the frame features' FFT
    (``bank``, appended columns), its stream runs the trunk."""

    def __init__(self, config: FrontEndConfig) -> None:
        self.net: SceneNet = load_scene_net()
        self.bank = _scene_bank(config.features)
        self.tail = resolve_tail(config.tail)
        if self.tail is None:
            self.stream = SceneStream(self.net.trunk, config.scene)
        else:
            self.stream = SceneStream(
                self.net.trunk_with_map,
                config.scene,
                tail=load_tail(self.tail),
                windows=(config.window.frames_per_window, config.window.frames_per_hop),
            )


@functools.cache
def load_tail(path: str) -> LiteRTForward:
    """An emotion tail's LiteRT file, loaded once per process."""
    return LiteRTForward(path, threads=scene_threads())


@functools.cache
def _scene_bank(features: FeatureConfig) -> np.ndarray:
    return scene_bank(window=np.hanning(features.frame_length + 2)[1:-1], n_fft=features.n_fft)


def scene_mel_rows(y: np.ndarray, *, config: FrontEndConfig = FrontEndConfig()) -> np.ndarray:
    """The scene network's mel-power rows ``(frames, 128)`` of a whole mono signal ``y``
    at ``config``'s rate, from the frame analysis the front end runs (training's input)."""
    featurizer = FrameFeaturizer(config.features, extra=_scene_bank(config.features))
    rows = np.concatenate([featurizer.push(np.asarray(y, dtype=np.float32)), featurizer.finish()])
    out: np.ndarray = rows[:, FrameColumns(config.features).n_columns :]
    return out


def _scene_probabilities(
    scene: _SceneGate,
    first: np.ndarray,
    n_valid: np.ndarray,
    *,
    index: np.ndarray,
    following_n_valid: int,
    config: FrontEndConfig,
) -> np.ndarray:
    """``(b, 4)`` scene probabilities of consecutive windows starting at frames ``first``
    with ``n_valid`` frames, p(Speech) the median over each window and its neighbour
    windows (a window's own value stands in for a missing neighbour). Inside the batch a
    neighbour is a batch window; the head runs once, over the batch's spans and the
    window before it (``index[0] >= 1``) and after it (``following_n_valid`` frames, 0
    where the track has none)."""
    stream, net = scene.stream, scene.net
    starts, ends = first, first + n_valid
    if config.scene.smooth_windows == 1:
        return stream.window_probabilities(net, starts, ends)
    hop, per_window = config.window.frames_per_hop, config.window.frames_per_window
    has_before, has_after = bool(index[0] >= 1), following_n_valid > 0
    if has_before:  # the window before holds up to one hop more of the track
        lo = int(first[0]) - hop
        starts = np.append(lo, starts)
        ends = np.append(lo + min(per_window, int(n_valid[0]) + hop), ends)
    if has_after:
        lo = int(first[-1]) + hop
        starts, ends = np.append(starts, lo), np.append(ends, lo + following_n_valid)
    extended = stream.window_probabilities(net, starts, ends)
    probs = extended[int(has_before) : int(has_before) + len(first)]
    speech = extended[:, 0]
    speech = np.concatenate(
        [speech[:1] if not has_before else [], speech, speech[-1:] if not has_after else []]
    )
    probs[:, 0] = smoothed_speech(speech[1:-1], speech[:-2], speech[2:])
    return probs


def analyse_signal(
    y: np.ndarray, *, sample_rate: int = SAMPLE_RATE, config: FrontEndConfig = FrontEndConfig()
) -> WindowBatch | None:
    """All windows of an in-memory signal ``y`` (shape ``(n,)`` or ``(channels, n)``),
    resampled to the pipeline rate and downmixed to mono; ``None`` when ``y`` is empty."""
    mono = np.asarray(y, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    if mono.ndim != 1:
        raise ParameterError(f"signal must be (n,) or (channels, n), got shape {np.shape(y)}")
    target = config.window.sample_rate
    mono = resample(mono, orig_sr=sample_rate, target_sr=target)
    batches = list(analyse_chunks([mono], config=config))
    return WindowBatch.concatenate(batches) if batches else None


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Mono float32 ``y`` (shape ``(n,)``) at ``orig_sr`` Hz -> ``(ceil(n * target_sr / orig_sr),)``
    float32 at ``target_sr`` Hz; ``y`` itself when the rates are equal.

    libsoxr's high-quality preset, trimmed or zero-padded to the exact length: what
    ``librosa.resample`` (default ``res_type="soxr_hq"``) returns, bit for bit, so the
    training clips (resampled that way) and inference agree, without importing librosa.
    """
    if orig_sr <= 0 or target_sr <= 0:
        raise ParameterError(f"sample rates must be positive, got {orig_sr} and {target_sr}")
    samples = np.asarray(y, dtype=np.float32)
    if orig_sr == target_sr:
        return samples
    n_out = math.ceil(samples.shape[0] * float(target_sr) / orig_sr)
    resampled = np.asarray(soxr.resample(samples, orig_sr, target_sr, quality="soxr_hq"), dtype=np.float32)
    if resampled.shape[0] >= n_out:
        return resampled[:n_out]
    return np.pad(resampled, (0, n_out - resampled.shape[0]))


def analyse_file(
    path: str | os.PathLike[str],
    *,
    track: int = 0,
    config: FrontEndConfig = FrontEndConfig(),
    chunk_s: float = 30.0,
    first_chunk_s: float | None = 1.0,
    timeout_s: float = 600.0,
    info: MediaInfo | None = None,
) -> Iterator[WindowBatch]:
    """Stream audio track ``track`` of a media file through :func:`analyse_chunks`, in
    chunks of ``chunk_s`` seconds after a ramp from ``first_chunk_s`` (see
    :func:`tagger.media.stream_audio`; the windows do not depend on the chunking).

    >>> from tagger.testing.media import write_wav
    >>> from tagger.testing.signals import speech_like
    >>> batches = list(analyse_file(write_wav(speech_like(5.0, seed=0))))  # 5 s of audio
    >>> [(float(s), float(e)) for b in batches for s, e in zip(b.start_s, b.end_s)]  # seconds
    [(0.0, 3.0), (1.0, 4.0), (2.0, 5.0), (3.0, 5.0)]
    >>> batches[0].features.shape, batches[0].is_speech.dtype  # (n_windows, 161) aggregates
    ((4, 161), dtype('bool'))
    """
    chunks = stream_audio(
        path,
        track=track,
        sample_rate=config.window.sample_rate,
        chunk_s=chunk_s,
        first_chunk_s=first_chunk_s,
        timeout_s=timeout_s,
        info=info,
    )
    yield from analyse_chunks(chunks, config=config)


def make_batch(
    windows: list[Window],
    *,
    n_samples: int | None,
    config: FrontEndConfig,
    scene: _SceneGate | None = None,
    following: Window | None = None,
) -> WindowBatch:
    """One :class:`WindowBatch` from consecutive ``windows``: their frame features,
    aggregates and content classes; ``n_samples`` is the track length when known;
    ``scene`` the track's scene network stream (needed unless ``config.gate`` is
    ``"features"``), which has covered these windows and ``following``, the track's
    window after them (``None``: the track ends with them).

    The feature gate calls a window speech when the voicing detector
    (:func:`tagger.speech.detect_speech`) finds voice in it *and* the content gate
    (:func:`tagger.content.classify_content`) calls it speech rather than music or other
    sound; ``config.gate`` says how the scene network's call combines with it."""
    wcfg = config.window
    index = np.array([w.index for w in windows], dtype=np.int64)
    n_valid = np.array([w.n_valid for w in windows], dtype=np.int64)
    frames = np.stack([w.rows for w in windows])
    starts = index * wcfg.hop_samples
    ends = starts + wcfg.window_samples
    if n_samples is not None:
        ends = np.minimum(ends, n_samples)
    rate = float(wcfg.sample_rate)
    voiced_rows = voiced_frames(frames, n_valid, features=config.features, config=config.speech)
    voiced = detect_speech(
        frames, n_valid, features=config.features, config=config.speech, voiced=voiced_rows
    )
    scene_probs = np.full((len(windows), len(SCENE_CLASSES)), np.nan, dtype=np.float32)
    tail_logits = np.zeros((len(windows), 0), dtype=np.float32)
    tail_model = np.full(len(windows), "")
    content = np.full(len(windows), "other", dtype=object)
    needs_features = np.ones(len(windows), dtype=bool)
    first = index * wcfg.frames_per_hop
    if scene is not None and scene.tail is not None:
        tail_logits = scene.stream.window_tail_logits(first, first + n_valid)
        tail_model = np.full(len(windows), scene.tail)
    if config.uses_scene:
        if scene is None:
            raise ConfigError(f"gate {config.gate!r} needs the track's scene stream")
        scene_probs = _scene_probabilities(
            scene,
            first,
            n_valid,
            index=index,
            following_n_valid=following.n_valid if following is not None else 0,
            config=config,
        )
        # the voicing detector must agree with the network (the combined gate's rule)
        content = decide_scene(
            scene_probs, voiced=voiced if config.gate == "combined" else None, config=config.scene
        ).astype(object)
        # the feature gate only where the network is unsure (the combined gate's rule)
        needs_features = (content == "other") & (config.gate == "combined")
    if needs_features.any():
        feature_content = classify_content(
            frames[needs_features],
            n_valid[needs_features],
            features=config.features,
            config=config.content,
            voiced=voiced[needs_features],
        )
        content[needs_features] = combine_content(
            feature_content,
            scene_probs[needs_features],
            gate=config.gate,
            voiced=voiced[needs_features],
            config=config.scene,
        )
    if scene is not None:
        scene.stream.forget_before(int(first[-1]))  # the next window's left neighbour starts here
    content = content.astype(str)
    return WindowBatch(
        index=index,
        start_s=starts / rate,
        end_s=ends / rate,
        frames=frames,
        n_valid_frames=n_valid,
        features=(
            aggregate_windows(frames, n_valid, config=config.features)
            if config.aggregates
            else np.zeros((len(windows), 0), dtype=np.float32)
        ),
        content=content,
        is_speech=content == "speech",
        scene_probs=scene_probs,
        tail_logits=tail_logits,
        tail_model=tail_model,
        voiced_s=voiced_s_per_block(
            foreground_frames(frames, n_valid, voiced_rows, features=config.features, config=config.speech),
            frames_per_block=wcfg.frames_per_hop,
            frame_s=config.features.hop_length / config.features.sample_rate,
        ),
    )
