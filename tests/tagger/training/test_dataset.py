"""Manifests, folds and clip extraction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tagger.constants import EMOTIONS
from tagger.errors import DatasetError
from tagger.training.dataset import (
    ClipSet,
    clip_folds,
    default_folds,
    extract_clips,
    read_folds,
    read_manifest,
    speaker_id,
)
from tests.fixtures.corpus import write_corpus


def test_manifest_and_fold_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("path\temotion\nx.flac\tbored\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="unknown emotion"):
        read_manifest(bad)
    no_col = tmp_path / "nocol.tsv"
    no_col.write_text("path\nx.flac\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="lacks"):
        read_manifest(no_col)
    with pytest.raises(DatasetError):
        read_manifest(tmp_path / "absent.tsv")
    with pytest.raises(DatasetError, match="actor"):
        default_folds(np.array([-1, -1]))
    assert default_folds(np.arange(1, 11)) == {a: (a - 1) % 5 for a in range(1, 11)}


def test_speaker_names_become_ids_unique_across_corpora(tmp_path: Path) -> None:
    """nEMO names speakers (``speaker``); RAVDESS numbers them (``actor``)."""
    corpus = tmp_path / "nemo"
    corpus.mkdir()
    (corpus / "manifest.tsv").write_text(
        "path\tspeaker\temotion\na.flac\tEB0\tangry\nb.flac\tIC0\tsad\nc.flac\tEB0\thappy\n", encoding="utf-8"
    )
    (corpus / "folds.tsv").write_text("speaker\tfold\nEB0\t0\nIC0\t1\n", encoding="utf-8")
    frame = read_manifest(corpus / "manifest.tsv")
    assert frame["actor"].tolist() == [
        speaker_id("nemo", "EB0"),
        speaker_id("nemo", "IC0"),
        speaker_id("nemo", "EB0"),
    ]
    assert read_folds(corpus / "folds.tsv") == {speaker_id("nemo", "EB0"): 0, speaker_id("nemo", "IC0"): 1}
    assert speaker_id("nemo", "EB0") != speaker_id("other", "EB0")
    assert min(speaker_id("nemo", s) for s in ("EB0", "IC0")) > 1000  # never a RAVDESS actor number


def test_clip_folds_requires_every_actor() -> None:
    class _Clips:
        actors = np.array([1, 2, 3])

    with pytest.raises(DatasetError, match="without a fold"):
        clip_folds(_Clips(), {1: 0, 2: 1})  # type: ignore[arg-type]


def test_extract_clips_cuts_windows_and_round_trips(tmp_path: Path) -> None:
    manifest, _ = write_corpus(tmp_path, actors=(1, 2), takes=1, emotions=("neutral", "sad"))
    frame = read_manifest(manifest)
    assert frame["path"].map(lambda p: Path(p).is_absolute()).all()
    clips = extract_clips(frame)
    assert clips.n_clips == 4
    assert clips.labels.tolist() == [EMOTIONS.index(e) for e in frame["emotion"]]
    assert clips.actors.tolist() == [1, 1, 2, 2]
    n_windows = len(clips.clip)
    assert clips.features.shape == (n_windows, 161) and clips.frames.shape == (n_windows, 300, 92)
    assert sorted(set(clips.clip.tolist())) == [0, 1, 2, 3]
    np.testing.assert_array_equal(clips.window_labels(), clips.labels[clips.clip])
    clips.save(tmp_path / "cache.npz")
    again = ClipSet.load(tmp_path / "cache.npz")
    assert again.paths == clips.paths
    np.testing.assert_array_equal(again.frames, clips.frames)
