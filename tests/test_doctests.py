"""The examples in the public API's docstrings run, and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "catalog.store",
    "catalog.query",
    "catalog.storage",
    "catalog.report",
    "tagger.frontend",
    "tagger.segments",
    "tagger.model",
    "tagger.training.labels",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
