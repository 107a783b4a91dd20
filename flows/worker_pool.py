"""Tag videos in worker processes, outside Prefect: one video never sinks its batch, a
worker that dies fails only the video it had, and each worker loads the model once."""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import functools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tagger.ahead import Lookahead
from tagger.errors import EmotagError, NoAudioError
from tagger.media import MediaInfo, probe
from tagger.pipeline import TagConfig, TrackTags, tag_track, track_stream

__all__ = [
    "VideoJob",
    "VideoOutcome",
    "init_worker",
    "prestart_pool",
    "process_batch",
    "process_video",
    "shutdown_pools",
    "worker_classifier",
]


@dataclass(frozen=True)
class VideoJob:
    """One video to tag: where it is and its content fingerprint."""

    path: str
    video_id: str
    size_bytes: int
    mtime: float


@dataclass
class VideoOutcome:
    """What tagging one video produced: ``status`` ok / partial (tagged, but the audio
    ended early) / no_audio / failed, and ``error`` saying why for all but ok."""

    job: VideoJob
    status: str
    error: str | None = None
    info: MediaInfo | None = None
    tracks: list[TrackTags] = field(default_factory=list)
    audio_s: float = 0.0
    elapsed_s: float = 0.0


logger = logging.getLogger(__name__)


def init_worker(model_path: str | None) -> None:
    """Process-pool initializer: load the model once per worker process (it stays in
    :func:`tagger.model.load_model`'s cache). It runs the model's LiteRT file on one
    thread (the parent made sure the file exists, see :func:`tagger.model.litert_file`):
    no TensorFlow in the workers."""
    worker_classifier(model_path)


def worker_classifier(model_path: str | None) -> Any:
    """This process's classifier for ``model_path`` (loaded on first use, then cached by
    path and file state, so a second model in the same process is not mistaken for the first)."""
    from tagger.model import load_model

    return load_model(model_path)


def process_video(
    job: VideoJob,
    *,
    model_path: str | None,
    config: TagConfig,
    lookahead: Lookahead | None = None,
    following: str | None = None,
) -> VideoOutcome:
    """Probe and tag every audio track of ``job``; never raises for bad media.

    With a ``lookahead``, each track's decode starts while the track before it finishes,
    and the last track's starts the ``following`` file's (the next video this process
    will tag); a decode ahead of this video is taken from it."""
    started = time.perf_counter()
    try:
        info = (lookahead.info_for(job.path) if lookahead is not None else None) or probe(job.path)
        if not info.audio_streams:
            if lookahead is not None and following is not None:
                lookahead.start(following)
            return VideoOutcome(
                job,
                "no_audio",
                "no audio stream",
                info=info,
                elapsed_s=time.perf_counter() - started,
            )
        classifier = worker_classifier(model_path)
        tracks = [
            tag_track(
                job.path,
                track=s.track,
                classifier=classifier,
                config=config,
                info=info,
                decoded=lookahead.take(job.path, s.track) if lookahead is not None else None,
                on_decoded=_decode_next(lookahead, job.path, info, index=k, following=following),
            )
            for k, s in enumerate(info.audio_streams)
        ]
        short = _partial_reason(info, tracks)
        return VideoOutcome(
            job,
            "partial" if short else "ok",
            short,
            info=info,
            tracks=tracks,
            audio_s=sum(t.duration_s for t in tracks),
            elapsed_s=time.perf_counter() - started,
        )
    except NoAudioError as exc:
        return VideoOutcome(job, "no_audio", str(exc), elapsed_s=time.perf_counter() - started)
    except (EmotagError, OSError) as exc:  # bad media, or vanished/unreadable since discovery
        return VideoOutcome(
            job, "failed", f"{type(exc).__name__}: {exc}", elapsed_s=time.perf_counter() - started
        )
    except Exception as exc:  # a bug met on one file must not sink the run: record it, go on
        logger.exception("internal error while tagging %r", job.path)
        return VideoOutcome(
            job,
            "failed",
            f"internal error: {type(exc).__name__}: {exc}",
            elapsed_s=time.perf_counter() - started,
        )


def _decode_next(
    lookahead: Lookahead | None, path: str, info: MediaInfo, *, index: int, following: str | None
) -> Callable[[], None] | None:
    """What starts the decode after track ``index`` of ``path``: its next track, else the
    ``following`` file's first."""
    if lookahead is None:
        return None
    streams = info.audio_streams
    if index + 1 < len(streams):
        return functools.partial(lookahead.start, path, track=streams[index + 1].track, info=info)
    if following is not None:
        return functools.partial(lookahead.start, following)
    return None


def _process_decoding_ahead(job: VideoJob, *, model_path: str | None, config: TagConfig) -> VideoOutcome:
    """:func:`process_video` in a pool's worker: each of the video's tracks is decoded while
    the one before it finishes (the worker does not know its next video)."""
    with Lookahead(functools.partial(_track_stream, config=config)) as lookahead:
        return process_video(job, model_path=model_path, config=config, lookahead=lookahead)


def _track_stream(path: str, track: int, info: MediaInfo, *, config: TagConfig) -> Iterator[np.ndarray]:
    return track_stream(path, track=track, config=config, info=info)


