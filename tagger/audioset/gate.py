"""Speech / music / other per window from the pretrained AudioSet network (LiteRT, no TensorFlow).

The network's trunk (:func:`tagger.audioset.network.build_mn04`, exported to
``tagger/models/scene.tflite``) runs once over each stretch of a track, never per
window: :class:`SceneStream` cuts the track's mel frames into segments of
``segment_frames`` aligned to the track (segment ``k`` covers frames
``k*S .. (k+1)*S - 1``), each read with ``context_frames`` either side, and keeps the
feature map's steps of the segment's own frames (a step is 32 frames, 320 ms), averaged
over frequency. A window's embedding is the mean of the steps centred in it, and the
network's own classifier head (NumPy, ``scene_head.npz``) turns it into AudioSet
probabilities. Segments sit at fixed track positions, so the result does not depend
on how the track was chunked or batched.

Loudness: each segment's input is scaled so that its loud level (95th percentile of its
frames' power) sits at ``target_db``, within ``max_gain_db`` either way (a quiet track
gets the input a loud one gets; digital near-silence is not blown up into hiss).

Decision (:func:`decide_scene`): ``speech`` when p(Speech), the median over the window
and its two neighbours, reaches ``speech_threshold`` (0.15: AudioSet's labels are
multi-label, so speech over a music bed keeps p(Speech) beside a high p(Music)), is at
least the network's *rival* probability (its largest over the animal, natural-sound and
sound-of-things classes: a bark, a siren or a drill heard as more likely than speech is
not speech for the network; the combined gate then asks the feature gate) and the
voicing detector hears voice in the window; ``music`` when ``p(Music)`` or ``p(Singing)``
reaches ``music_threshold``; else ``other``. The rule was chosen on fold 1 of the
corpora and the noise recordings of three of four folds, and scored once on fold 2
(``experiments/gate_rules.py``, ``docs/speech.md``).
"""

from __future__ import annotations

import functools
import json
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import threadpoolctl

from tagger.audioset.melspec import MEL_FLOOR, N_MELS, network_input
from tagger.errors import ConfigError, ModelError, ParameterError, UsageError

__all__ = [
    "AUDIOSET_INDEX",
    "DEFAULT_SCENE_PATH",
    "RIVAL_ROWS",
    "SCENE_CLASSES",
    "STEP_FRAMES",
    "SceneConfig",
    "SceneNet",
    "SceneStream",
    "combine_content",
    "decide_scene",
    "load_scene_net",
    "segment_input",
    "smoothed_speech",
    "span_means",
    "tail_window_logits",
]

DEFAULT_SCENE_PATH = Path(__file__).resolve().parents[1] / "models" / "scene.tflite"
_BLAS = threadpoolctl.ThreadpoolController()
STEP_FRAMES = 32  # frames per step of the feature map (five stride-2 layers)
MAP_COLUMN_FRAMES = 16  # frames per column of block 10's map (four stride-2 layers)
MAP_HEIGHT, MAP_CHANNELS = 8, 32  # block 10's map: mel rows and channels
EMBEDDING = 384
SCENE_CLASSES = ("speech", "singing", "music", "rival")
"""Columns of the scene probabilities: AudioSet's Speech, Singing and Music, and ``rival``,
the largest probability among :data:`RIVAL_ROWS`."""
AUDIOSET_INDEX = {"speech": 0, "singing": 27, "music": 137}  # rows of class_labels_indices.csv
RIVAL_ROWS = np.r_[72:137, 283:466]
"""AudioSet's animal (72-136), natural-sound and sound-of-things classes (283-465): sources.
Not human sounds or music, nor the source-ambiguous descriptors (466-505: clicking, hum,
rustle... which ride along with speech), channel or acoustic-scene classes (506-526)."""


