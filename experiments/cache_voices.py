"""Session 13's experiment: two more training copies of every clip, as other voices through
other channels, appended to the shipped cache (``python -m tagger.training.mn04 cache``).

Each new copy is the clip played 0.88-1.12 times as fast (pitch, formants and tempo
together: :func:`tagger.training.augment.speed_perturb`, a new-sounding speaker), then the
shipped recipe's noise, music, gain and clipping (:func:`perturb_waveform`), then a random
smooth colouring of the mel bands (:func:`channel_curves`, up to +-8 dB: a microphone, room
or broadcast equaliser). Copies 0..3 stay the shipped cache's, so a tail trained on the
result differs from the shipped one by these copies alone.

Usage (one corpus per process; nothing here is shipped)::

    PYTHONPATH=. python -m experiments.cache_voices --corpus ravdess nemo --out runs/mn04v
    python -m tagger.training.mn04 --out runs/mn04v select --epochs 19 --label-smoothing 0.1
"""

from __future__ import annotations

# ruff: noqa: E402  (the thread settings must precede the NumPy imports)
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import time
from pathlib import Path

import numpy as np

from tagger.audioset.gate import SceneConfig, segment_input
from tagger.training.augment import channel_curves, music_bank, noise_bank, perturb_waveform, speed_perturb
from tagger.training.config import TrainConfig
from tagger.training.dataset import read_clip
from tagger.training.mn04 import CORPORA, MAX_FRAMES

SPEED = (0.88, 1.12)
EQ_DB = 8.0
EXTRA = 2


def voice_map(y: np.ndarray, rng: np.random.Generator, *, net: object, bank: list, music: list) -> np.ndarray:
    """Block 10's map ``(8, T/16, 32)`` float16 of one new copy of clip ``y`` (16 kHz)."""
    from tagger.frontend import scene_mel_rows

    recipe = TrainConfig(snr_db=(0.0, 30.0), gain_db=(-30.0, 20.0), max_clip_db=20.0, noise_probability=0.75)
    moved = speed_perturb(y, factor=float(rng.uniform(*SPEED)))
    noisy = perturb_waveform(moved, rng, config=recipe, bank=bank, music=music)
    rows = scene_mel_rows(noisy)
    curve = channel_curves(1, rng, n_bands=rows.shape[1], max_db=EQ_DB)[0]
    rows = rows * (10.0 ** (curve / 10.0))[None, :].astype(np.float32)
    if len(rows) > MAX_FRAMES:
        cut = (len(rows) - MAX_FRAMES) // 2
        rows = rows[cut : cut + MAX_FRAMES]
    _, feature_map = net.trunk_with_map(segment_input(rows, SceneConfig()))  # type: ignore[attr-defined]
    out: np.ndarray = feature_map[0].astype(np.float16)
    return out


def main() -> None:
    from tagger.audioset.gate import load_scene_net

    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--base", type=Path, default=Path("runs/mn04"))
    parser.add_argument("--out", type=Path, default=Path("runs/mn04v"))
    parser.add_argument("--corpus", nargs="+", default=list(CORPORA))
    args = parser.parse_args()
    net = load_scene_net()
    bank, music = noise_bank(args.root / "noise"), music_bank(args.root / "music")
    args.out.mkdir(parents=True, exist_ok=True)
    for corpus in args.corpus:
        start = time.time()
        rng = np.random.default_rng([13, CORPORA.index(corpus)])
        with np.load(args.base / f"maps_{corpus}.npz") as f:
            fields = {k: f[k] for k in f.files}
        copies = int(fields["copies"])
        bounds = np.concatenate([[0], np.cumsum(fields["steps"])])
        pieces = [fields["maps"][:, bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
        maps: list[np.ndarray] = []
        for clip, path in enumerate(fields["path"]):
            maps.extend(pieces[clip * copies : (clip + 1) * copies])
            y = read_clip(args.root / corpus / str(path))
            maps.extend(voice_map(y, rng, net=net, bank=bank, music=music) for _ in range(EXTRA))
        fields["maps"] = np.concatenate(maps, axis=1)
        fields["steps"] = np.array([m.shape[1] for m in maps])
        fields["copies"] = np.array(copies + EXTRA)
        np.savez(args.out / f"maps_{corpus}.npz", **fields)
        print(
            f"{corpus}: {len(fields['path'])} clips + {EXTRA} copies in {time.time() - start:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
