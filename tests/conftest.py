"""Shared fixtures: cached test media and the corpus location."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

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
