"""The work of a batch, outside Prefect: tag videos in worker processes, turn the
results into catalogue rows and write them. Flows call these through thin tasks."""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import dataclasses
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from catalog import SCHEMAS, Catalog, UnitRows, display_path, text_of, unit_rows, video_row
from tagger.errors import EmotagError, NoAudioError
from tagger.media import MediaInfo, probe
from tagger.pipeline import TagConfig, TrackTags, tag_track

__all__ = [
    "BatchReport",
    "VideoJob",
    "VideoOutcome",
    "process_batch",
    "process_video",
    "write_outcomes",
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


@dataclass
class BatchReport:
    """Counts of a written batch and the label distribution of its speech windows."""

    n_tagged: int = 0
    n_failed: int = 0
    n_no_audio: int = 0
    n_units: int = 0
    audio_s: float = 0.0
    work_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)

    def add(self, other: BatchReport) -> None:
        for name in ("n_tagged", "n_failed", "n_no_audio", "n_units", "audio_s", "work_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures += other.failures
        for label, count in other.label_counts.items():
            self.label_counts[label] = self.label_counts.get(label, 0) + count


logger = logging.getLogger(__name__)

_WORKER_STATE: dict[str, Any] = {}


def _init_worker(model_path: str | None) -> None:
    """Process-pool initializer: load the model once per worker process (with the
    thread limits the pool set in the environment)."""
    intra, inter = os.environ.get("TF_NUM_INTRAOP_THREADS"), os.environ.get("TF_NUM_INTEROP_THREADS")
    if intra or inter:
        import tensorflow as tf

        if intra:
            tf.config.threading.set_intra_op_parallelism_threads(int(intra))
        if inter:
            tf.config.threading.set_inter_op_parallelism_threads(int(inter))
    from tagger.model import load_model

    _WORKER_STATE["classifier"] = load_model(model_path)


def _classifier(model_path: str | None) -> Any:
    if "classifier" not in _WORKER_STATE:
        _init_worker(model_path)
    return _WORKER_STATE["classifier"]


def process_video(job: VideoJob, *, model_path: str | None, config: TagConfig) -> VideoOutcome:
    """Probe and tag every audio track of ``job``; never raises for bad media."""
    started = time.perf_counter()
    try:
        info = probe(job.path)
        if not info.audio_streams:
            return VideoOutcome(
                job,
                "no_audio",
                "no audio stream",
                info=info,
                elapsed_s=time.perf_counter() - started,
            )
        classifier = _classifier(model_path)
        tracks = [
            tag_track(job.path, track=s.track, classifier=classifier, config=config, info=info)
            for s in info.audio_streams
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
    except EmotagError as exc:
        return VideoOutcome(
            job, "failed", f"{type(exc).__name__}: {exc}", elapsed_s=time.perf_counter() - started
        )
    except OSError as exc:  # vanished or unreadable between discovery and decode
        return VideoOutcome(
            job, "failed", f"{type(exc).__name__}: {exc}", elapsed_s=time.perf_counter() - started
        )
    except Exception as exc:  # a bug met on one file must not sink the run: record it, go on
        logger.exception("internal error while tagging %s", display_path(job.path))
        return VideoOutcome(
            job,
            "failed",
            f"internal error: {type(exc).__name__}: {exc}",
            elapsed_s=time.perf_counter() - started,
        )


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
    others finish, and the pool is rebuilt for what was still queued.
    """
    if workers <= 1:
        return [process_video(job, model_path=model_path, config=config) for job in jobs]
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


# One thread per worker process: the parallelism is the processes; TensorFlow and BLAS
# each spinning up a thread per core in every worker oversubscribes the CPU.
_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
_POOLS: dict[tuple[int, str | None], cf.ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int, model_path: str | None) -> cf.ProcessPoolExecutor:
    for name in _THREAD_ENV:  # inherited by the spawned workers; explicit settings win
        os.environ.setdefault(name, "1")
    return cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(model_path,),
    )


def _shared_pool(workers: int, model_path: str | None) -> cf.ProcessPoolExecutor:
    """A pool kept for the whole run, so each worker loads the model once per run,
    not once per batch; replaced when a worker death has broken it."""
    key = (workers, model_path)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or getattr(pool, "_broken", False):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            pool = _POOLS[key] = _pool(workers, model_path)
        return pool


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
            pool.submit(process_video, jobs[i], model_path=model_path, config=config): i for i in pending
        }
    except cf.process.BrokenProcessPool:
        return True
    for future in cf.as_completed(futures):
        index = futures[future]
        try:
            outcomes[index] = future.result()
        except cf.process.BrokenProcessPool:
            broken = True
        except Exception as exc:  # a bug on one video must not sink the batch
            outcomes[index] = VideoOutcome(jobs[index], "failed", f"worker error: {exc!r}")
    return broken


def _isolated(job: VideoJob, *, model_path: str | None, config: TagConfig) -> VideoOutcome:
    with _pool(1, model_path) as pool:
        try:
            return pool.submit(process_video, job, model_path=model_path, config=config).result()
        except cf.process.BrokenProcessPool:
            return VideoOutcome(job, "failed", "worker process died while tagging (killed or crashed)")
        except Exception as exc:
            return VideoOutcome(job, "failed", f"worker error: {exc!r}")


def write_outcomes(
    catalog: Catalog, outcomes: Sequence[VideoOutcome], *, run_id: str, replace: bool
) -> BatchReport:
    """Record every video (whatever its status), its tracks and its tagged units."""
    now = datetime.now(UTC)
    report = BatchReport()
    video_rows: list[dict[str, Any]] = []
    track_rows: list[dict[str, Any]] = []
    units: list[UnitRows] = []
    for outcome in outcomes:
        job, info = outcome.job, outcome.info
        video_rows.append(
            video_row(
                video_id=job.video_id,
                path=job.path,
                size_bytes=job.size_bytes,
                mtime=job.mtime,
                status=outcome.status,
                error=outcome.error,
                duration_s=info.duration_s if info else None,
                container=info.container if info else None,
                n_audio_tracks=info.n_audio_tracks if info else None,
                seen_at=now,
            )
        )
        report.work_s += outcome.elapsed_s
        if outcome.status == "failed":
            report.n_failed += 1
            report.failures.append((display_path(job.path), text_of(outcome.error or "unknown error")))
            continue
        if outcome.status == "no_audio":
            report.n_no_audio += 1
            continue
        report.n_tagged += 1
        report.audio_s += outcome.audio_s
        assert info is not None
        for stream, tags in zip(info.audio_streams, outcome.tracks, strict=True):
            track_rows.append(
                {
                    "video_id": job.video_id,
                    "track_index": stream.track,
                    "codec": stream.codec,
                    "channels": stream.channels,
                    "sample_rate": stream.sample_rate,
                    "language": stream.language,
                    "duration_s": tags.duration_s,
                }
            )
            units.append(_unit(job.video_id, stream.track, tags))
            for label in tags.labels:
                report.label_counts[label] = report.label_counts.get(label, 0) + 1
    catalog.record_videos(pa.Table.from_pylist(video_rows, schema=SCHEMAS["videos"]))
    if track_rows:
        catalog.record_tracks(pa.Table.from_pylist(track_rows, schema=SCHEMAS["tracks"]))
    report.n_units = len(catalog.write_units(units, run_id=run_id, replace=replace))
    return report


def _unit(video_id: str, track: int, tags: TrackTags) -> UnitRows:
    return unit_rows(
        video_id=video_id,
        track_index=track,
        model_version=tags.model_version,
        start_s=tags.start_s,
        end_s=tags.end_s,
        is_speech=tags.is_speech,
        labels=tags.labels,
        probs=tags.probs,
        segments=[dataclasses.asdict(s) for s in tags.segments],
        profile=dataclasses.asdict(tags.profile),
    )
