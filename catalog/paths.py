"""File system paths as catalogue text: every name recorded, whatever bytes it holds.

POSIX file names are bytes; Python gives the ones that are not UTF-8 as strings with
lone surrogates (PEP 383), which Parquet, JSON and terminals refuse.
"""

from __future__ import annotations

__all__ = ["display_path", "text_of"]


def text_of(value: str) -> str:
    """``value`` as valid UTF-8 text. Bytes of a file name that are not UTF-8 (Python
    holds them as lone surrogates, PEP 383) are written as ``\\xNN`` escapes."""
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


def display_path(path: str) -> str:
    """The ``videos.path`` text of a file system path (see :func:`text_of`); the exact
    bytes go to ``videos.path_bytes``."""
    return text_of(path)
