"""Walk a video library and fingerprint its files (no Prefect, no audio here).

``video_id`` is a content fingerprint: sha256 over the size and the first, middle
and last MiB, so a moved or renamed file keeps its id and an edited one gets a new one.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import queue
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_EXTENSIONS",
    "Candidate",
    "Inputs",
    "discover",
    "expand_inputs",
    "fingerprint",
    "glob_matches",
]

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


def fingerprint(path: str | os.PathLike[str], *, block: int = _MIB, timeout_s: float = 60.0) -> str:
    """sha256 hex over (size, first, middle and last ``block`` bytes) of the file.

    Raises :class:`OSError` for anything but a regular file (a FIFO or device put in
    the file's place is refused, never waited on) and :class:`TimeoutError` when
    reading takes longer than ``timeout_s`` seconds (a hung network mount).
    """
    outcome: queue.Queue[str | BaseException] = queue.Queue(maxsize=1)

    def read() -> None:
        try:
            outcome.put(_fingerprint(os.fspath(path), block=block))
        except BaseException as exc:
            outcome.put(exc)

    # A thread stuck in a read() system call cannot be stopped; it is left behind as a
    # daemon and the file is reported instead of hanging the run.
    threading.Thread(target=read, name="fingerprint", daemon=True).start()
    try:
        result = outcome.get(timeout=timeout_s)
    except queue.Empty:
        raise TimeoutError(f"reading {path!r} took more than {timeout_s:g} s") from None
    if isinstance(result, BaseException):
        raise result
    return result


def _fingerprint(path: str, *, block: int) -> str:
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"not a regular file: {path!r}")
        size = info.st_size
        digest = hashlib.sha256(str(size).encode() + b"\0")
        for offset in sorted({0, max(0, size // 2 - block // 2), max(0, size - block)}):
            handle.seek(offset)
            digest.update(handle.read(block))
    return digest.hexdigest()


@dataclass(frozen=True)
class Inputs:
    """What the user named: ``roots`` (folders to walk), ``files`` (taken as named) and
    ``matched`` (files a glob found, under the same rules as a folder walk)."""

    roots: list[str]
    files: list[str]
    matched: list[str]


def expand_inputs(inputs: Sequence[str], *, follow_outside: bool = False) -> Inputs:
    """Split ``inputs`` into folders, named files and glob matches.

    A glob (``*``, ``?``, ``[…]``, ``**``) is matched by walking its fixed leading folder
    with the folder-walk rules: hidden entries skipped, each folder once (no symlink
    loops), nothing outside that folder through symlinks unless ``follow_outside``.
    """
    found = Inputs([], [], [])
    for item in inputs:
        if not glob.has_magic(item):
            (found.roots if os.path.isdir(item) else found.files).append(os.path.abspath(item))
            continue
        for match in glob_matches(item, follow_outside=follow_outside):
            (found.roots if os.path.isdir(match) else found.matched).append(match)
    return found


def glob_matches(pattern: str, *, follow_outside: bool = False) -> list[str]:
    """Absolute paths (files and folders) under ``pattern``'s fixed leading folder that
    match it, ``**`` standing for any number of folders; hidden names never match; sorted."""
    parts = os.path.abspath(pattern).split(os.sep)
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = os.sep.join(parts[:fixed]) or os.sep
    wanted = parts[fixed:]
    if not os.path.isdir(base):
        return []
    real_roots = [os.path.realpath(base)]
    matches = []
    for path in _walk(base, real_roots, follow_outside, with_folders=True):
        parts = os.path.relpath(path, base).split(os.sep)
        if not any(part.startswith(".") for part in parts) and _match_parts(wanted, parts):
            matches.append(path)
    return sorted(matches)


def _match_parts(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """Whether path components ``parts`` match glob components ``pattern``."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match_parts(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _match_parts(rest, parts[1:])


def discover(
    roots: Sequence[str],
    *,
    files: Sequence[str] = (),
    matched: Sequence[str] = (),
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    min_age_s: float = 0.0,
    follow_outside: bool = False,
    now: float | None = None,
    too_new: list[str] | None = None,
) -> list[Candidate]:
    """Media files under ``roots`` (recursive), glob ``matched`` files and named ``files``,
    sorted by path.

    Skips hidden files and folders, temporary/partial downloads, symlink loops, and
    symlinks that resolve outside every root unless ``follow_outside``. Files found by a
    walk or a glob that were modified less than ``min_age_s`` seconds ago (still being
    copied) wait for a later run (their paths are appended to ``too_new`` when given);
    files named one by one are taken as they are.
    """
    wanted = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    real_roots = [os.path.realpath(r) for r in roots]
    moment = time.time() if now is None else now
    found: dict[str, Candidate] = {}
    walked = [*(p for root in roots for p in _walk(root, real_roots, follow_outside)), *matched]
    named = set(files)
    for path in [*walked, *files]:
        name = os.path.basename(path)
        if name.startswith(".") or name.lower().endswith(_TEMP_SUFFIXES):
            continue
        if os.path.splitext(name)[1].lower() not in wanted:
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue  # vanished or dangling symlink
        if not stat.S_ISREG(info.st_mode):
            continue
        if path not in named and moment - info.st_mtime < min_age_s:
            if too_new is not None:
                too_new.append(os.path.abspath(path))
            continue
        found[os.path.abspath(path)] = Candidate(os.path.abspath(path), info.st_size, info.st_mtime)
    return [found[p] for p in sorted(found)]


def _walk(
    root: str, real_roots: Sequence[str], follow_outside: bool, *, with_folders: bool = False
) -> Iterator[str]:
    """Paths of the files (and folders, ``with_folders``) under ``root``; each folder once."""
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
        if with_folders:
            yield from (os.path.join(folder, d) for d in dirs)
        for name in sorted(names):
            path = os.path.join(folder, name)
            if follow_outside or _inside(path, real_roots):
                yield path


def _inside(path: str, real_roots: Sequence[str]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == Path(r) or Path(r) in real.parents for r in real_roots)
