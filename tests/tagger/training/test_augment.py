"""Noise at a chosen SNR, and the share of noisy windows per epoch."""

from __future__ import annotations

import numpy as np

from tagger.testing.signals import speech_like
from tagger.training.augment import (
    add_noise,
    apply_gain,
    augment_logmel,
    channel_curves,
    mix_noisy,
    perturb_waveform,
)
from tagger.training.config import TrainConfig


def test_add_noise_hits_the_requested_snr() -> None:
    rng = np.random.default_rng(3)
    y = speech_like(3.0, seed=3)
    for _ in range(5):
        noisy = add_noise(y, rng, snr_db=(10.0, 10.0))
        noise = noisy - y
        loud = np.abs(y) > 1e-3
        snr = 10 * np.log10(np.mean(y[loud] ** 2) / np.mean(noise**2))
        assert noisy.dtype == np.float32 and noisy.shape == y.shape
        assert abs(snr - 10.0) < 0.5


def test_mix_noisy_swaps_the_requested_share_of_windows() -> None:
    rng = np.random.default_rng(0)
    x = np.zeros((2000, 3, 2), dtype=np.float32)
    x_noisy = np.stack([np.full_like(x, 1.0), np.full_like(x, 2.0)])
    mixed = mix_noisy(x, x_noisy, rng, fraction=0.5)
    per_window = mixed[:, 0, 0]
    assert set(np.unique(per_window)) == {0.0, 1.0, 2.0}
    assert 0.45 < np.mean(per_window > 0) < 0.55
    assert np.all(x == 0.0)  # the input is not modified
    np.testing.assert_array_equal(mix_noisy(x, None, rng, fraction=0.5), x)


def test_augment_logmel_keeps_shape_and_leaves_the_input_alone() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(-40.0, 5.0, size=(16, 300, 92)).astype(np.float32)
    before = x.copy()
    out = augment_logmel(x, np.random.default_rng(2))
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(x, before)
    assert not np.allclose(out, x)
    np.testing.assert_array_equal(augment_logmel(x, np.random.default_rng(2)), out)  # seeded


def test_channel_curves_are_smooth_bounded_and_varied() -> None:
    curves = channel_curves(500, np.random.default_rng(4), n_bands=64, max_db=6.0)
    assert curves.shape == (500, 64) and curves.dtype == np.float32
    assert np.abs(curves).max() <= 6.0 + 1e-4
    assert np.abs(curves).max() > 5.0  # the range is used
    # Smooth over the bands: neighbouring bands differ by a small part of the range.
    assert np.abs(np.diff(curves, axis=1)).max() < 1.5
    # Tilts both ways: the curves do not share one shape.
    assert np.std(curves[:, -1] - curves[:, 0]) > 1.0


def test_augment_logmel_colours_half_the_windows_and_spares_the_floor() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(-20.0, 3.0, size=(400, 75, 72)).astype(np.float32)
    x[:, :10, :64] = -50.0  # the level-free input's floor: a pause
    plain = augment_logmel(x, np.random.default_rng(6), gain_db=0.0, floor_db=-50.0)
    coloured = augment_logmel(x, np.random.default_rng(6), gain_db=0.0, eq_db=6.0, floor_db=-50.0)
    # Off by default: eq_db=0 draws nothing, so the shipped recipe's stream is unchanged.
    again = augment_logmel(x, np.random.default_rng(6), gain_db=0.0, floor_db=-50.0)
    np.testing.assert_array_equal(again, plain)
    assert coloured.min() >= -50.0
    np.testing.assert_array_equal(coloured[:, :, 64:], plain[:, :, 64:])  # only the mel bands
    delta = coloured[:, :, :64] - plain[:, :, :64]
    changed = np.abs(delta).max(axis=(1, 2)) > 1e-3
    assert 0.4 < changed.mean() < 0.6  # half of the windows
    # One curve per window, the same in every frame that stays above the floor.
    above = plain[:, :, :64] > -50.0 + 1e-3
    spread = np.where(above & (coloured[:, :, :64] > -50.0), delta, np.nan)
    assert np.nanmax(np.nanmax(spread, axis=1) - np.nanmin(spread, axis=1)) < 1e-3
    np.testing.assert_array_equal(coloured[:, :, :64][~above], plain[:, :, :64][~above])


def test_apply_gain_scales_clips_and_caps_the_overload() -> None:
    y = speech_like(2.0, seed=1, level=0.1)
    np.testing.assert_allclose(apply_gain(y, gain_db=-20.0), y * 0.1, rtol=1e-5, atol=1e-9)
    loud = apply_gain(y, gain_db=40.0)
    assert loud.dtype == np.float32 and np.abs(loud).max() == 1.0  # clipped, as a converter would
    capped = apply_gain(y, gain_db=40.0, max_clip_db=6.0)
    # At most 6 dB over full scale: the peak would be 10 ** (6 / 20) ≈ 2, clipped to 1.
    expected = np.clip(y * 10 ** (6 / 20) / np.abs(y).max(), -1, 1)
    np.testing.assert_allclose(capped, expected, rtol=1e-4, atol=1e-6)


def test_perturb_waveform_adds_gain_and_noise_as_configured() -> None:
    y = speech_like(2.0, seed=2, level=0.1)
    rng = np.random.default_rng(0)
    same_rng = np.random.default_rng(0)
    # Without gain_db: exactly add_noise (the shipped recipe's copies).
    np.testing.assert_array_equal(
        perturb_waveform(y, rng, config=TrainConfig()), add_noise(y, same_rng, snr_db=(0.0, 30.0))
    )
    clean_gain = TrainConfig(gain_db=(-30.0, 20.0), noise_probability=0.0)
    levels = []
    for _ in range(50):
        out = perturb_waveform(y, rng, config=clean_gain)
        ratio = out[np.abs(out) < 0.99] / np.where(y == 0, 1, y)[np.abs(out) < 0.99]
        assert np.allclose(ratio[y[np.abs(out) < 0.99] != 0], ratio[y[np.abs(out) < 0.99] != 0][0], rtol=1e-3)
        levels.append(20 * np.log10(np.abs(out).max() / np.abs(y).max()))
    assert min(levels) < -20.0 and max(levels) > 10.0


def test_speed_perturbation_moves_pitch_and_keeps_the_length() -> None:
    from tagger.testing.signals import tone
    from tagger.training.augment import speed_perturb

    y = tone(2.0, freq_hz=200.0, amplitude=0.5)
    for factor, expected_hz in ((1.1, 220), (0.9, 180)):
        moved = speed_perturb(y, factor=factor)
        assert moved.shape == y.shape and moved.dtype == np.float32
        spectrum = np.abs(np.fft.rfft(moved[:16_000]))  # 1 s: bins are 1 Hz apart
        assert abs(int(np.argmax(spectrum)) - expected_hz) <= 1
