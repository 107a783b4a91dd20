"""A child process writing to a pipe (ffmpeg decoding to PCM): its stdout read ahead in
fixed-size chunks by a thread, the tail of its stderr kept, and the process killed once
the time spent waiting on it exceeds a limit. No media knowledge here."""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

from tagger.errors import DecodeError

__all__ = ["ReadAhead", "StderrTail", "Watchdog", "cap_malloc_arenas", "keep_on_one_cpu", "widen_pipe"]

_STDERR_KEEP_BYTES = 64 * 1024
PIPE_BYTES = 1024 * 1024  # Linux's default ceiling for an unprivileged pipe (pipe-max-size)


def widen_pipe(stream: Any, *, size: int = PIPE_BYTES) -> int:
    """Grow the kernel buffer of the pipe behind ``stream`` to ``size`` bytes where the
    system allows it (Linux ``F_SETPIPE_SZ``); returns the size in effect, 0 if unknown.

    The default 64 KiB holds ~1 s of 16 kHz float32 audio, so ffmpeg can block on a full
    pipe whenever the reader thread waits for the GIL; 1 MiB holds 16 s. Measured gain is
    within noise (`benchmarks.pipeline --workers-only`, pipeline / floor 1.28 and 1.36x
    with it, 1.38 and 1.35x without); kept because it costs one system call.
    """
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return 0
    try:
        return int(fcntl.fcntl(stream.fileno(), set_size, size))
    except OSError:  # above pipe-max-size, or not a pipe: keep what the system gave
        return 0


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


@functools.cache
def cap_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc use at most ``arenas`` arenas in this process from now on (once
    per process; not where ``MALLOC_ARENA_MAX`` is set, which says the same, nor without
    glibc). Returns whether the cap was set. Call it before threads start: arenas made
    before stay.

    glibc gives a thread its own arena; every decode starts a reader thread that
    allocates multi-megabyte chunks, and memory freed in an arena is kept for reuse by
    that arena. Tagging a 20-video library in one process peaked at 435 MB, 283 MB with
    the cap, in the same time (``MALLOC_ARENA_MAX`` does the same from the environment).
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(None)  # this process's symbols, libc's among them (no ldconfig run)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False


_next_cpu = itertools.count(os.getpid())


def keep_on_one_cpu(pid: int) -> int | None:
    """Keep process ``pid`` (all its threads) on one of the CPUs this process may use,
    taken in turn from a per-process starting point; returns that CPU, or ``None`` when
    the system cannot pin (not Linux) or refuses, or ``EMOTAG_PIN_FFMPEG=0``.

    ffmpeg (7 and later) runs demuxer, decoder, filters and muxer in threads that hand
    over every packet (~21 ms of AAC audio); spread over cores, each hand-over is a
    cross-core wake-up. On one core the same decode took 10.8 CPU-s instead of 16.0 for
    126 min of audio, and left the other core to the feature code.
    """
    if os.environ.get("EMOTAG_PIN_FFMPEG", "1") == "0" or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        allowed = sorted(os.sched_getaffinity(0))
        cpu = allowed[next(_next_cpu) % len(allowed)]
        os.sched_setaffinity(pid, {cpu})
    except OSError:  # the process is gone, or a policy forbids it: run unpinned
        return None
    return cpu


class ReadAhead:
    """Reads chunks from ffmpeg's stdout in a thread, up to ``depth`` ahead, so ffmpeg
    decodes while the consumer computes features (its pipe buffer alone holds only
    ~4 ms of audio). Memory: ``depth + 1`` chunks. Iterating yields byte chunks of
    ``chunk_bytes`` (the last may be shorter) until end of stream or a timeout.

    ``first_bytes`` (a multiple of 4, at most ``chunk_bytes``): the first chunks grow from
    it, :data:`RAMP` times each, up to ``chunk_bytes``, so the consumer starts on the
    track's first second instead of waiting for ffmpeg's first 30 s (~50 ms a track,
    with every other core idle), and stays behind ffmpeg from then on."""

    _END = b""
    RAMP = 4

    def __init__(
        self,
        stream: Any,
        *,
        chunk_bytes: int,
        watchdog: Watchdog,
        depth: int = 2,
        first_bytes: int | None = None,
    ) -> None:
        self._stream = stream
        self._chunk_bytes = chunk_bytes
        self._first_bytes = chunk_bytes if first_bytes is None else max(4, min(first_bytes, chunk_bytes))
        self._watchdog = watchdog
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        size = self._first_bytes
        try:
            while not self._stopped.is_set():
                self._watchdog.waiting()
                payload = _read_exactly(self._stream, size)
                self._watchdog.idle()
                if self._watchdog.fired or not payload:
                    break
                self._put(payload)
                if len(payload) < size:
                    break
                size = min(self._chunk_bytes, size * self.RAMP)
        except (OSError, ValueError) as exc:  # pipe closed under us when stopping
            if not self._stopped.is_set():
                self._put(exc)
        finally:
            self._watchdog.idle()
            self._put(self._END)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise DecodeError(f"reading ffmpeg output failed: {item}")
            if item is self._END or not item:
                return
            yield item

    def stop(self) -> None:
        self._stopped.set()

    def join(self) -> None:
        self._thread.join(timeout=5.0)


def _read_exactly(stream: Any, n_bytes: int) -> bytes:
    """Read ``n_bytes`` from an unbuffered pipe, fewer only at end of stream."""
    parts: list[bytes] = []
    remaining = n_bytes
    while remaining > 0:
        part = stream.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


class StderrTail:
    """Drains a process's stderr in a thread (so it never blocks) and keeps the tail."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._buffer = bytearray()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        for line in iter(lambda: self._stream.read(4096), b""):
            self._buffer.extend(line)
            if len(self._buffer) > _STDERR_KEEP_BYTES:
                del self._buffer[: len(self._buffer) - _STDERR_KEEP_BYTES]

    def join(self) -> None:
        self._thread.join(timeout=5.0)

    @property
    def text(self) -> str:
        return self._buffer.decode("utf-8", "replace")


class Watchdog:
    """Kills a process once the time spent waiting on it exceeds ``timeout_s`` seconds."""

    def __init__(self, process: subprocess.Popen[bytes], *, timeout_s: float) -> None:
        self._process = process
        self._timeout_s = timeout_s
        self._spent_s = 0.0
        self._since: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.fired = False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def waiting(self) -> None:
        with self._lock:
            self._since = time.monotonic()

    def idle(self) -> None:
        with self._lock:
            if self._since is not None:
                self._spent_s += time.monotonic() - self._since
            self._since = None

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            with self._lock:
                spent = self._spent_s
                if self._since is not None:
                    spent += time.monotonic() - self._since
            if spent > self._timeout_s:
                self.fired = True
                self._process.kill()
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
