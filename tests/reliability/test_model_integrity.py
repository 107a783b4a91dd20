"""Model integrity: a model file only loads under the version its card gives it, and a
promotion that dies half-way never leaves a model that loads under another version."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.maintenance import promote_if_better
from tagger.errors import ModelError
from tagger.model import card_path_for, file_sha256, load_model
from tagger.testing.models import build_tiny_model


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two valid tiny models with the same input shape and different weights."""
    root = tmp_path_factory.mktemp("models")
    first = build_tiny_model(root / "a", name="tiny", seed=0)
    return first, build_tiny_model(root / "b", name="other", seed=1)


def _copy(model: Path, folder: Path, *, card: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / "model.keras"
    shutil.copyfile(model, dest)
    text = json.dumps(card) if card is not None else card_path_for(model).read_text()
    card_path_for(dest).write_text(text, encoding="utf-8")
    return dest


def _card(model: Path) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(card_path_for(model).read_text())
    return card


@pytest.mark.parametrize("with_sha256", [False, True], ids=["version-suffix card", "sha256 card"])
def test_a_swapped_model_file_is_refused_under_its_old_card(
    two_models: tuple[Path, Path], tmp_path: Path, with_sha256: bool
) -> None:
    original, other = two_models
    card = _card(original)
    assert card["sha256"] == file_sha256(original)
    if not with_sha256:  # a card written before cards carried the full sha256
        del card["sha256"]
    path = _copy(original, tmp_path / "shipped", card=card)
    assert load_model(path).version == card["version"]
    shutil.copyfile(other, path)  # new weights, old card: same path, same shapes
    with pytest.raises(ModelError, match="sha256"):
        load_model(path)
    fresh = _copy(other, tmp_path / "fresh", card=card)
    with pytest.raises(ModelError, match="sha256"):
        load_model(fresh)


def test_a_card_whose_sha256_disagrees_with_its_version_is_refused(
    two_models: tuple[Path, Path], tmp_path: Path
) -> None:
    original, other = two_models
    card = {**_card(original), "sha256": file_sha256(other)}
    with pytest.raises(ModelError, match="sha256"):
        load_model(_copy(original, tmp_path, card=card))


def test_a_card_that_cannot_be_checked_is_refused(two_models: tuple[Path, Path], tmp_path: Path) -> None:
    original, _ = two_models
    card = {**_card(original), "version": "tiny-latest"}
    del card["sha256"]
    with pytest.raises(ModelError, match="cannot verify"):
        load_model(_copy(original, tmp_path, card=card))


def _with_score(model: Path, folder: Path, score: float) -> Path:
    card = {**_card(model), "cv_metrics": {"clip_accuracy": score}}
    return _copy(model, folder, card=card)


def _crash_on_replace(monkeypatch: pytest.MonkeyPatch, folder: Path, *, nth: int) -> None:
    """Make the ``nth`` ``os.replace`` into ``folder`` raise, as if the process died there."""
    real: Callable[..., None] = os.replace
    calls = {"n": 0}

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        if Path(dst).parent == folder:
            calls["n"] += 1
            if calls["n"] == nth:
                raise OSError("simulated crash during promotion")
        real(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _loads_under_its_own_version(path: Path) -> str | None:
    """The version ``path`` loads under, asserted to be its file's own; None if refused."""
    try:
        classifier = load_model(path)
    except ModelError:
        return None
    assert classifier.version.endswith(file_sha256(path)[:12]), "model loaded under another version"
    return classifier.version


@pytest.mark.parametrize("crash_at", [1, 2], ids=["before any replace", "between model and card"])
def test_a_crash_during_promotion_never_mislabels_the_model(
    two_models: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    original, other = two_models
    target = tmp_path / "shipped" / "default.keras"
    assert promote_if_better(_with_score(original, tmp_path / "old", 0.60), target)[0] is True
    candidate = _with_score(other, tmp_path / "new", 0.70)

    with monkeypatch.context() as patch:
        _crash_on_replace(patch, target.parent, nth=crash_at)
        with pytest.raises(OSError, match="simulated crash"):
            promote_if_better(candidate, target)

    version = _loads_under_its_own_version(target)
    if crash_at == 1:
        assert version == _card(original)["version"]  # nothing was replaced
    # The next promotion finishes (or redoes) the swap: the new model under its own version.
    promote_if_better(candidate, target)
    assert _loads_under_its_own_version(target) == _card(other)["version"]
    assert file_sha256(target) == file_sha256(other)
    assert not list(target.parent.glob("*.partial"))


def test_an_altered_candidate_is_refused_before_the_target_is_touched(
    two_models: tuple[Path, Path], tmp_path: Path
) -> None:
    original, other = two_models
    target = tmp_path / "shipped" / "default.keras"
    promote_if_better(_with_score(original, tmp_path / "old", 0.60), target)
    before = file_sha256(target), card_path_for(target).read_text()
    candidate = _with_score(original, tmp_path / "new", 0.90)
    shutil.copyfile(other, candidate)  # weights no longer those the card describes
    with pytest.raises(ModelError, match="sha256"):
        promote_if_better(candidate, target)
    assert (file_sha256(target), card_path_for(target).read_text()) == before
