"""Progress reporting: log lines when not on a terminal, a bar when on one."""

from __future__ import annotations

import logging

import pytest

from flows.progress import RunProgress


def test_plain_log_lines_carry_counts_speed_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("progress-test")
    with (
        caplog.at_level(logging.INFO, logger="progress-test"),
        RunProgress(total=4, logger=logger, interactive=False) as progress,
    ):
        progress.advance(2, 60.0)
        progress.advance(2, 60.0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("tagging: 2/4 videos") and "realtime" in lines[0] and "ETA" in lines[0]
    assert lines[-1].startswith("tagging: 4/4 videos")


def test_interactive_bar_counts_to_the_total() -> None:
    with RunProgress(total=3, logger=logging.getLogger("x"), interactive=True) as progress:
        for _ in range(3):
            progress.advance(1, 5.0)
        assert progress._bar.tasks[0].completed == 3
