"""Flow fixtures: one Prefect test harness per session, a tiny model, a test library."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.media import CORPUS

GOOD = [
    "mp4_aac",
    "mkv_opus",
    "webm_vorbis",
    "mov_pcm",
    "two_tracks",
    "short",
    "audio_only",
    "unicode_name",
]
BAD = {"zero_byte": "empty", "truncated": "moov atom not found", "garbage": "EBML"}


@pytest.fixture
def library(tmp_path: Path, make_media: Callable[[str], Path]) -> Path:
    """~12 videos: good ones in several containers, a no-audio one, three broken ones."""
    root = tmp_path / "library"
    (root / "sub folder").mkdir(parents=True)
    for i, name in enumerate([*GOOD, "no_audio", *BAD]):
        source = make_media(name)
        target = root / ("sub folder" if i % 2 else "") / source.name
        shutil.copyfile(source, target)
    if (CORPUS / "manifest.tsv").is_file():
        shutil.copyfile(make_media("speech"), root / "speech.mp4")
    (root / ".hidden.mp4").write_bytes(b"ignored")
    (root / "notes.txt").write_text("not media")
    return root
