"""Speaker-grouped cross-validation: what each fold's model saw, and that it measures skill."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.errors import DatasetError
from tagger.training.crossval import ModelRow, cross_validate, random_split_paper
from tagger.training.dataset import ClipSet, clip_folds, extract_clips, read_folds, read_manifest
from tests.fixtures.corpus import TINY_RECIPE, write_corpus

QUIET = {"log": lambda _message: None}
RECIPE = TINY_RECIPE


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[ClipSet, np.ndarray]:
    """Six actors in three folds of two, three separable emotions, two takes each."""
    manifest, folds = write_corpus(tmp_path_factory.mktemp("corpus"), actors=(1, 2, 3, 4, 5, 6))
    clips = extract_clips(read_manifest(manifest))
    return clips, clip_folds(clips, read_folds(folds))


_ROWS: dict[str, ModelRow] = {}


def _row(corpus: tuple[ClipSet, np.ndarray], method: str) -> ModelRow:
    """``cross_validate``'s row of ``method`` on ``corpus``, computed once per session."""
    if method not in _ROWS:
        clips, folds = corpus
        _ROWS[method] = cross_validate(clips, folds, method=method, config=RECIPE, **QUIET)
    return _ROWS[method]


@pytest.mark.parametrize("method", ["svm", "network", "paper"])
def test_no_speaker_is_on_both_sides_of_any_fold(corpus: tuple[ClipSet, np.ndarray], method: str) -> None:
    clips, _ = corpus
    row = _row(corpus, method)
    assert [split.fold for split in row.splits] == [0, 1, 2]
    tested = np.concatenate([split.test_clips for split in row.splits])
    assert sorted(tested.tolist()) == list(range(clips.n_clips))  # every clip predicted once
    for split in row.splits:
        train_actors = set(clips.actors[split.train_clips].tolist())
        test_actors = set(clips.actors[split.test_clips].tolist())
        assert train_actors and test_actors and not train_actors & test_actors
        assert sorted(split.train_clips.tolist() + split.test_clips.tolist()) == list(range(clips.n_clips))


@pytest.mark.parametrize("method", ["svm", "network"])
def test_cross_validation_scores_a_learner_on_separable_clips_high(
    corpus: tuple[ClipSet, np.ndarray], method: str
) -> None:
    clips, _ = corpus
    row = _row(corpus, method)
    assert row.metrics["clip"]["accuracy"] >= 0.9
    assert row.metrics["clip"]["macro_f1"] >= 0.9
    assert len(row.metrics["per_fold"]["accuracy"]) == 3
    assert row.window_probs is not None and row.window_probs.shape == (len(clips.clip), 8)


def test_cross_validation_refuses_a_fold_with_an_actor_on_both_sides(
    corpus: tuple[ClipSet, np.ndarray],
) -> None:
    clips, _ = corpus
    by_clip = np.arange(clips.n_clips) % 2  # takes of one actor end up on both sides
    with pytest.raises(DatasetError, match="both sides"):
        cross_validate(clips, by_clip, method="svm", config=RECIPE, **QUIET)


def test_random_split_mixes_speakers_as_the_paper_did(corpus: tuple[ClipSet, np.ndarray]) -> None:
    clips, _ = corpus
    row = random_split_paper(clips, config=RECIPE)
    (split,) = row.splits
    assert split.test_clips.size == row.clip_mask.sum() == round(0.33 * clips.n_clips + 0.5)
    assert set(clips.actors[split.train_clips].tolist()) & set(clips.actors[split.test_clips].tolist())
