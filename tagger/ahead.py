"""Decoding the next track while the current one finishes.

At the end of a track the caller classifies its last windows while ffmpeg has nothing
left to decode: one core sits idle for ~50-80 ms a track. :class:`Lookahead` starts the
next track's decode (probing its file first when it is another video) at that moment, in
a thread (:class:`DecodeAhead`), so its first chunks are ready when the caller gets to it.
What the caller sees is unchanged: the same chunks, and the same errors, raised where the
caller reads them.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from types import TracebackType

import numpy as np

from tagger.media import MediaInfo, probe

__all__ = ["DecodeAhead", "Lookahead", "OpenStream"]

OpenStream = Callable[[str, int, MediaInfo], Iterator[np.ndarray]]
"""``open_stream(path, track, info)``: the chunks of one track (e.g. ``stream_audio``)."""

_END = object()


class DecodeAhead:
    """One track's decode, run ahead in a thread: ``open_stream``'s chunks wait in a queue
    of ``depth`` (memory: ``depth`` chunks plus the stream's own read-ahead). ``info``:
    the file's probe, or ``None`` to probe it in the thread first (``track=None``: its
    first audio track; a file without audio is probed, not decoded).

    Iterating yields the chunks and raises the decode's error, as iterating
    ``open_stream`` would; :meth:`close` stops the thread and the decode (ffmpeg is
    killed by the stream's own clean-up)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        track: int | None,
        info: MediaInfo | None,
        open_stream: OpenStream,
        depth: int = 2,
    ) -> None:
        self.path = os.fspath(path)
        self.track = track
        self._info = info
        self._probed = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(open_stream,), daemon=True, name="decode-ahead"
        )
        self._thread.start()

    def info(self) -> MediaInfo | None:
        """The file's probe once the thread has it; ``None`` when probing failed (the
        caller probes again and meets the error itself)."""
        self._probed.wait()
        return self._info

    def _run(self, open_stream: OpenStream) -> None:
        try:
            if self._info is None:
                self._info = probe(self.path)
            if self.track is None and self._info.audio_streams:
                self.track = self._info.audio_streams[0].track
        except Exception:  # reported by the caller's own probe
            self._info = None
        finally:
            self._probed.set()
        if self._info is None or self.track is None:
            return
        chunks: Iterator[np.ndarray] | None = None
        try:
            chunks = open_stream(self.path, self.track, self._info)
            for chunk in chunks:
                if not self._put(chunk):
                    return
            self._put(_END)
        except BaseException as exc:  # the decode's error, for the reader (never left waiting)
            self._put(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _put(self, item: object) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, np.ndarray)
            yield item

    def close(self) -> None:
        """Stop reading ahead and end the decode; waits for the thread (at most 5 s)."""
        self._stopped.set()
        while True:  # unblock a put() waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5.0)


class Lookahead:
    """At most one :class:`DecodeAhead` at a time, for one worker tagging tracks in turn:
    :meth:`start` it when the current track's decode ends, :meth:`take` it when its
    track comes up (any other decode still running is closed then, and by :meth:`close`)."""

    def __init__(self, open_stream: OpenStream) -> None:
        self._open_stream = open_stream
        self._ahead: DecodeAhead | None = None

    def start(
        self, path: str | os.PathLike[str], *, track: int | None = None, info: MediaInfo | None = None
    ) -> None:
        """Decode ``track`` of ``path`` ahead (``None``: probe the file, then its first
        audio track)."""
        self.close()
        self._ahead = DecodeAhead(path, track=track, info=info, open_stream=self._open_stream)

    def info_for(self, path: str | os.PathLike[str]) -> MediaInfo | None:
        """The probe of ``path`` if the decode ahead is that file's and it probed it."""
        ahead = self._ahead
        return ahead.info() if ahead is not None and ahead.path == os.fspath(path) else None

    def take(self, path: str | os.PathLike[str], track: int) -> DecodeAhead | None:
        """The decode ahead if it is ``track`` of ``path`` (the caller reads and closes it);
        otherwise ``None``, and a decode ahead of anything else is closed."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        if ahead.path == os.fspath(path) and ahead.info() is not None and ahead.track == track:
            return ahead
        ahead.close()
        return None

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def __enter__(self) -> Lookahead:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
