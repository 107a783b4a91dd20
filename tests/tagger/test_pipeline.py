"""One core for a file track and an in-memory signal: the same rows either way, windows
that cover the track, probabilities that sum to 1, segments that tile the track."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tagger.constants import EMOTIONS, SAMPLE_RATE
from tagger.errors import ConfigError
from tagger.frontend import FrontEndConfig, analyse_chunks
from tagger.model import Classifier, load_model
from tagger.pipeline import TagConfig, TrackTags, frontend_for, tag_batches, tag_signal, tag_track
from tagger.testing.signals import silence, speech_like


@pytest.fixture(scope="module")
def classifier(tiny_model: Path) -> Classifier:
    return load_model(tiny_model)


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    """Speech-like audio, a 5 s pause, more speech: 17.5 s (not a whole number of hops)."""
    return np.concatenate([speech_like(6.0, seed=1), silence(5.5), speech_like(6.0, seed=2, f0_hz=210.0)])


def test_a_signal_and_the_same_audio_in_a_file_give_the_same_tags(
    signal: np.ndarray, classifier: Classifier, tmp_path: Path
) -> None:
    path = tmp_path / "same.wav"
    sf.write(path, signal, SAMPLE_RATE, subtype="FLOAT")  # lossless: ffmpeg decodes the same samples
    from_signal = tag_signal(signal, classifier=classifier)
    from_file = tag_track(path, track=0, classifier=classifier)
    np.testing.assert_array_equal(from_signal.start_s, from_file.start_s)
    np.testing.assert_array_equal(from_signal.end_s, from_file.end_s)
    np.testing.assert_array_equal(from_signal.is_speech, from_file.is_speech)
    np.testing.assert_allclose(from_signal.probs, from_file.probs, atol=1e-6)
    assert from_signal.labels == from_file.labels
    assert from_signal.segments == from_file.segments


def test_tags_cover_the_track_and_segments_tile_it(signal: np.ndarray, classifier: Classifier) -> None:
    tags = tag_signal(signal, classifier=classifier, config=TagConfig(min_segment_s=2.0))
    duration = signal.size / SAMPLE_RATE
    assert tags.start_s[0] == 0.0 and tags.end_s[-1] == pytest.approx(duration)
    assert np.all(np.diff(tags.start_s) == pytest.approx(1.0))  # a window every hop
    assert tags.probs.shape == (tags.n_windows, len(EMOTIONS))
    np.testing.assert_allclose(tags.probs.sum(axis=1), 1.0, atol=1e-5)
    assert not tags.is_speech.all() and tags.is_speech.any()  # the pause is found
    assert all(label == "no_speech" for label, s in zip(tags.labels, tags.is_speech, strict=True) if not s)
    segments = tags.segments
    assert segments[0].start_s == 0.0 and segments[-1].end_s == pytest.approx(duration)
    for before, after in itertools.pairwise(segments):
        assert before.end_s == pytest.approx(after.start_s) and before.label != after.label
    assert sum(s.n_windows for s in segments) == tags.n_windows
    if tags.profile.speech_s > 0:
        assert sum(tags.profile.shares.values()) == pytest.approx(1.0, abs=1e-5)


def test_a_signal_resampled_from_48_khz_is_tagged_like_the_16_khz_one(
    signal: np.ndarray, classifier: Classifier
) -> None:
    from tagger.frontend import resample

    at_48k = resample(signal, orig_sr=SAMPLE_RATE, target_sr=48_000)
    tags = tag_signal(at_48k, classifier=classifier, sample_rate=48_000)
    reference = tag_signal(signal, classifier=classifier)
    assert tags.n_windows == reference.n_windows
    assert np.mean(tags.is_speech == reference.is_speech) >= 0.9


def test_an_empty_signal_has_no_windows_and_no_segments(classifier: Classifier) -> None:
    tags = tag_signal(np.zeros(0, dtype=np.float32), classifier=classifier)
    assert isinstance(tags, TrackTags)
    assert tags.n_windows == 0 and tags.segments == [] and tags.duration_s == 0.0


@pytest.mark.parametrize("pause_s", [1.5, 2.0, 3.0])
def test_pauses_shorter_than_a_window_are_found_within_a_second(
    pause_s: float, classifier: Classifier
) -> None:
    """Speech, a pause of room tone shorter than the 3 s window, speech: the pause becomes
    a ``no_speech`` segment whose edges are within 1 s of the true ones, because a window
    is judged on the voice in the stretch it owns."""
    rng = np.random.default_rng(7)
    speech_s = 5.0
    signal = np.concatenate(
        [speech_like(speech_s, seed=3), silence(pause_s), speech_like(speech_s, seed=4, f0_hz=190.0)]
    )
    signal = signal + rng.normal(0.0, 3e-4, signal.size).astype(np.float32)  # room tone, -70 dBFS
    # the feature gate: synthetic speech is not speech to the AudioSet network
    config = TagConfig(frontend=FrontEndConfig(gate="features"))
    tags = tag_signal(signal, classifier=classifier, config=config)
    pauses = [
        s for s in tags.segments if s.label == "no_speech" and 0 < s.start_s < signal.size / SAMPLE_RATE - 1
    ]
    assert len(pauses) == 1, tags.segments
    assert abs(pauses[0].start_s - speech_s) <= 1.0 and abs(pauses[0].end_s - (speech_s + pause_s)) <= 1.0
    # the window over the pause is no_speech in every column the catalogue stores
    paused = (tags.start_s + 1.0 >= pauses[0].start_s) & (tags.start_s + 2.0 <= pauses[0].end_s)
    assert paused.any() and not tags.is_speech[paused].any()
    assert set(tags.content[paused]) == {"other"}


def test_a_model_reading_frames_skips_the_aggregates_and_tags_the_same(
    signal: np.ndarray, classifier: Classifier
) -> None:
    shipped = load_model()  # reads the scene trunk's map: the aggregates are not its input
    assert not shipped.needs_aggregates and classifier.needs_aggregates
    config = TagConfig()
    # a model without a tail keeps the aggregates, and the front end runs no tail for it
    assert frontend_for(classifier, config.frontend) == replace(config.frontend, tail=None)
    assert frontend_for(shipped, config.frontend).tail == shipped.tail_path
    lean = list(analyse_chunks([signal], config=frontend_for(shipped, config.frontend)))
    assert lean and all(batch.features.shape == (len(batch), 0) for batch in lean)
    with_aggregates = tag_batches(analyse_chunks([signal], config=config.frontend), classifier=shipped)
    without = tag_signal(signal, classifier=shipped)
    np.testing.assert_array_equal(with_aggregates.probs, without.probs)
    assert with_aggregates.labels == without.labels
    assert with_aggregates.segments == without.segments


def test_arousal_and_valence_follow_speech_and_average_into_segments_and_profile(
    signal: np.ndarray, classifier: Classifier
) -> None:
    from tagger.affect import affect

    tags = tag_signal(
        signal, classifier=classifier, config=TagConfig(frontend=FrontEndConfig(gate="features"))
    )
    assert tags.is_speech.any() and not tags.is_speech.all()
    assert np.array_equal(np.isnan(tags.arousal), ~tags.is_speech)
    assert np.array_equal(np.isnan(tags.valence), ~tags.is_speech)
    expected_a, expected_v = affect(tags.probs[tags.is_speech])
    np.testing.assert_allclose(tags.arousal[tags.is_speech], expected_a)
    np.testing.assert_allclose(tags.valence[tags.is_speech], expected_v)
    shares = np.array([tags.profile.shares[name] for name in EMOTIONS])[None, :]
    profile_a, profile_v = affect(shares)
    assert tags.profile.mean_arousal == pytest.approx(float(profile_a[0]), abs=1e-6)
    assert tags.profile.mean_valence == pytest.approx(float(profile_v[0]), abs=1e-6)
    first = 0
    for segment in tags.segments:
        part = tags.arousal[first : first + segment.n_windows]
        if np.isnan(part).all():
            assert segment.mean_arousal is None
        else:
            assert segment.mean_arousal == pytest.approx(float(np.nanmean(part)), abs=1e-6)
        first += segment.n_windows
    assert first == tags.n_windows


@pytest.mark.parametrize("chunks", [{"chunk_s": 0.0}, {"first_chunk_s": -1.0}])
def test_chunk_sizes_must_be_positive(chunks: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="chunk_s"):
        TagConfig(**chunks)  # type: ignore[arg-type]
