"""Targets for corpora that label only some classes (tagger.training.labels)."""

from __future__ import annotations

import numpy as np

from tagger.constants import EMOTIONS
from tagger.training.labels import corpus_classes, label_targets

K = len(EMOTIONS)
NEMO = np.array([c not in ("calm", "disgust") for c in EMOTIONS])


def test_a_corpus_with_every_class_gets_plain_one_hot_targets() -> None:
    labels = np.arange(K)
    targets = label_targets(labels, np.ones(K, dtype=bool))
    np.testing.assert_array_equal(targets[:, :K], np.eye(K))
    assert targets[:, K:].all()


def test_a_missing_absorbed_class_joins_its_absorbers_set_and_stays_in_the_softmax() -> None:
    labels = np.array([EMOTIONS.index(e) for e in ("neutral", "sad", "angry")])
    targets = label_targets(labels, NEMO)
    calm, disgust = EMOTIONS.index("calm"), EMOTIONS.index("disgust")
    # neutral accepts calm; sad and angry do not: they push calm down.
    assert targets[:, calm].tolist() == [1.0, 0.0, 0.0]
    assert (targets[:, :K].sum(axis=1) == [2, 1, 1]).all()
    # calm stays among the classes nEMO tells apart; disgust is left out of its softmax.
    assert targets[:, K + calm].all() and not targets[:, K + disgust].any()
    # every acceptable class is an allowed one
    assert (targets[:, :K] <= targets[:, K:]).all()


def test_corpus_classes_lists_the_labels_present() -> None:
    nemo_labels = np.flatnonzero(NEMO).repeat(3)
    np.testing.assert_array_equal(corpus_classes(nemo_labels), NEMO)
