"""Object-storage settings of a catalogue: where they come from, and whether commits are safe.

Delta commits on S3 are safe only when the store refuses a second write of the same
``_delta_log`` entry. delta-rs 1.x does that with conditional puts (``If-None-Match: *``)
and no longer supports the DynamoDB locking provider; writes are refused until the
configuration says the store supports them (``conditional_put=etag``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping

from catalog.errors import CatalogError

__all__ = [
    "OPTIONS_ENV",
    "commit_refusal",
    "effective_options",
    "is_s3",
    "pairs_to_options",
    "parse_options",
    "redacted",
]

OPTIONS_ENV = "EMOTAG_STORAGE_OPTIONS"
"""Environment variable: storage options as a JSON object or ``KEY=VALUE,KEY=VALUE``."""

_CONDITIONAL_PUT = ("conditional_put", "aws_conditional_put")
_LOCKING_PROVIDER = ("aws_s3_locking_provider",)
_UNSAFE_RENAME = ("aws_s3_allow_unsafe_rename", "allow_unsafe_rename")
_SECRET_WORDS = ("secret", "token", "password", "session", "sas", "credential")


def is_s3(root: str) -> bool:
    """Whether ``root`` is an S3 (or S3-compatible) URI."""
    return root.lower().startswith(("s3://", "s3a://"))


def parse_options(text: str | None) -> dict[str, str]:
    """Storage options from text: a JSON object (``{"AWS_REGION": "eu-west-1"}``) or
    comma-separated ``KEY=VALUE`` pairs (``AWS_REGION=eu-west-1,conditional_put=etag``).

    >>> parse_options("AWS_REGION=eu-west-1, conditional_put=etag")
    {'AWS_REGION': 'eu-west-1', 'conditional_put': 'etag'}
    >>> parse_options('{"AWS_ALLOW_HTTP": true}')
    {'AWS_ALLOW_HTTP': 'true'}
    """
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogError(f"storage options are not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise CatalogError("storage options JSON must be an object of KEY: VALUE")
        return {str(k): _text(v) for k, v in loaded.items()}
    return pairs_to_options(part for part in text.split(",") if part.strip())


def pairs_to_options(pairs: Iterable[str]) -> dict[str, str]:
    """``["KEY=VALUE", …]`` (e.g. repeated ``--storage-option``) as a dict; later wins."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.strip().partition("=")
        if not sep or not key.strip():
            raise CatalogError(f"storage option {pair.strip()!r} is not KEY=VALUE")
        options[key.strip()] = value.strip()
    return options


def effective_options(
    root: str, given: Mapping[str, str] | None, *, environ: Mapping[str, str] = os.environ
) -> dict[str, str] | None:
    """Options passed to deltalake for ``root``: ``EMOTAG_STORAGE_OPTIONS`` overridden by
    ``given``; None for a local folder. The standard AWS variables (``AWS_ENDPOINT_URL``,
    ``AWS_REGION``, …) are read by deltalake itself and need not be copied here."""
    if "://" not in root:
        return None
    return {**parse_options(environ.get(OPTIONS_ENV)), **(given or {})}


def commit_refusal(
    root: str, options: Mapping[str, str] | None, *, environ: Mapping[str, str] = os.environ
) -> str | None:
    """Why writing to ``root`` with ``options`` (and the ``AWS_*`` environment) would not
    be safe for concurrent writers, or None when it is.

    >>> commit_refusal("s3://bucket/catalog", {"conditional_put": "etag"}, environ={}) is None
    True
    >>> print(commit_refusal("s3://bucket/catalog", {}, environ={}))  # doctest: +ELLIPSIS
    refusing to write to s3://bucket/catalog: ... add the storage option conditional_put=etag ...
    """
    if not is_s3(root):
        return None
    settings = {k.lower(): v for k, v in environ.items() if k.upper().startswith("AWS_")}
    settings.update({k.lower(): v for k, v in (options or {}).items()})
    prefix = f"refusing to write to {root}:"
    if any(settings.get(key) for key in _LOCKING_PROVIDER):
        return (
            f"{prefix} AWS_S3_LOCKING_PROVIDER is set, but deltalake 1.x ignores it (the DynamoDB "
            "locking provider was removed); remove it and add the storage option conditional_put=etag"
        )
    if any(settings.get(key, "").lower() in ("true", "1", "yes") for key in _UNSAFE_RENAME):
        return (
            f"{prefix} AWS_S3_ALLOW_UNSAFE_RENAME=true lets concurrent writers overwrite each "
            "other's commits; remove it and add the storage option conditional_put=etag"
        )
    mode = next((settings[key] for key in _CONDITIONAL_PUT if key in settings), None)
    if mode is None or mode.strip().lower() != "etag":
        found = "is not set" if mode is None else f"is {mode!r}"
        return (
            f"{prefix} concurrent commits are safe only with conditional puts, and conditional_put "
            f"{found}: add the storage option conditional_put=etag (--storage-option, "
            f"{OPTIONS_ENV} or AWS_CONDITIONAL_PUT=etag) for a store that supports If-None-Match "
            "(AWS S3, MinIO, Cloudflare R2, moto)"
        )
    return None


def redacted(options: Mapping[str, str] | None) -> dict[str, str]:
    """``options`` with secret values (keys, tokens, passwords) replaced by ``***``, for
    logs and the ``runs`` table."""
    return {
        key: "***"
        if any(word in key.lower() for word in _SECRET_WORDS) or key.lower().endswith("_key")
        else value
        for key, value in (options or {}).items()
    }


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
