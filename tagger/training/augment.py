"""Augmentation: perturbed log-mel windows, noise added to waveforms at a chosen SNR, and
the noisy copies of a clip set that training mixes into each epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tagger.constants import SAMPLE_RATE
from tagger.errors import DatasetError
from tagger.frontend import FrontEndConfig, analyse_signal, resample
from tagger.model import window_inputs
from tagger.training.config import TrainConfig
from tagger.training.dataset import ClipSet, read_clip

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "add_noise",
    "apply_gain",
    "augment_logmel",
    "channel_curves",
    "is_heldout_noise",
    "is_heldout_song",
    "manifest_split",
    "mix_at_snr",
    "mix_noisy",
    "music_bank",
    "noise_bank",
    "noisy_inputs",
    "speech_level",
    "speed_perturb",
    "training_noise",
]


def augment_logmel(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    n_mels: int = 64,
    gain_db: float = 6.0,
    eq_db: float = 0.0,
    floor_db: float = -100.0,
) -> np.ndarray:
    """Randomly perturbed copy of windows of frame rows ``(n, frames, columns)`` whose
    first ``n_mels`` columns are log-mel dB: time shift (±1/6 window) and one time mask
    (≤ 2/15 of the window: 40 of 300 frames) on all columns; on the log-mel columns
    only: gain (±``gain_db`` dB; 0 draws none), noise mixed at 15–45 dB below the window
    peak (half of the windows), one frequency mask (≤ 8 bands), and last a channel
    colouring of half of the windows (:func:`channel_curves`, up to ±``eq_db`` dB; 0 draws
    none). Masks are filled with the window's column means. Bands at ``floor_db``
    (digital silence, or the level-free input's floor) keep their value under gain and
    colouring."""
    n, n_frames, _ = x.shape
    shifts = rng.integers(-n_frames // 6, n_frames // 6 + 1, size=n)
    index = (np.arange(n_frames)[None, :] - shifts[:, None]) % n_frames
    out = np.take_along_axis(x, index[:, :, None], axis=1)
    mel = out[:, :, :n_mels]
    if gain_db > 0:
        gain = rng.uniform(-gain_db, gain_db, size=(n, 1, 1)).astype(np.float32)
        mel = np.where(mel > floor_db + 1e-3, mel + gain, mel)
    noisy = np.flatnonzero(rng.random(n) < 0.5)
    if noisy.size:
        peak = mel[noisy].max(axis=(1, 2))
        level = peak - rng.uniform(15.0, 45.0, size=noisy.size)
        tilt = np.linspace(0.0, 1.0, n_mels)[None, :] * rng.uniform(-12.0, 6.0, size=(noisy.size, 1))
        noise = (level[:, None, None] + tilt[:, None, :]).astype(np.float32)
        # Fluctuation as a frame term plus a band term: cheap, and enough to vary the floor.
        noise = noise + rng.normal(0.0, 2.0, size=(noisy.size, n_frames, 1)).astype(np.float32)
        noise = noise + rng.normal(0.0, 2.0, size=(noisy.size, 1, n_mels)).astype(np.float32)
        mixed = mel[noisy]
        high = np.maximum(mixed, noise)
        mel[noisy] = high + 10.0 * np.log10(1.0 + 10.0 ** (-np.abs(mixed - noise) / 10.0))
    out[:, :, :n_mels] = mel
    fill = out.mean(axis=1)  # (n, columns)
    t_start = np.asarray(rng.integers(0, n_frames, size=(n,))).tolist()
    t_len = np.asarray(rng.integers(0, round(n_frames * 2 / 15) + 1, size=(n,))).tolist()
    f_start = np.asarray(rng.integers(0, n_mels, size=(n,))).tolist()
    f_len = np.asarray(rng.integers(0, 9, size=(n,))).tolist()
    for i in range(n):
        out[i, t_start[i] : t_start[i] + t_len[i]] = fill[i]
        f_stop = min(f_start[i] + f_len[i], n_mels)
        if f_stop > f_start[i]:
            out[i, :, f_start[i] : f_stop] = fill[i, f_start[i] : f_stop].mean()
    if eq_db > 0:  # drawn last: with eq_db=0 every other draw is what it always was
        coloured = np.flatnonzero(rng.random(n) < 0.5)
        curves = channel_curves(coloured.size, rng, n_bands=n_mels, max_db=eq_db)
        sub = out[coloured, :, :n_mels]
        shifted = np.maximum(sub + curves[:, None, :], floor_db)
        out[coloured, :, :n_mels] = np.where(sub > floor_db + 1e-3, shifted, sub)
    return out.astype(np.float32, copy=False)


def channel_curves(n: int, rng: np.random.Generator, *, n_bands: int, max_db: float) -> np.ndarray:
    """``(n, n_bands)`` float32 random smooth gain curves over mel bands, dB, each within
    ±``max_db``: a spectral tilt plus two cosine ripples across the band axis, the colouring a
    microphone, a room or a broadcast equaliser gives a recording. Trained under them, a
    model has to read emotion from how the spectrum moves, not from one corpus's channel."""
    position = np.linspace(0.0, 1.0, n_bands)[None, :]
    tilt = rng.uniform(-1.0, 1.0, size=(n, 1)) * (2.0 * position - 1.0)
    curve: np.ndarray = tilt
    for k in (2, 3):
        weight = rng.uniform(-0.5, 0.5, size=(n, 1))
        curve = curve + weight * np.cos(np.pi * k * position + rng.uniform(0.0, np.pi, size=(n, 1)))
    scale = max_db / np.maximum(np.abs(curve).max(axis=1, keepdims=True), 1e-6)
    amplitude = rng.uniform(0.0, 1.0, size=(n, 1))
    curves: np.ndarray = (curve * scale * amplitude).astype(np.float32)
    return curves


def mix_noisy(
    x: np.ndarray, x_noisy: np.ndarray | None, rng: np.random.Generator, *, fraction: float
) -> np.ndarray:
    """``x`` with a random ``fraction`` of its windows replaced by one of their noisy
    versions ``x_noisy`` ``(copies, n, ...)`` (a copy of ``x`` either way)."""
    out = np.array(x, dtype=np.float32, copy=True)
    if x_noisy is None or len(x_noisy) == 0 or fraction <= 0:
        return out
    chosen = np.flatnonzero(rng.random(len(x)) < fraction)
    copies = rng.integers(0, len(x_noisy), size=chosen.size)
    out[chosen] = x_noisy[copies, chosen]
    return out


def add_noise(y: np.ndarray, rng: np.random.Generator, *, snr_db: tuple[float, float]) -> np.ndarray:
    """``y`` (mono, float32) plus pink, brown or white noise at an SNR drawn uniformly from
    ``snr_db`` (dB, relative to the RMS of samples above -60 dBFS), clipped to ±1."""
    n = y.size
    exponent = float(rng.choice([0.0, 1.0, 2.0]))  # white, pink, brown: power ∝ 1/f^exponent
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.maximum(np.arange(spectrum.size), 1) ** (exponent / 2)
    noise: np.ndarray = np.fft.irfft(spectrum, n=n)
    return mix_at_snr(y, noise, snr_db=float(rng.uniform(*snr_db)))


def apply_gain(y: np.ndarray, *, gain_db: float, max_clip_db: float = np.inf) -> np.ndarray:
    """``y`` scaled by ``gain_db`` (reduced so its peak is at most ``max_clip_db`` over full
    scale), clipped to ±1 as a converter would, float32."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0:
        gain_db = min(gain_db, max_clip_db - 20.0 * np.log10(peak))
    scaled: np.ndarray = np.clip(y * 10.0 ** (gain_db / 20.0), -1.0, 1.0)
    return scaled.astype(np.float32)


def noise_bank(root: str | Path, *, split: str = "train") -> list[np.ndarray]:
    """Background recordings of the noise corpus at ``root`` (``manifest.tsv`` with ``path``):
    ``train`` = Speech Commands' background noises and UrbanSound8K fold 1, ``heldout`` =
    UrbanSound8K fold 10 (:func:`is_heldout_noise`), so that checks never hear a recording
    training mixed in."""
    rows = manifest_split(root, split=split, held_out=is_heldout_noise)
    return [read_clip(Path(root) / p) for p in rows["path"]]


HELDOUT_SONG = "audio/de_bonne_humeur_-_Le_Nez_Tordu.flac"
"""The music corpus's song that training never mixes in: benchmarks play it."""


def music_bank(root: str | Path, *, split: str = "train") -> list[np.ndarray]:
    """Songs of the music corpus at ``root`` (``manifest.tsv`` with ``path``): ``train`` =
    all but :data:`HELDOUT_SONG`, ``heldout`` = that one."""
    rows = manifest_split(root, split=split, held_out=is_heldout_song)
    return [read_clip(Path(root) / p) for p in rows["path"]]


def is_heldout_noise(paths: pd.Series) -> pd.Series:
    """Which noise-corpus ``paths`` are held out of training: UrbanSound8K fold 10."""
    return paths.str.contains("/fold10/")


def is_heldout_song(paths: pd.Series) -> pd.Series:
    """Which music-corpus ``paths`` are held out of training: :data:`HELDOUT_SONG`."""
    return paths == HELDOUT_SONG


def manifest_split(
    root: str | Path, *, split: str, held_out: Callable[[pd.Series], pd.Series]
) -> pd.DataFrame:
    """The rows of ``root/manifest.tsv`` in ``split``: ``heldout`` = those whose ``path``
    ``held_out`` marks, anything else = the others (what training may mix in)."""
    import pandas as pd

    manifest = Path(root) / "manifest.tsv"
    if not manifest.is_file():
        raise DatasetError(f"manifest not found: {manifest}")
    rows = pd.read_csv(manifest, sep="\t", dtype={"path": str})
    chosen = held_out(rows["path"].astype(str))
    return rows[chosen] if split == "heldout" else rows[~chosen]


def _real_noise(bank: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of a random recording of ``bank`` from a random offset, looped if short."""
    recording = bank[int(rng.integers(len(bank)))]
    reps = -(-n // max(recording.size, 1)) + 1
    looped = np.tile(recording, reps)
    start = int(rng.integers(0, max(1, looped.size - n)))
    return looped[start : start + n]


def perturb_waveform(
    y: np.ndarray,
    rng: np.random.Generator,
    *,
    config: TrainConfig,
    bank: list[np.ndarray] | None = None,
    music: list[np.ndarray] | None = None,
) -> np.ndarray:
    """One training copy of ``y``: a background (for a ``config.noise_probability`` share
    of copies when ``config.gain_db`` is set, always otherwise): coloured noise
    (:func:`add_noise`) or, in equal shares when given, a recording of ``bank`` at
    ``config.snr_db`` or a stretch of a song of ``music`` at ``config.music_snr_db``; then
    :func:`apply_gain` by a gain drawn from ``config.gain_db``. With ``config.speed``, the
    speech is first :func:`speed_perturb` ed by a factor drawn from it."""
    if config.speed is not None:
        y = speed_perturb(y, factor=float(rng.uniform(*config.speed)))
    if config.gain_db is None and not bank and not music:
        return add_noise(y, rng, snr_db=config.snr_db)
    noisy = y
    if rng.random() < config.noise_probability:
        kinds = ["coloured"] + (["noise"] if bank else []) + (["music"] if music else [])
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "noise" and bank:
            noisy = mix_at_snr(y, _real_noise(bank, y.size, rng), snr_db=float(rng.uniform(*config.snr_db)))
        elif kind == "music" and music:
            snr = float(rng.uniform(*config.music_snr_db))
            noisy = mix_at_snr(y, _real_noise(music, y.size, rng), snr_db=snr)
        else:
            noisy = add_noise(y, rng, snr_db=config.snr_db)
    if config.gain_db is None:
        return noisy
    gain = float(rng.uniform(*config.gain_db))
    return apply_gain(noisy, gain_db=gain, max_clip_db=config.max_clip_db)


def speed_perturb(y: np.ndarray, *, factor: float) -> np.ndarray:
    """``y`` played ``factor`` times faster (pitch, formants and tempo together, as a tape
    would: ``factor`` 1.1 sounds like a smaller vocal tract speaking faster), trimmed or
    zero-padded back to its length ``(n,)`` float32, so its windows stay the same ones.
    Speed perturbation makes new-sounding speakers out of the few a corpus has."""
    if factor <= 0:
        raise DatasetError(f"speed factor must be positive, got {factor}")
    moved = resample(
        np.asarray(y, dtype=np.float32), orig_sr=round(SAMPLE_RATE * factor), target_sr=SAMPLE_RATE
    )
    if moved.size >= y.size:
        return moved[: y.size]
    return np.pad(moved, (0, y.size - moved.size))


def mix_at_snr(y: np.ndarray, noise: np.ndarray, *, snr_db: float) -> np.ndarray:
    """``y + noise`` with ``noise`` (same length) scaled to ``snr_db`` below
    :func:`speech_level` of ``y``, clipped to ±1, float32."""
    unit = noise / (np.sqrt(np.mean(noise**2)) + 1e-12)
    mixed: np.ndarray = np.clip(y + unit * speech_level(y) / 10 ** (snr_db / 20), -1.0, 1.0)
    return mixed.astype(np.float32)


def speech_level(y: np.ndarray) -> float:
    """RMS of the samples of ``y`` above -60 dBFS (the reference level for SNRs); 1e-3 when
    none is."""
    loud = np.abs(y) > 1e-3
    return float(np.sqrt(np.mean(y[loud] ** 2))) if loud.any() else 1e-3


def noisy_inputs(
    clips: ClipSet,
    input_name: str,
    *,
    copies: int,
    snr_db: tuple[float, float],
    seed: int,
    config: FrontEndConfig = FrontEndConfig(),
    recipe: TrainConfig | None = None,
) -> np.ndarray:
    """``(copies, n_windows, *input_shape)``: the model input of every window of
    ``clips`` after :func:`add_noise` on its clip's waveform (same windows, same order);
    with a ``recipe`` whose ``gain_db`` is set, :func:`perturb_waveform` (noise and gain)."""
    rng = np.random.default_rng([seed, 7])
    perturbation = replace(recipe if recipe is not None else TrainConfig(), snr_db=snr_db)
    bank = noise_bank(perturbation.noise_dir) if perturbation.noise_dir is not None else None
    music = music_bank(perturbation.music_dir) if perturbation.music_dir is not None else None
    per_copy: list[list[np.ndarray]] = [[] for _ in range(copies)]
    for index, path in enumerate(clips.paths):
        mono = read_clip(path)
        n_windows = int(np.count_nonzero(clips.clip == index))
        for k in range(copies):
            batch = analyse_signal(
                perturb_waveform(mono, rng, config=perturbation, bank=bank, music=music), config=config
            )
            if batch is None or len(batch) != n_windows:
                raise DatasetError(f"noisy copy of {path} does not cut into {n_windows} windows")
            per_copy[k].append(window_inputs(input_name, frames=batch.frames, features=batch.features))
    return np.stack([np.concatenate(parts) for parts in per_copy])


def training_noise(
    clips: ClipSet, config: TrainConfig, *, seed: int, cache: Path | None = None, log: Any = print
) -> np.ndarray | None:
    """The noisy copies of ``config`` (:func:`noisy_inputs`) for a sequence-input network,
    else ``None``; kept beside ``cache`` (``<cache>.noisy-<input>-<copies>-<seed>.npy``)."""
    input_name = config.model_config().input_name
    sequence_inputs = ("melscal", "melscal_rel", "logmel", "frames")
    if not (config.augment and config.noise_copies > 0 and input_name in sequence_inputs):
        return None
    lo, hi = config.snr_db
    stored = None
    if cache is not None:
        gain = ""
        if config.gain_db is not None:
            lo_gain, hi_gain = config.gain_db
            gain = f"-gain{lo_gain:g}_{hi_gain:g}_{config.max_clip_db:g}_{config.noise_probability:g}"
        if config.noise_dir is not None:
            gain += "-realnoise"
        if config.music_dir is not None:
            lo_music, hi_music = config.music_snr_db
            gain += f"-music{lo_music:g}_{hi_music:g}"
        if config.speed is not None:
            gain += f"-speed{config.speed[0]:g}_{config.speed[1]:g}"
        stored = cache.with_name(
            f"{cache.stem}.noisy-{input_name}-{config.noise_copies}-{lo:g}-{hi:g}{gain}-{seed}.npy"
        )
        if stored.is_file():
            loaded: np.ndarray = np.load(stored)
            return loaded
    started = time.time()
    x_noisy = noisy_inputs(
        clips, input_name, copies=config.noise_copies, snr_db=config.snr_db, seed=seed, recipe=config
    )
    log(
        f"{config.noise_copies} noisy copies of every clip ({lo:g}–{hi:g} dB SNR) "
        f"in {time.time() - started:.0f} s"
    )
    if stored is not None:
        np.save(stored, x_noisy)
    return x_noisy
