"""Walk a video library and fingerprint its files (no Prefect, no audio here).

``video_id`` is a content fingerprint: sha256 over the size and the first, middle
and last MiB, so a moved or renamed file keeps its id and an edited one gets a new one.
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_EXTENSIONS", "Candidate", "discover", "expand_inputs", "fingerprint"]

DEFAULT_EXTENSIONS: tuple[str, ...] = (
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".mpg",
    ".mpeg",
    ".ts",
    ".m2ts",
    ".mts",
    ".wmv",
    ".flv",
    ".ogv",
    ".3gp",
    ".mxf",
    ".m4a",
    ".mp3",
    ".wav",
    ".flac",
    ".ogg",
    ".opus",
)
_TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", "~")
_MIB = 1 << 20


@dataclass(frozen=True)
class Candidate:
    """A file found in the library: absolute ``path``, ``size_bytes``, ``mtime`` (epoch s)."""

    path: str
    size_bytes: int
    mtime: float


def fingerprint(path: str | os.PathLike[str], *, block: int = _MIB) -> str:
    """sha256 hex over (size, first, middle and last ``block`` bytes) of the file."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest = hashlib.sha256(str(size).encode() + b"\0")
        for offset in sorted({0, max(0, size // 2 - block // 2), max(0, size - block)}):
            handle.seek(offset)
            digest.update(handle.read(block))
    return digest.hexdigest()


def expand_inputs(inputs: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``inputs`` into folders to walk and files to take, expanding globs."""
    roots: list[str] = []
    files: list[str] = []
    for item in inputs:
        matches = sorted(glob.glob(item, recursive=True)) if glob.has_magic(item) else [item]
        for match in matches:
            (roots if os.path.isdir(match) else files).append(os.path.abspath(match))
    return roots, files


def discover(
    roots: Sequence[str],
    *,
    files: Sequence[str] = (),
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    min_age_s: float = 0.0,
    follow_outside: bool = False,
    now: float | None = None,
) -> list[Candidate]:
    """Media files under ``roots`` (recursive) plus ``files``, sorted by path.

    Skips hidden files and folders, temporary/partial downloads, files modified less
    than ``min_age_s`` seconds ago (still being copied), symlink loops, and symlinks
    that resolve outside every root unless ``follow_outside``.
    """
    wanted = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    real_roots = [os.path.realpath(r) for r in roots]
    moment = time.time() if now is None else now
    found: dict[str, Candidate] = {}
    paths = [*(p for root in roots for p in _walk(root, real_roots, follow_outside)), *files]
    for path in paths:
        name = os.path.basename(path)
        if name.startswith(".") or name.lower().endswith(_TEMP_SUFFIXES):
            continue
        if os.path.splitext(name)[1].lower() not in wanted:
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue  # vanished or dangling symlink
        if not stat.S_ISREG(info.st_mode) or moment - info.st_mtime < min_age_s:
            continue
        found[os.path.abspath(path)] = Candidate(os.path.abspath(path), info.st_size, info.st_mtime)
    return [found[p] for p in sorted(found)]


def _walk(root: str, real_roots: Sequence[str], follow_outside: bool) -> Iterator[str]:
    seen_dirs: set[tuple[int, int]] = set()
    for folder, dirs, names in os.walk(root, followlinks=True):
        try:
            info = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen_dirs:  # symlink loop or a second way in
            dirs[:] = []
            continue
        seen_dirs.add((info.st_dev, info.st_ino))
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and (follow_outside or _inside(os.path.join(folder, d), real_roots))
        )
        for name in sorted(names):
            path = os.path.join(folder, name)
            if follow_outside or _inside(path, real_roots):
                yield path


def _inside(path: str, real_roots: Sequence[str]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == Path(r) or Path(r) in real.parents for r in real_roots)
