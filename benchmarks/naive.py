"""The seed paper's naive method, as a baseline for the pipeline benchmark: the whole file
in memory, every window's features recomputed from its own samples, one model call per window.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from tagger.features import FeatureConfig, frame_features, silence_frame
from tagger.frontend import FrontEndConfig, analyse_chunks, make_batch
from tagger.media import probe, stream_audio
from tagger.model import Classifier
from tagger.pipeline import frontend_for
from tagger.windows import Window, WindowConfig, window_bounds

__all__ = ["naive_tag_file"]


def naive_tag_file(
    path: str | os.PathLike[str],
    *,
    classifier: Classifier,
    window: WindowConfig = WindowConfig(),
    features: FeatureConfig = FeatureConfig(),
) -> int:
    """Tag every audio track of ``path`` the naive way; returns the number of windows.

    What ``librosa.load`` would do (decode the whole track into one array: memory grows
    with duration), then per window (``window.window_s`` seconds every ``window.hop_s``):
    frame features of the window's samples from scratch (so each sample is analysed
    ``window_s / hop_s`` times), window aggregates, speech flag, one model call.
    """
    info = probe(path)
    n_windows = 0
    pad_row = silence_frame(features)
    per_window = window.frames_per_window
    # the feature gate: the scene network needs the track, not one window at a time
    config = frontend_for(classifier, FrontEndConfig(window=window, features=features, gate="features"))
    # ... unless the model reads the scene network's map: then the whole front end, network
    # included, runs on each window's samples alone
    tail = frontend_for(classifier, FrontEndConfig(window=window, features=features))
    for stream in info.audio_streams:
        samples = np.concatenate(list(stream_audio(path, track=stream.track, info=info)))
        for k, (start, end) in enumerate(window_bounds(samples.size, config=window)):
            if classifier.tail_path is not None:
                batch = next(analyse_chunks([samples[start:end]], config=replace(tail, batch_windows=1)))
                classifier.label(classifier.predict(batch), batch.is_speech)
                n_windows += 1
                continue
            rows = frame_features(samples[start:end], config=features)[:per_window]
            padded = np.empty((per_window, rows.shape[1]), dtype=np.float32)
            padded[: rows.shape[0]] = rows
            padded[rows.shape[0] :] = pad_row
            # One window through the pipeline's own batch builder (speech, content,
            # foreground voice, aggregates when the model reads them), one model call.
            batch = make_batch(
                [Window(index=k, n_valid=rows.shape[0], rows=padded)], n_samples=samples.size, config=config
            )
            probs = classifier.predict(batch)
            classifier.label(probs, batch.is_speech)
            n_windows += 1
    return n_windows
