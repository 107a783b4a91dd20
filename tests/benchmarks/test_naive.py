"""The naive baseline does the pipeline's work again per window: the same windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.naive import naive_tag_file
from tagger.constants import SAMPLE_RATE
from tagger.model import load_model
from tagger.pipeline import tag_track
from tagger.testing.signals import silence, speech_like


def test_naive_tags_every_window_the_pipeline_tags(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    signal = np.concatenate([speech_like(4.0, seed=5), silence(3.0), speech_like(3.5, seed=6)])
    sf.write(path, signal, SAMPLE_RATE, subtype="FLOAT")
    classifier = load_model()
    tagged = tag_track(path, track=0, classifier=classifier)
    assert naive_tag_file(path, classifier=classifier) == tagged.n_windows
