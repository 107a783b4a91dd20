"""The seed paper's naive method, as a baseline for the pipeline benchmark: the whole file
in memory, every window's features recomputed from its own samples, one model call per window.
"""

from __future__ import annotations

import os

import numpy as np

from tagger.content import classify_content
from tagger.features import FeatureConfig, aggregate_windows, frame_features, silence_frame
from tagger.frontend import WindowBatch
from tagger.media import probe, stream_audio
from tagger.model import Classifier
from tagger.speech import detect_speech, voiced_frames, voiced_s_per_block
from tagger.windows import WindowConfig, window_bounds

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
    for stream in info.audio_streams:
        samples = np.concatenate(list(stream_audio(path, track=stream.track, info=info)))
        for start, end in window_bounds(samples.size, config=window):
            rows = frame_features(samples[start:end], config=features)[:per_window]
            n_valid = np.array([rows.shape[0]], dtype=np.int64)
            frames = np.empty((1, per_window, rows.shape[1]), dtype=np.float32)
            frames[0, : rows.shape[0]] = rows
            frames[0, rows.shape[0] :] = pad_row
            voiced_rows = voiced_frames(frames, n_valid, features=features)
            voiced = detect_speech(frames, n_valid, features=features, voiced=voiced_rows)
            content = classify_content(frames, n_valid, features=features, voiced=voiced)
            batch = WindowBatch(
                index=np.array([n_windows], dtype=np.int64),
                start_s=np.array([start / window.sample_rate]),
                end_s=np.array([end / window.sample_rate]),
                frames=frames,
                n_valid_frames=n_valid,
                features=aggregate_windows(frames, n_valid, config=features),
                content=content,
                is_speech=content == "speech",
                voiced_s=voiced_s_per_block(
                    voiced_rows,
                    frames_per_block=window.frames_per_hop,
                    frame_s=features.hop_length / features.sample_rate,
                ),
            )
            probs = classifier.predict(batch)
            classifier.label(probs, batch.is_speech)
            n_windows += 1
    return n_windows