def _partial_reason(info: MediaInfo, tracks: Sequence[TrackTags]) -> str | None:
    """Why a decode looks cut short (audio ends well before the duration its own stream
    declares; the container's duration may be the picture's, so it is not used)."""
    for stream, tags in zip(info.audio_streams, tracks, strict=True):
        declared = stream.duration_s
        if declared and tags.duration_s < 0.9 * declared - 1.0:
            return (
                f"partial: track {stream.track} decoded {tags.duration_s:.1f} s of "
                f"{declared:.1f} s declared (truncated or damaged file)"
            )
    return None


def process_batch(
    jobs: Sequence[VideoJob], *, model_path: str | None, config: TagConfig, workers: int = 1
) -> list[VideoOutcome]:
    """Tag ``jobs`` in ``workers`` processes (in this process when ``workers <= 1``).

    A worker that dies (killed, out of memory) fails only the videos it had; the
    others finish, and the pool is rebuilt for what was still queued. Batches called
    from several threads share the run's pool, so the workers stay busy while a batch
    is being written; in-process batches tag one at a time.
    """
    if workers <= 1:
        with _IN_PROCESS, Lookahead(functools.partial(_track_stream, config=config)) as lookahead:
            return [
                process_video(
                    job,
                    model_path=model_path,
                    config=config,
                    lookahead=lookahead,
                    following=jobs[i + 1].path if i + 1 < len(jobs) else None,
                )
                for i, job in enumerate(jobs)
            ]
    outcomes: dict[int, VideoOutcome] = {}
    pending = list(range(len(jobs)))
    while pending:
        broken = _run_pool(jobs, pending, outcomes, model_path=model_path, config=config, workers=workers)
        if broken:
            # Which video killed its worker is unknown: the pool fails everything in flight.
            # Rerun the earliest unfinished ones (those that were running) one per fresh
            # process, so only the culprit fails; the rest go round again.
            unfinished = [i for i in pending if i not in outcomes]
            for index in unfinished[: workers + 1]:
                outcomes[index] = _isolated(jobs[index], model_path=model_path, config=config)
        pending = [i for i in pending if i not in outcomes]
    return [outcomes[i] for i in range(len(jobs))]


# One thread per worker process: the parallelism is the processes; BLAS or OpenMP
# spinning up a thread per core in every worker oversubscribes the CPU.
_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)
_POOLS: dict[tuple[int, str | None], cf.ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()
_IN_PROCESS = threading.Lock()  # one in-process batch tags at a time (others may write)


def _pool(workers: int, model_path: str | None) -> cf.ProcessPoolExecutor:
    for name in _THREAD_ENV:  # inherited by the spawned workers; explicit settings win
        os.environ.setdefault(name, "1")
    return cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(model_path,),
    )


def _shared_pool(workers: int, model_path: str | None) -> cf.ProcessPoolExecutor:
    """A pool kept for the whole run, so each worker loads the model once per run,
    not once per batch; batches running at once share it."""
    key = (workers, model_path)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = _pool(workers, model_path)
        return pool


def _retire(workers: int, model_path: str | None, pool: cf.ProcessPoolExecutor) -> None:
    """Drop ``pool`` after a worker death broke it, unless another batch already put a
    fresh pool in its place (that one is left alone)."""
    with _POOLS_LOCK:
        if _POOLS.get((workers, model_path)) is pool:
            del _POOLS[(workers, model_path)]
    pool.shutdown(wait=False, cancel_futures=True)


def prestart_pool(*, workers: int, model_path: str | None) -> None:
    """Start the run's ``workers`` processes now, so they load the model while the
    parent still plans and records (no-op for ``workers <= 1``)."""
    if workers > 1:
        pool = _shared_pool(workers, model_path)
        for _ in range(workers):
            pool.submit(os.getpid)


@atexit.register
def shutdown_pools() -> None:
    """Stop the worker processes (at exit, or when a flow run is over)."""
    with _POOLS_LOCK:
        for pool in _POOLS.values():
            pool.shutdown(wait=True, cancel_futures=True)
        _POOLS.clear()


def _run_pool(
    jobs: Sequence[VideoJob],
    pending: Sequence[int],
    outcomes: dict[int, VideoOutcome],
    *,
    model_path: str | None,
    config: TagConfig,
    workers: int,
) -> bool:
    """Fill ``outcomes`` for ``pending`` jobs; True when a worker died on the way."""
    broken = False
    pool = _shared_pool(workers, model_path)
    try:
        futures = {
            pool.submit(_process_decoding_ahead, jobs[i], model_path=model_path, config=config): i
            for i in pending
        }
    except (cf.process.BrokenProcessPool, RuntimeError):  # broken, or shut down by a retire
        _retire(workers, model_path, pool)
        return True
    for future in cf.as_completed(futures):
        index = futures[future]
        try:
            outcomes[index] = future.result()
        except (cf.process.BrokenProcessPool, cf.CancelledError):
            broken = True  # a worker died here, or in a batch sharing the pool
        except Exception as exc:  # a bug on one video must not sink the batch
            outcomes[index] = VideoOutcome(jobs[index], "failed", f"worker error: {exc!r}")
    if broken:
        _retire(workers, model_path, pool)
    return broken


def _isolated(job: VideoJob, *, model_path: str | None, config: TagConfig) -> VideoOutcome:
    with _pool(1, model_path) as pool:
        try:
            return pool.submit(process_video, job, model_path=model_path, config=config).result()
        except cf.process.BrokenProcessPool:
            return VideoOutcome(job, "failed", "worker process died while tagging (killed or crashed)")
        except Exception as exc:
            return VideoOutcome(job, "failed", f"worker error: {exc!r}")
