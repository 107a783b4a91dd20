"""Catalogue errors, part of emotag's one exception tree (root: ``EmotagError``)."""

from __future__ import annotations

from tagger.errors import EmotagError

__all__ = ["CatalogError"]


class CatalogError(EmotagError):
    """The catalogue could not be read or written, or rows do not match its schema."""
