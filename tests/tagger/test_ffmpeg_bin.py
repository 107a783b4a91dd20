"""Resolution order of ffmpeg/ffprobe: environment, PATH, pip package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tagger import ffmpeg_bin
from tagger.errors import ConfigError


def test_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "my-ffmpeg"
    fake.write_text("#!/bin/sh\necho 'ffmpeg version fake'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("EMOTAG_FFMPEG", str(fake))
    exe = ffmpeg_bin.resolve("ffmpeg")
    assert (exe.path, exe.source) == (str(fake), "env")
    assert ffmpeg_bin.version_of(exe) == "ffmpeg version fake"


def test_bad_environment_variable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTAG_FFPROBE", "/no/such/ffprobe")
    with pytest.raises(ConfigError, match="EMOTAG_FFPROBE"):
        ffmpeg_bin.resolve("ffprobe")


@pytest.mark.parametrize("name", ["ffmpeg", "ffprobe"])
def test_pip_package_is_the_fallback(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.delenv(f"EMOTAG_{name.upper()}", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    exe = ffmpeg_bin.resolve(name)  # type: ignore[arg-type]
    assert exe.source == "pip"
    assert os.access(exe.path, os.X_OK)
    assert ffmpeg_bin.version_of(exe).startswith(f"{name} version")
