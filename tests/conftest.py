"""Shared fixtures: cached test media and the corpus location."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tagger.testing.models import build_tiny_model
from tests.fixtures import media

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
# Models exported on first use go to a folder of this session, never the user's cache.
os.environ.setdefault("EMOTAG_CACHE_DIR", tempfile.mkdtemp(prefix="emotag-test-cache-"))


@pytest.fixture(scope="session")
def media_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    if cache is None:
        return tmp_path_factory.mktemp("emotag-media")
    return Path(cache.mkdir("emotag-media"))


@pytest.fixture(scope="session")
def make_media(media_cache: Path) -> Callable[[str], Path]:
    """``make_media(name)`` -> path of the cached test file built from recipe ``name``."""

    def build(name: str) -> Path:
        return media.build(name, media_cache)

    return build


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (media.CORPUS / "manifest.tsv").is_file():
        pytest.skip("../shared/corpora/ravdess is not present")
    return media.CORPUS


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid model + card (random weights) for pipeline plumbing tests."""
    return build_tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API (own database) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """One local S3 endpoint (moto) for the session; tests skip without ``moto[server]``."""
    pytest.importorskip("moto.server")
    pytest.importorskip("boto3")
    from tests.fixtures.s3 import start_s3_server

    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture
def s3_catalog(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh ``s3://`` catalogue root on the session's endpoint. The standard AWS
    variables point at it and ``EMOTAG_STORAGE_OPTIONS`` asks for conditional puts."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_S3_LOCKING_PROVIDER", "AWS_CONDITIONAL_PUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EMOTAG_STORAGE_OPTIONS", "conditional_put=etag")
    return f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:12]}/catalog"
