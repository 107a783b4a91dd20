"""Instrumentation for the pipeline benchmark's child processes: time per pipeline
stage (by wrapping the stage functions), peak RSS of this process and of its ffmpeg
children. Used only by :mod:`benchmarks.pipeline`."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["ChildPeakRss", "StageClock", "instrument", "rusage"]


class StageClock:
    """Accumulates seconds per stage name (wrappers installed by :func:`instrument`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return wrapper

    def timed_iter(self, name: str, fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        """Wrap a generator function: the time spent producing each item counts."""

        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            iterator = fn(*args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    self.seconds[name] += time.perf_counter() - started
                    return
                self.seconds[name] += time.perf_counter() - started
                yield item

        return wrapper


def instrument(clock: StageClock) -> None:
    """Wrap the stage functions the in-process (1-worker) pipeline calls, so their time
    is attributed: decode (waiting on ffmpeg's pipe), probe, frame features, windowing,
    window aggregates, speech, model (load and predict)."""
    import flows.worker_pool
    import tagger.features
    import tagger.frontend
    import tagger.model
    import tagger.windows

    flows.worker_pool.probe = clock.timed("probe", flows.worker_pool.probe)  # type: ignore[attr-defined]
    flows.worker_pool.worker_classifier = clock.timed("model_load", flows.worker_pool.worker_classifier)
    tagger.frontend.stream_audio = clock.timed_iter("decode", tagger.frontend.stream_audio)  # type: ignore[attr-defined]
    tagger.frontend.aggregate_windows = clock.timed("window_aggregates", tagger.frontend.aggregate_windows)  # type: ignore[attr-defined]
    tagger.frontend.detect_speech = clock.timed("speech", tagger.frontend.detect_speech)  # type: ignore[attr-defined]
    tagger.frontend.make_batch = clock.timed("batching", tagger.frontend.make_batch)
    tagger.model.Classifier.predict = clock.timed("model_predict", tagger.model.Classifier.predict)  # type: ignore[method-assign]

    featurizer = tagger.features.FrameFeaturizer  # the class the front end uses
    featurizer.push = clock.timed("frame_features", featurizer.push)  # type: ignore[method-assign]
    featurizer.finish = clock.timed("frame_features", featurizer.finish)  # type: ignore[method-assign]
    windower = tagger.windows.Windower
    windower.push = clock.timed_iter("windowing", windower.push)  # type: ignore[method-assign]
    windower.finish = clock.timed_iter("windowing", windower.finish)  # type: ignore[method-assign]


def rusage() -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "peak_rss_self_mb": me.ru_maxrss / 1024,
        "peak_rss_children_mb": children.ru_maxrss / 1024,
        "cpu_s": me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime,
    }


class ChildPeakRss:
    """Samples the true peak RSS (``VmHWM``) of this process's child processes (ffmpeg)
    every ``interval_s`` seconds from ``/proc``.

    Needed because ``RUSAGE_CHILDREN``'s ``ru_maxrss`` is not the child's own peak on
    Linux: ``exec`` keeps the high-water mark of the memory it replaces, so a child
    spawned from a 900 MB Python process reports about 900 MB whatever it used.
    """

    def __init__(self, *, interval_s: float = 0.5) -> None:
        self.peak_mb = 0.0
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildPeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(self._interval_s):
            for entry in os.listdir("/proc"):
                try:
                    if not entry.isdigit() or _stat_ppid(entry) != me:
                        continue
                    status = Path(f"/proc/{entry}/status").read_text()
                except (OSError, IndexError):
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)


def _stat_ppid(pid: str) -> str:
    """Parent pid from ``/proc/<pid>/stat`` (the field after the parenthesised name)."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        text = handle.read().decode("ascii", "replace")
    return text.rsplit(")", 1)[1].split()[1]
