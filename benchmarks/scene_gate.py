"""The content gates side by side on held-out material: features, scene network, combined.

    python -m benchmarks.scene_gate [--corpora ../shared/corpora] [--clips 40] [--fold 2]

Material, all from parts of ``../shared/corpora`` no model here was fitted on:
- speech: ``--clips`` clips of the test speakers (fold ``--fold``) of each of the five
  corpora, back to back, as one track per corpus at -26 dBFS active RMS; the same
  tracks at -40 and -10 dBFS; over the songs (each song under each corpus in turn)
  and over the fold's noise recordings at 10 dB SNR;
- music: each of the four songs at its recorded level (the feature gate's weights were
  fitted on all four: its music figures are optimistic);
- noise: the noise recordings of the fold (all slices of one recording in one fold).

Scores every 3 s window (hop 1 s) as speech / music / other under the three gates of
:class:`tagger.frontend.FrontEndConfig`. A window of a speech track is a speech target
when at least ``--min-speech-s`` of it is speech (10 ms blocks of the clean speech within
30 dB of its loud level): the pauses between clips over a music bed are music, not
missed speech. Speech targets count the windows called speech; music and noise targets
the windows *not* called speech (they get no emotion).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from benchmarks.content_gate import _active_rms, _recording
from tagger.audioset.gate import decide_scene, load_scene_net
from tagger.audioset.melspec import logmel_32k, network_input, scene_mel_power
from tagger.frontend import FrontEndConfig, analyse_signal, resample

CORPORA = ("ravdess", "nemo", "ased", "emovo", "kotts")
GOALS = {"clean": 95.0, "over music 10 dB": 90.0, "music": 95.0, "noise": 95.0}


def _fold_speakers(root: Path, fold: int) -> set[str]:
    folds = pd.read_csv(root / "folds.tsv", sep="\t", dtype=str)
    return set(folds[folds["fold"] == str(fold)].iloc[:, 0])


def speech_track(root: Path, *, fold: int, clips: int, rng: np.random.Generator) -> np.ndarray:
    manifest = pd.read_csv(root / "manifest.tsv", sep="\t", dtype=str)
    column = "actor" if "actor" in manifest.columns else "speaker"
    if column == "actor":
        manifest[column] = manifest[column].astype(int).astype(str)
    held_out = manifest[manifest[column].isin(_fold_speakers(root, fold))]
    picked = held_out.sample(n=min(clips, len(held_out)), random_state=int(rng.integers(1 << 31)))
    y = np.concatenate([sf.read(root / path, dtype="float32")[0] for path in picked["path"]])
    return (y * (10 ** (-26 / 20) / _active_rms(y))).astype(np.float32)


def _under(y: np.ndarray, bed: np.ndarray, snr_db: float) -> np.ndarray:
    bed = np.resize(bed, y.size)
    scaled = bed * _active_rms(y) / 10 ** (snr_db / 20) / max(_active_rms(bed), 1e-9)
    return np.clip(y + scaled, -1.0, 1.0).astype(np.float32)


Item = tuple[str, str, str, np.ndarray, np.ndarray | None]


def speech_seconds_per_window(speech: np.ndarray, n_windows: int) -> np.ndarray:
    """Seconds of each 3 s window (hop 1 s) that hold speech: 10 ms blocks of the clean
    ``speech`` within 30 dB of its loud level (95th percentile of block power)."""
    blocks = speech[: speech.size // 160 * 160].reshape(-1, 160)
    power = np.mean(blocks.astype(np.float64) ** 2, axis=1) + 1e-20
    active = power >= np.percentile(power, 95) * 1e-3
    starts = np.arange(n_windows) * 100
    cum = np.concatenate([[0], np.cumsum(active)])
    seconds: np.ndarray = (
        cum[np.minimum(starts + 300, active.size)] - cum[np.minimum(starts, active.size)]
    ) / 100.0
    return seconds


def material(corpora: Path, *, fold: int, clips: int) -> list[Item]:
    """(set, item, target, audio, clean speech or None) tuples."""
    rng = np.random.default_rng(0)
    songs = pd.read_csv(corpora / "music" / "manifest.tsv", sep="\t")
    song_audio = [sf.read(corpora / "music" / p, dtype="float32")[0] for p in songs["path"]]
    noise = pd.read_csv(corpora / "noise" / "manifest.tsv", sep="\t")
    recordings = sorted({_recording(p) for p in noise["path"]})
    order = np.random.default_rng(0).permutation(len(recordings))
    fold_of = {name: int(order[i]) % 4 for i, name in enumerate(recordings)}
    noise_paths = [p for p in noise["path"] if fold_of[_recording(p)] == fold % 4]
    noise_audio = [sf.read(corpora / "noise" / p, dtype="float32")[0] for p in noise_paths]
    items: list[Item] = []
    for i, corpus in enumerate(CORPORA):
        y = speech_track(corpora / corpus, fold=fold, clips=clips, rng=rng)
        items.append(("clean", corpus, "speech", y, y))
        for level in (-40.0, -10.0):
            items.append((f"clean at {level:.0f} dBFS", corpus, "speech", y * 10 ** ((level + 26) / 20), y))
        items.append(
            ("over music 10 dB", corpus, "speech", _under(y, song_audio[i % len(song_audio)], 10.0), y)
        )
        items.append(("over noise 10 dB", corpus, "speech", _under(y, np.concatenate(noise_audio), 10.0), y))
    for title, y in zip(songs["title"], song_audio, strict=True):
        items.append(("music", str(title), "music", y, None))
    for path, y in zip(noise_paths, noise_audio, strict=True):
        items.append(("noise", Path(path).stem, "other", y, None))
    return items


def score(items: list[Item], *, min_speech_s: float) -> pd.DataFrame:
    rows = []
    seconds = {"features": 0.0, "scene": 0.0, "combined": 0.0}
    for name, item, target, y, clean in items:
        calls = {}
        for gate in seconds:
            start = time.perf_counter()
            batch = analyse_signal(y, config=FrontEndConfig(gate=gate))
            seconds[gate] += time.perf_counter() - start
            if batch is not None:
                calls[gate] = batch.content
        if len(calls) < len(seconds):
            continue
        n = len(calls["features"])
        keep = np.ones(n, dtype=bool)
        if clean is not None:
            keep = speech_seconds_per_window(clean, n) >= min_speech_s
        for gate, content in calls.items():
            hit = content == "speech" if target == "speech" else content != "speech"
            rows += [{"set": name, "item": item, "gate": gate, "hit": bool(h)} for h in hit[keep]]
    audio_s = sum(item[3].size for item in items) / 16_000
    print(
        f"{audio_s / 60:.1f} min of audio; front end with the feature gate "
        f"{audio_s / seconds['features']:.0f}x realtime, the scene network "
        f"{audio_s / seconds['scene']:.0f}x, combined {audio_s / seconds['combined']:.0f}x "
        "(one run, this machine)"
    )
    return pd.DataFrame(rows)


def front_end_check(items: list[Item], *, per_item: int = 40) -> pd.DataFrame:
    """The 16 kHz mel bank against the published front end (the same audio resampled to
    32 kHz): per 3 s window (2.88 s, 9 steps), |difference| of p(speech) and p(music)
    and agreement of the scene decision, per set."""
    net = load_scene_net()
    rows = []
    for name, _item, _target, y, _clean in items:
        if "dBFS" in name:
            continue
        starts = range(0, max(1, y.size - 48_000), 16_000 * max(1, y.size // 16_000 // per_item))
        for start in list(starts)[:per_item]:
            clip = y[start : start + 48_000].astype(np.float32)
            if clip.size < 48_000:
                continue
            ours = network_input(scene_mel_power(_frames(clip))).T[:, :288]
            published = logmel_32k(resample(clip, orig_sr=16_000, target_sr=32_000))[:, :288]
            steps = net.trunk(np.stack([ours, published])[..., None])
            p = net.probabilities(steps.mean(axis=1))
            rows.append(
                {
                    "set": name,
                    "d_speech": abs(float(p[0, 0] - p[1, 0])),
                    "d_music": abs(float(p[0, 2] - p[1, 2])),
                    "same_call": bool(decide_scene(p[:1])[0] == decide_scene(p[1:])[0]),
                }
            )
    frame = pd.DataFrame(rows)
    return frame.groupby("set").agg(
        windows=("same_call", "size"),
        mean_d_speech=("d_speech", "mean"),
        max_d_speech=("d_speech", "max"),
        mean_d_music=("d_music", "mean"),
        same_call_pct=("same_call", lambda c: 100 * float(np.mean(c))),
    )


def _frames(y: np.ndarray) -> np.ndarray:
    """16 kHz frames as the pipeline cuts them: 400 samples centred every 160."""
    padded = np.pad(y, 200)
    return np.lib.stride_tricks.sliding_window_view(padded, 400)[::160][: -(-y.size // 160)]


def table(frame: pd.DataFrame) -> pd.DataFrame:
    per_set = frame.pivot_table(index="set", columns="gate", values="hit", aggfunc="mean") * 100
    per_set["windows"] = frame[frame["gate"] == "features"].groupby("set").size()
    per_set["goal"] = [f">= {GOALS[s]:.0f}" if s in GOALS else "" for s in per_set.index]
    return per_set[["windows", "features", "scene", "combined", "goal"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--fold", type=int, default=2)
    parser.add_argument("--clips", type=int, default=40, help="clips of the test speakers per corpus")
    parser.add_argument("--min-speech-s", type=float, default=1.5, help="speech seconds of a speech target")
    parser.add_argument(
        "--front-end-check", action="store_true", help="only the 16 kHz bank against the 32 kHz front end"
    )
    args = parser.parse_args(argv)
    if not (args.corpora / "music" / "manifest.tsv").is_file():
        print(f"no corpora under {args.corpora}", file=sys.stderr)
        return 3
    items = material(args.corpora, fold=args.fold, clips=args.clips)
    if args.front_end_check:
        with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
            print(front_end_check(items).to_string())
        return 0
    frame = score(items, min_speech_s=args.min_speech_s)
    with pd.option_context("display.width", 200, "display.float_format", "{:.1f}".format):
        print("share of windows right (speech targets: called speech; music/noise: not speech), %")
        print(table(frame).to_string())
        worst = frame.groupby(["set", "item", "gate"])["hit"].mean().unstack("gate") * 100
        print("\nper item, %")
        print(worst.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