@dataclass(frozen=True)
class SceneConfig:
    """Segmenting, loudness and decision settings (frames of 10 ms, dB of mel power).

    The decision settings were chosen on fold 1 of the corpora and the noise recordings of
    folds 0, 1 and 3 (``experiments/gate_rules.py``) and scored on fold 2 (``python -m
    benchmarks.scene_gate``, ``docs/speech.md``)."""

    segment_frames: int = 1024
    context_frames: int = 128
    target_db: float = 20.0  # dB of mel power: speech at -20 dBFS active RMS reads 18-23
    max_gain_db: float = 60.0  # speech down to ~-80 dBFS is lifted; digital silence is not
    speech_threshold: float = 0.15
    rival_factor: float = 1.0  # speech needs p(Speech) >= rival_factor * p(rival)
    smooth_windows: int = 3  # p(Speech) is the median over the window and its neighbours
    music_threshold: float = 0.5
    speech_floor: float = 0.1

    def __post_init__(self) -> None:
        for name in ("segment_frames", "context_frames"):
            value = getattr(self, name)
            if value <= 0 or value % STEP_FRAMES:
                raise ConfigError(f"{name} must be a positive multiple of {STEP_FRAMES}, got {value}")
        if self.max_gain_db < 0:
            raise ConfigError("max_gain_db must be >= 0")
        if self.smooth_windows not in (1, 3):
            raise ConfigError(f"smooth_windows must be 1 or 3, got {self.smooth_windows}")


