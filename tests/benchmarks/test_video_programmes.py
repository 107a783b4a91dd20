"""Test videos' programmes: truth that adds up, -23 LUFS soundtracks, a seeded plan."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.video_programmes import (
    CONDITIONS,
    CONTAINERS,
    TARGET_LUFS,
    active_span,
    lay_out,
    loop_to,
    mix_programme,
    plan_videos,
)
from tagger.constants import SAMPLE_RATE
from tagger.errors import ParameterError
from tagger.loudness import integrated_loudness
from tagger.testing import signals


def _clips(seed: int = 0) -> list[np.ndarray]:
    return [signals.speech_like(d, seed=seed + k) for k, d in enumerate((2.0, 2.6, 1.7))]


def test_lay_out_timestamps_add_up() -> None:
    clips = _clips()
    pauses = (1.25, 2.0, 3.5, 1.5)
    track, spans = lay_out(clips, ["sad"] * 3, pauses)
    assert track.size == sum(c.size for c in clips) + sum(round(p * SAMPLE_RATE) for p in pauses)
    position = pauses[0]
    for clip, span, pause in zip(clips, spans, pauses[1:], strict=True):
        assert span.start_s == pytest.approx(position)
        assert span.end_s - span.start_s == pytest.approx(clip.size / SAMPLE_RATE)
        first = round(span.start_s * SAMPLE_RATE)
        np.testing.assert_array_equal(track[first : first + clip.size], clip)
        position = span.end_s + pause
    assert position == pytest.approx(track.size / SAMPLE_RATE)
    assert all(a.end_s < b.start_s for a, b in itertools.pairwise(spans))


def test_lay_out_checks_its_arguments() -> None:
    with pytest.raises(ParameterError):
        lay_out(_clips(), ["sad"] * 3, (1.0, 1.0))
    with pytest.raises(ParameterError):
        lay_out(_clips(), ["sad"] * 2, (1.0,) * 4)


def test_active_span_trims_leading_and_trailing_quiet() -> None:
    tone = signals.tone(1.0, amplitude=0.3)
    quiet = signals.white_noise(0.8, amplitude=1e-4, seed=1)
    y = np.concatenate([quiet, tone, quiet])
    first, last = active_span(y, pad_s=0.05)
    assert abs(first - (quiet.size - 0.05 * SAMPLE_RATE)) <= 0.02 * SAMPLE_RATE
    assert abs(last - (quiet.size + tone.size + 0.05 * SAMPLE_RATE)) <= 0.02 * SAMPLE_RATE
    assert active_span(np.zeros(SAMPLE_RATE)) == (0, 0)


def test_loop_to_repeats_recordings_in_order() -> None:
    a, b = np.ones(3, np.float32), 2 * np.ones(2, np.float32)
    np.testing.assert_array_equal(loop_to([a, b], 12), [1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 1, 1])
    with pytest.raises(ParameterError):
        loop_to([], 4)


@pytest.mark.parametrize("background", [None, "pink", "music"])
def test_programme_is_at_minus_23_lufs_with_room_tone_in_the_pauses(background: str | None) -> None:
    track, spans = lay_out(_clips(3), ["angry"] * 3, (1.5, 2.0, 3.0, 1.5))
    seconds = track.size / SAMPLE_RATE
    under = {
        None: None,
        "pink": signals.pink_noise(seconds, seed=2)[: track.size],
        "music": signals.music_like(seconds, seed=2)[: track.size],
    }[background]
    programme = mix_programme(track, background=under, snr_db=15.0, seed=4)
    assert programme.dtype == np.float32 and programme.shape == track.shape
    assert integrated_loudness(programme) == pytest.approx(TARGET_LUFS, abs=0.5)
    pause = programme[round(spans[0].end_s * SAMPLE_RATE) + 100 : round(spans[1].start_s * SAMPLE_RATE) - 100]
    assert np.all(np.abs(pause) < 1.0) and np.count_nonzero(pause) > 0.9 * pause.size  # never digital silence
    if background is None:
        speech_rms = np.sqrt(np.mean(programme[: round(spans[0].end_s * SAMPLE_RATE)] ** 2))
        assert 20 * np.log10(np.sqrt(np.mean(pause**2)) / speech_rms) < -40


def test_programme_without_speech_is_its_background_at_minus_23_lufs() -> None:
    n = 10 * SAMPLE_RATE
    programme = mix_programme(
        np.zeros(n, np.float32), background=signals.pink_noise(10.0, seed=1), snr_db=10, seed=0
    )
    assert integrated_loudness(programme) == pytest.approx(TARGET_LUFS, abs=0.5)
    with pytest.raises(ParameterError):
        mix_programme(np.zeros(n, np.float32), background=None, snr_db=10, seed=0)


CLIPS = {
    "ravdess": {
        actor: {
            emotion: [f"audio/Actor_{actor}/{emotion}_{k}.flac" for k in range(8)]
            for emotion in ("sad", "calm", "angry")
        }
        for actor in ("9", "10")
    },
    "nemo": {
        "KD0": {emotion: [f"audio/KD0/{emotion}_{k}.flac" for k in range(10)] for emotion in ("sad", "happy")}
    },
}


def test_plan_is_seeded_and_covers_every_emotion_condition_and_container() -> None:
    plans = plan_videos(CLIPS, seed=3)
    assert plans == plan_videos(CLIPS, seed=3)
    assert plans != plan_videos(CLIPS, seed=4)
    assert len({p.name for p in plans}) == len(plans)
    singles = [p for p in plans if p.kind == "single"]
    for corpus, speakers in CLIPS.items():
        emotions = {e for by in speakers.values() for e in by}
        for condition in CONDITIONS:
            assert {
                p.emotions[0] for p in singles if p.corpus == corpus and p.condition == condition
            } == emotions
    assert {p.container for p in plans} == set(CONTAINERS)
    for plan in singles:
        assert 3 <= len(plan.clips) <= 5 and len(set(plan.clips)) == len(plan.clips)
        assert set(plan.emotions) == {plan.truth_label}
        assert all(c in CLIPS[plan.corpus][plan.speaker][plan.truth_label] for c in plan.clips)
        assert all(1.5 <= p <= 4.0 for p in plan.pauses_s[1:-1]) and len(plan.pauses_s) == len(plan.clips) + 1
    changes = [p for p in plans if p.kind == "change"]
    assert len(changes) == 8
    for plan in changes:
        first, second = plan.emotions[0], plan.emotions[-1]
        assert first != second and plan.emotions == tuple(sorted(plan.emotions, key=lambda e: e != first))
    negatives = [p for p in plans if p.kind == "negative"]
    assert {p.condition for p in negatives} == {"music", "noise"} and all(
        p.truth_label == "no_speech" for p in negatives
    )


def test_quick_plan_has_a_dozen_videos_of_every_kind() -> None:
    plans = plan_videos(CLIPS, seed=0, quick=True)
    assert 6 <= len(plans) <= 14
    assert {p.kind for p in plans} == {"single", "change", "negative"}
    assert {p.condition for p in plans if p.kind == "single"} == set(CONDITIONS)
