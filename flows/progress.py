"""Run progress: a live bar (videos done/total, ×realtime, ETA) on a terminal, plain
log lines otherwise (cron, CI, Prefect workers)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

__all__ = ["RunProgress"]


class RunProgress:
    """Call :meth:`advance` after each batch; use as a context manager."""

    def __init__(
        self, *, total: int, logger: Any, label: str = "tagging", interactive: bool | None = None
    ) -> None:
        self.total = total
        self.done = 0
        self.audio_s = 0.0
        self.logger = logger
        self.label = label
        self.started = time.perf_counter()
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> RunProgress:
        if self.interactive and self.total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("videos · {task.fields[speed]}"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, speed="")
        return self

    def advance(self, n_videos: int, audio_s: float) -> None:
        self.done += n_videos
        self.audio_s += audio_s
        elapsed = time.perf_counter() - self.started
        speed = f"{self.audio_s / elapsed:.0f}× realtime" if elapsed > 0 else ""
        if self._bar is not None:
            self._bar.update(self._task, advance=n_videos, speed=speed)
            return
        remaining = (self.total - self.done) * elapsed / self.done if self.done else 0.0
        self.logger.info(
            "%s: %d/%d videos, %s, ETA %.0f s", self.label, self.done, self.total, speed, remaining
        )

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