class SceneNet:
    """The shipped trunk (LiteRT) and head (NumPy).

    ``trunk(x (n, 128, T, 1)) -> (n, T/32, 384)`` (``T`` any multiple of 32): steps
    averaged over frequency; ``trunk_with_map(x)`` adds block 10's feature map
    ``(n, 8, T/16, 32)``, the input of an emotion tail
    (:func:`tagger.audioset.network.build_emotion_tail`);
    ``probabilities(embedding (n, 384)) -> (n, 4)`` for :data:`SCENE_CLASSES`."""

    def __init__(
        self, path: str | os.PathLike[str] = DEFAULT_SCENE_PATH, *, threads: int | None = None
    ) -> None:
        from tagger.litert import LiteRTForward

        self.path = Path(path)
        self._trunk = LiteRTForward(
            self.path, threads=scene_threads() if threads is None else threads, n_outputs=2
        )
        shapes = self._trunk.output_shapes
        self._steps_at = next((i for i, shape in enumerate(shapes) if len(shape) == 2), -1)
        head_path = self.path.with_name(self.path.stem + "_head.npz")
        try:
            with np.load(head_path) as head:
                self._w1, self._b1 = head["w1"], head["b1"]
                self._w2, self._b2 = head["w2"], head["b2"]
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"cannot read the scene head {head_path}: {exc}") from exc
        if (
            self._trunk.input_shape[0] != N_MELS
            or self._steps_at < 0
            or shapes[self._steps_at][-1] != EMBEDDING
            or len(shapes[1 - self._steps_at]) != 3
        ):
            raise ModelError(
                f"{self.path}: unexpected shapes {self._trunk.input_shape} -> {shapes} "
                "(rebuild it: python -m tagger.audioset)"
            )
        if self._w2.shape[-1] != 3 + len(RIVAL_ROWS):
            raise ModelError(
                f"{head_path}: {self._w2.shape[-1]} classes, expected {3 + len(RIVAL_ROWS)} "
                "(rebuild it: python -m tagger.audioset)"
            )

    def trunk(self, x: np.ndarray) -> np.ndarray:
        return self.trunk_with_map(x)[0]

    def trunk_with_map(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outputs = self._trunk.outputs(x)
        return outputs[self._steps_at], outputs[1 - self._steps_at]

    def probabilities(self, embedding: np.ndarray) -> np.ndarray:
        # one BLAS thread: beside ffmpeg, OpenBLAS's second thread waited 8 ms a batch
        with _BLAS.limit(limits=1, user_api="blas"):
            hidden = embedding @ self._w1 + self._b1
            hidden = hidden * np.clip(hidden + 3.0, 0.0, 6.0) / 6.0  # hard-swish
            logits = hidden @ self._w2 + self._b2
        p = 1.0 / (1.0 + np.exp(-logits))
        out: np.ndarray = np.concatenate([p[:, :3], p[:, 3:].max(axis=1, keepdims=True)], axis=1)
        return out.astype(np.float32)


def scene_threads() -> int:
    """CPU threads of the trunk: ``EMOTAG_SCENE_THREADS``, else 1."""
    value = os.environ.get("EMOTAG_SCENE_THREADS", "1")
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ConfigError(f"EMOTAG_SCENE_THREADS must be a positive integer, got {value!r}")
    return threads


@functools.cache
def load_scene_net(path: str | None = None) -> SceneNet:
    """The scene network, loaded once per process."""
    return SceneNet(path or DEFAULT_SCENE_PATH)


_MAX_IN_FLIGHT = 8  # segments (0.7 MB each) queued on the trunk thread before push() waits


_EXECUTOR: tuple[int, ThreadPoolExecutor] | None = None  # (pid, the trunk's thread)


def _trunk_thread() -> ThreadPoolExecutor:
    """This process's one thread for the trunk (made again after a fork: threads do not
    survive one)."""
    global _EXECUTOR
    pid = os.getpid()
    if _EXECUTOR is None or _EXECUTOR[0] != pid:
        _EXECUTOR = (pid, ThreadPoolExecutor(max_workers=1, thread_name_prefix="scene-trunk"))
    return _EXECUTOR[1]


@dataclass
class SceneStream:
    """Streaming trunk over a track's mel-power rows (:func:`scene_mel_power`, one per
    10 ms frame); :meth:`window_probabilities` pools the steps of a span of frames.

    With ``background`` (the default) each segment's trunk runs on a thread of its own
    (LiteRT releases the GIL), so it overlaps the frame features of the next chunk; at
    most ``_MAX_IN_FLIGHT`` segments wait for it. The steps, and so every result, are those of the
    synchronous run.

    With a ``tail`` (an emotion network on the trunk's block-10 map, ``f(map (b, 8, t, 32))
    -> (b, t/2, k)`` step logits), ``trunk`` must return ``(steps, map)``
    (:meth:`SceneNet.trunk_with_map`). On the trunk's thread, after each segment, the tail
    runs on the stretch of the map (the segments' own frames only) of every window of
    ``windows`` (frames per window, per hop) that the map now covers
    (:func:`tail_window_logits`); :meth:`window_tail_logits` hands them out."""

    trunk: Callable[[np.ndarray], Any]
    config: SceneConfig = field(default_factory=SceneConfig)
    background: bool = True
    tail: Callable[[np.ndarray], np.ndarray] | None = None
    windows: tuple[int, int] = (300, 100)

    def __post_init__(self) -> None:
        self._rows = np.zeros((0, N_MELS), dtype=np.float32)  # rows from track frame _first_row on
        self._first_row = 0
        self._steps = np.zeros((0, EMBEDDING), dtype=np.float32)
        self._first_step = 0  # step index of self._steps[0]
        # with a tail: window logits from window _first_window on (the caller's side) ...
        self._logits = np.zeros((0, 0), dtype=np.float32)
        self._first_window = 0
        # ... and the map the trunk's thread keeps (only that thread touches these)
        self._thread_map = np.zeros((MAP_HEIGHT, 0, MAP_CHANNELS), dtype=np.float32)
        self._thread_column = 0  # map column (16 frames) of self._thread_map[:, 0]
        self._thread_window = 0  # the next window whose logits the thread computes
        self._done_frames = 0  # frames whose steps are in self._steps
        self._scheduled_frames = 0  # frames whose segment has been sent to the trunk
        self._in_flight: deque[tuple[Future[np.ndarray], int, int, int]] = deque()
        self._finished = False

    @property
    def covered_frames(self) -> int:
        """Frames ``[0, covered_frames)`` of the track have their steps."""
        self._collect(wait_until=0)
        return self._done_frames

    def push(self, rows: np.ndarray) -> None:
        """Add the next mel-power rows ``(n, 128)``; run every segment now complete."""
        if self._finished:
            raise UsageError("push() after finish()")
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, N_MELS)
        self._rows = np.concatenate([self._rows, rows])
        self._run(final=False)

    def finish(self) -> None:
        """The track has ended: run the last segment and wait for every one."""
        self._finished = True
        self._run(final=True)
        self._collect(wait_until=self._scheduled_frames)

    def _run(self, *, final: bool) -> None:
        """Run each segment whose right context has arrived (every one left, at the end).

        The trunk reads only track frames: at the track's start and end a segment has
        less context (:func:`segment_input` mirrors its end to a multiple of 32)."""
        s, c = self.config.segment_frames, self.config.context_frames
        end_of_track = self._first_row + len(self._rows)
        while self._scheduled_frames < end_of_track and (
            final or end_of_track >= self._scheduled_frames + s + c
        ):
            start = self._scheduled_frames
            lo, hi = max(start - c, 0), min(start + s + c, end_of_track)
            segment = self._rows[lo - self._first_row : hi - self._first_row]
            skip = (start - lo) // STEP_FRAMES
            own = -(-min(s, end_of_track - start) // STEP_FRAMES)
            self._scheduled_frames = min(start + s, end_of_track) if final else start + s
            track_end = end_of_track if final and self._scheduled_frames == end_of_track else None
            future: Future[Any]
            if self.background:
                future = _trunk_thread().submit(self._steps_of, segment, skip, own, track_end)
            else:
                future = Future()
                future.set_result(self._steps_of(segment, skip, own, track_end))
            self._in_flight.append((future, skip, own, self._scheduled_frames))
            if len(self._in_flight) > _MAX_IN_FLIGHT:
                self._collect(wait_until=self._in_flight[0][3])
        # Rows before the next segment's left context are no longer needed.
        drop = max(0, self._scheduled_frames - c - self._first_row)
        self._rows = self._rows[drop:]
        self._first_row += drop

    def _steps_of(
        self, segment: np.ndarray, skip: int, own: int, track_end: int | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The trunk's ``(1, ceil(len / 32), 384)`` steps of a segment's mel-power rows and,
        with a tail, the logits ``(n, k)`` of the windows its own map completes (every
        window left when ``track_end``, the track's frame count, is given)."""
        result = self.trunk(segment_input(segment, self.config))
        if self.tail is None:
            return result, None
        steps, feature_map = result
        self._thread_map = np.concatenate(
            [self._thread_map, feature_map[0, :, 2 * skip : 2 * (skip + own)]], axis=1
        )
        per_window, hop = self.windows
        first = self._thread_column * MAP_COLUMN_FRAMES
        covered = first + self._thread_map.shape[1] * MAP_COLUMN_FRAMES
        if track_end is None:
            count = max(0, (covered - per_window) // hop + 1 - self._thread_window)
        else:
            count = max(0, -(-track_end // hop) - self._thread_window)
        starts = (self._thread_window + np.arange(count)) * hop
        ends = starts + per_window if track_end is None else np.minimum(starts + per_window, track_end)
        logits = tail_window_logits(self.tail, self._thread_map, starts - first, ends - first)
        self._thread_window += count
        cut = (self._thread_window * hop) // MAP_COLUMN_FRAMES - self._thread_column
        if cut > 0:
            self._thread_map = self._thread_map[:, cut:]
            self._thread_column += cut
        return steps, logits

    def _collect(self, *, wait_until: int) -> None:
        """Take the steps of finished segments, in order; wait for those that cover
        frames before ``wait_until``."""
        while self._in_flight and (self._in_flight[0][0].done() or self._done_frames < wait_until):
            future, skip, own, done = self._in_flight.popleft()
            steps, logits = future.result()  # the trunk's error, if any, is raised here
            if logits is not None and len(logits):
                self._logits = logits if not len(self._logits) else np.concatenate([self._logits, logits])
            self._steps = np.concatenate([self._steps, steps[0][skip : skip + own]])
            self._done_frames = done

    def window_probabilities(self, net: SceneNet, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """``(n, 4)`` probabilities of :data:`SCENE_CLASSES` for the frame spans
        ``[starts, ends)`` (each within :attr:`covered_frames`): the network's head on
        the mean of the steps centred in the span (the nearest step if none is)."""
        return net.probabilities(self._span_means(starts, ends))

    def window_tail_logits(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """``(n, k)`` the tail's logits for the windows spanning frames ``[starts, ends)``
        (windows of ``windows``: ``starts`` multiples of the hop): the tail run on each
        window's own stretch of the map, its step logits averaged. A window's emotion
        depends on the window alone, not on what the segment holds around it, as a
        training clip's on the clip alone (:func:`tail_window_logits`)."""
        if self.tail is None:
            raise UsageError("this stream runs no tail")
        starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
        if not len(starts):
            return np.zeros((0, self._logits.shape[1]), dtype=np.float32)
        self._collect(wait_until=int(ends.max()))
        index = starts // self.windows[1] - self._first_window
        if np.any(starts % self.windows[1]) or index.min() < 0 or index.max() >= len(self._logits):
            raise ParameterError("windows outside those this stream holds")
        out: np.ndarray = self._logits[index]
        return out

    def _span_means(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
        if len(starts):
            self._collect(wait_until=int(ends.max()))
        if len(starts) and (ends.max() > self._done_frames or starts.min() < self._first_step * STEP_FRAMES):
            raise ParameterError("span outside the frames this stream holds")
        return span_means(
            self._steps, starts - self._first_step * STEP_FRAMES, ends - self._first_step * STEP_FRAMES
        )

    def forget_before(self, frame: int) -> None:
        """Drop the steps centred before ``frame`` and the logits of windows starting
        before it: no later span starts there."""
        step = frame // STEP_FRAMES
        if step > self._first_step:
            cut = min(step - self._first_step, len(self._steps))
            self._steps = self._steps[cut:]
            self._first_step += cut
        window = frame // self.windows[1]
        if window > self._first_window and len(self._logits):
            cut = min(window - self._first_window, len(self._logits))
            self._logits = self._logits[cut:]
            self._first_window += cut


def tail_window_logits(
    tail: Callable[[np.ndarray], np.ndarray], feature_map: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """``(n, k)`` logits of an emotion ``tail`` for the frame spans ``[starts, ends)`` of a
    block-10 map ``(8, columns, 32)`` (column ``j`` holds frames ``16 j .. 16 j + 15``): the
    tail on columns ``starts // 16 .. ceil(ends / 16)`` (at least 2) of each span, its step
    logits averaged. Spans of equal width run as one batch. Training scores its clips with
    it, and the stream its windows."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    lo = np.minimum(starts // MAP_COLUMN_FRAMES, max(feature_map.shape[1] - 2, 0))
    hi = np.minimum(np.maximum(lo + 2, -(-ends // MAP_COLUMN_FRAMES)), feature_map.shape[1])
    out: np.ndarray | None = None
    for width in np.unique(hi - lo):
        rows = np.flatnonzero(hi - lo == width)
        crops = np.stack([feature_map[:, lo[r] : lo[r] + width] for r in rows]).astype(np.float32)
        logits = np.asarray(tail(crops)).mean(axis=1)
        if out is None:
            out = np.zeros((len(starts), logits.shape[1]), dtype=np.float32)
        out[rows] = logits
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def span_means(steps: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``(n, d)`` float32: for each frame span ``[starts, ends)`` the mean of the rows of
    ``steps`` ``(m, d)`` centred in it (row ``j`` is centred on frame ``32 j``; the
    nearest row when none is). The stream pools the trunk's steps per window with it."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    first = -(-starts // STEP_FRAMES)
    last = np.maximum(first, -(-ends // STEP_FRAMES) - 1)
    cum = np.concatenate([np.zeros((1, steps.shape[1])), np.cumsum(steps, axis=0, dtype=np.float64)])
    lo = np.clip(first, 0, len(steps) - 1)
    hi = np.clip(last, lo, len(steps) - 1) + 1
    out: np.ndarray = ((cum[hi] - cum[lo]) / (hi - lo)[:, None]).astype(np.float32)
    return out


def segment_input(rows: np.ndarray, config: SceneConfig) -> np.ndarray:
    """The trunk's input ``(1, 128, T, 1)`` float32 for a segment's mel-power rows
    ``(n, 128)``: its length made a multiple of 32 (``T = 32 ceil(n / 32)``) by mirroring
    its last frames, never by padding with silence, which the network's global
    squeeze-excitation averages would mistake for content (a 4 s dog bark padded to
    12.8 s with silence read as speech); its loudness set by :func:`_gain`."""
    short = -len(rows) % STEP_FRAMES
    if short:
        rows = np.pad(rows, ((0, short), (0, 0)), mode="reflect" if len(rows) > short else "wrap")
    x: np.ndarray = network_input(rows, gain=_gain(rows, config)).T[None, :, :, None]
    return x


def _gain(segment: np.ndarray, config: SceneConfig) -> float:
    """Power gain that puts the segment's loud level (95th percentile of its frames'
    power, dB) at ``config.target_db``, within ``max_gain_db`` either way."""
    power = segment.sum(axis=1)
    level_db = 10.0 * np.log10(max(float(np.percentile(power, 95)), MEL_FLOOR * 1e-3))
    gain_db = float(np.clip(config.target_db - level_db, -config.max_gain_db, config.max_gain_db))
    return float(10.0 ** (gain_db / 10.0))


def decide_scene(
    probs: np.ndarray, *, voiced: np.ndarray | None = None, config: SceneConfig = SceneConfig()
) -> np.ndarray:
    """Content class per window from ``probs`` ``(n, 4)`` (:data:`SCENE_CLASSES`, p(Speech)
    already smoothed: :func:`smoothed_speech`) and the voicing detector's call ``voiced``
    ``(n,)`` bool (``None``: the network alone): ``(n,)`` str ``speech`` / ``music`` /
    ``other``."""
    speech, singing, music, rival = probs[:, 0], probs[:, 1], probs[:, 2], probs[:, 3]
    is_speech = (speech >= config.speech_threshold) & (speech >= config.rival_factor * rival)
    if voiced is not None:
        is_speech &= voiced
    is_music = ~is_speech & (np.maximum(music, singing) >= config.music_threshold)
    return np.where(is_speech, "speech", np.where(is_music, "music", "other"))


def smoothed_speech(p_speech: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The median of each window's p(Speech) and its neighbours' (``before``/``after``,
    the window's own value where it has no neighbour): ``(n,)`` float32."""
    out: np.ndarray = np.median(np.stack([before, p_speech, after]), axis=0).astype(np.float32)
    return out


def combine_content(
    features: np.ndarray,
    probs: np.ndarray,
    *,
    gate: str,
    voiced: np.ndarray | None = None,
    config: SceneConfig = SceneConfig(),
) -> np.ndarray:
    """The content class per window of a front-end ``gate`` from the feature gate's
    classes ``features`` (``(n,)`` str), the network's ``probs`` ``(n, 4)`` and the
    voicing detector's ``voiced`` ``(n,)`` bool.

    ``"scene"``: :func:`decide_scene` of the network alone. ``"combined"``: the network's
    class, with the voicing detector, where it is sure (speech, or music/singing); where
    it is not, the feature gate's, except that a window the network gives less than
    ``speech_floor`` p(Speech) is not speech (``other``). ``"features"``: the feature
    gate's."""
    if gate == "features":
        return features
    if gate == "scene":
        return decide_scene(probs, config=config)
    scene = decide_scene(probs, voiced=voiced, config=config)
    unsure = scene == "other"
    vetoed = (features == "speech") & (probs[:, 0] < config.speech_floor)
    return np.where(unsure, np.where(vetoed, "other", features), scene)


def write_head(weights: dict[str, np.ndarray], path: Path) -> None:
    """The classifier head's arrays for :class:`SceneNet`: the 384 -> 512 layer and the
    rows of Speech, Singing, Music and :data:`RIVAL_ROWS` of the 512 -> 527 layer."""
    rows = [AUDIOSET_INDEX[name] for name in SCENE_CLASSES[:3]] + [int(r) for r in RIVAL_ROWS]
    np.savez(
        path,
        w1=weights["classifier.2.weight"].T.astype(np.float32),
        b1=weights["classifier.2.bias"].astype(np.float32),
        w2=weights["classifier.5.weight"][rows].T.astype(np.float32),
        b2=weights["classifier.5.bias"][rows].astype(np.float32),
        classes=np.array(json.dumps(SCENE_CLASSES)),
    )
