"""Train and measure the content gate (speech / music / other) on held-out material.

    python -m benchmarks.content_gate [--corpora ../shared/corpora] [--write-weights]

Four folds: fold k holds out song k of ``music`` (leave-one-song-out), a quarter of the
RAVDESS actors and of the nEMO speakers, and a quarter of the noise recordings (all
slices of one recording in one fold); the gate is trained on the other three quarters
and scored on fold k, and the table sums the four folds. Speech is scored at its
recorded level and gain-shifted by -20 and +20 dB (clipping allowed); speech over music
mixes a held-out clip with an excerpt of the held-out song at 10 dB SNR.
``--write-weights`` then fits the gate on all folds and writes
``tagger/models/content_gate.json``. Window features are cached in the folder
``--cache``, under a name that changes with the code that computes them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from scipy.optimize import minimize

from tagger import content as content_module
from tagger import features as features_module
from tagger import speech as speech_module
from tagger.content import (
    _DEFAULT_WEIGHTS,
    CONTENT_CLASSES,
    ContentConfig,
    ContentGate,
    audible_s,
    content_features,
    decide_content,
)
from tagger.frontend import analyse_signal
from tagger.speech import detect_speech
from tagger.testing import signals

SR = 16_000
N_FOLDS = 4
GAINS_DB = (-20.0, 0.0, 20.0)
CLASS_INDEX = {name: i for i, name in enumerate(CONTENT_CLASSES)}


def _windows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content features, voicing-detector flags and audible seconds of each window of ``y``."""
    batch = analyse_signal(np.clip(y, -1.0, 1.0).astype(np.float32))
    assert batch is not None
    feats = content_features(batch.frames, batch.n_valid_frames)
    voiced = detect_speech(batch.frames, batch.n_valid_frames)
    return feats, voiced, audible_s(batch.frames, batch.n_valid_frames)


def _code_version() -> str:
    """12 hex of the sha256 of the code behind the cached features (this file, the gate's
    features, the frame features and the voicing detector)."""
    digest = hashlib.sha256()
    for module in (__file__, content_module.__file__, features_module.__file__, speech_module.__file__):
        digest.update(Path(str(module)).read_bytes())
    return digest.hexdigest()[:12]


def _recording(path: str) -> str:
    """The source recording of a noise file: its fsID for UrbanSound8K slices, else itself."""
    name = Path(path).name
    return name.split("-")[0] if "urbansound" in path.lower() else name


def _active_rms(y: np.ndarray) -> float:
    """RMS over the 25 ms frames within 40 dB of the loudest (speech without its pauses)."""
    n = y.size // 400 * 400
    frames = y[:n].reshape(-1, 400)
    rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-12)
    active = rms >= rms.max() * 10 ** (-40 / 20)
    return float(np.sqrt(np.mean(rms[active] ** 2)))


def _speech_clips(root: Path, column: str, per_group: int) -> pd.DataFrame:
    manifest = pd.read_csv(root / "manifest.tsv", sep="\t")
    groups = sorted(manifest[column].unique().tolist())
    fold_of = {g: i % N_FOLDS for i, g in enumerate(groups)}
    picked = manifest.sample(frac=1.0, random_state=0).groupby(column).head(per_group)
    picked = picked.assign(fold=picked[column].map(fold_of), root=str(root))
    return picked.reset_index(drop=True)


def extract(corpora: Path, *, per_speaker: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    rows: dict[str, list[object]] = {"set": [], "fold": [], "target": []}
    feats: list[np.ndarray] = []
    old: list[np.ndarray] = []
    audible: list[np.ndarray] = []

    def add(y: np.ndarray, *, name: str, fold: int, target: str) -> None:
        f, s, a = _windows(y)
        feats.append(f)
        old.append(s)
        audible.append(a)
        rows["set"] += [name] * len(f)
        rows["fold"] += [fold] * len(f)
        rows["target"] += [target] * len(f)

    songs = pd.read_csv(corpora / "music" / "manifest.tsv", sep="\t")
    song_audio = [sf.read(corpora / "music" / p, dtype="float32")[0] for p in songs["path"]]
    for fold, y in enumerate(song_audio):
        for gain in GAINS_DB:
            add(y * 10 ** (gain / 20), name=f"music {gain:+.0f} dB", fold=fold, target="music")

    noise = pd.read_csv(corpora / "noise" / "manifest.tsv", sep="\t")
    # UrbanSound8K files are slices of longer recordings ("<fsID>-<class>-<occurrence>-<slice>"):
    # a recording's slices all go to one fold, so no held-out noise was heard in training.
    recordings = sorted({_recording(path) for path in noise["path"]})
    order = rng.permutation(len(recordings))
    fold_of = {name: int(order[i]) % N_FOLDS for i, name in enumerate(recordings)}
    noise_audio: list[list[np.ndarray]] = [[] for _ in range(N_FOLDS)]
    for path in noise["path"]:
        fold = fold_of[_recording(path)]
        y = sf.read(corpora / "noise" / path, dtype="float32")[0]
        noise_audio[fold].append(y)
        for gain in GAINS_DB:
            add(y * 10 ** (gain / 20), name=f"noise {gain:+.0f} dB", fold=fold, target="other")

    for seed in range(8):  # synthetic non-speech, for training only (fold -1)
        add(
            signals.tone(6.0, freq_hz=110.0 * 2 ** (seed % 4)), name="synthetic tone", fold=-1, target="other"
        )
        add(
            signals.white_noise(6.0, amplitude=0.02 * (seed + 1), seed=seed),
            name="synthetic noise",
            fold=-1,
            target="other",
        )
        add(
            signals.pink_noise(6.0, amplitude=0.02 * (seed + 1), seed=seed),
            name="synthetic noise",
            fold=-1,
            target="other",
        )

    clips = pd.concat(
        [
            _speech_clips(corpora / "ravdess", "actor", per_speaker).assign(corpus="RAVDESS"),
            _speech_clips(corpora / "nemo", "speaker", per_speaker * 3).assign(corpus="nEMO"),
        ]
    )
    for root, path, corpus, fold in zip(
        clips["root"].tolist(),
        clips["path"].tolist(),
        clips["corpus"].tolist(),
        clips["fold"].tolist(),
        strict=True,
    ):
        y = sf.read(Path(root) / path, dtype="float32")[0]
        for gain in GAINS_DB:
            add(y * 10 ** (gain / 20), name=f"{corpus} clean {gain:+.0f} dB", fold=fold, target="speech")
        speech_rms = _active_rms(y)
        song = song_audio[fold]
        for snr, name in (
            (10.0, "speech over music 10 dB"),
            (float(rng.uniform(0, 20)), "speech over music 0-20 dB"),
        ):
            start = int(rng.integers(0, song.size - y.size))
            excerpt = song[start : start + y.size]
            bed = excerpt * speech_rms / 10 ** (snr / 20) / max(_active_rms(excerpt), 1e-6)
            level = 10 ** ((-26.0 + rng.uniform(-10, 10)) / 20) / speech_rms
            add((y + bed) * level, name=f"{corpus} {name}", fold=fold, target="speech")
        pool = noise_audio[fold]
        bg = pool[int(rng.integers(len(pool)))]
        bg = np.resize(bg, y.size)
        snr = float(rng.uniform(0, 20))
        add(
            y + bg * speech_rms / 10 ** (snr / 20) / max(_active_rms(bg), 1e-6),
            name=f"{corpus} over noise 0-20 dB",
            fold=fold,
            target="speech",
        )
        # Stationary broadband noise (hum, hiss, crowd-like): pink at 10 and 0 dB SNR.
        seed = int(rng.integers(1 << 16))
        pink = signals.pink_noise(y.size / SR, seed=seed)[: y.size]
        pink = pink / max(float(np.sqrt(np.mean(pink**2))), 1e-9)
        for snr in (10.0, 0.0):
            add(
                y + pink * speech_rms / 10 ** (snr / 20),
                name=f"{corpus} over pink noise {snr:.0f} dB",
                fold=fold,
                target="speech",
            )
    return {
        "features": np.concatenate(feats),
        "old_speech": np.concatenate(old),
        "audible_s": np.concatenate(audible),
        "set": np.asarray(rows["set"], dtype=str),
        "fold": np.asarray(rows["fold"], dtype=np.int64),
        "target": np.asarray(rows["target"], dtype=str),
    }


def fit(features: np.ndarray, targets: np.ndarray, *, l2: float = 1e-2) -> ContentGate:
    """Multinomial logistic regression, classes weighted equally, L2 on the weights."""
    mean = features.mean(axis=0)
    scale = np.maximum(features.std(axis=0), 1e-6)
    z = (features - mean) / scale
    y = np.array([CLASS_INDEX[t] for t in targets])
    n_classes, n_features = len(CONTENT_CLASSES), z.shape[1]
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    sample_weight = (1.0 / np.maximum(counts, 1))[y] / n_classes
    onehot = np.eye(n_classes)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef = theta[: n_classes * n_features].reshape(n_classes, n_features)
        intercept = theta[n_classes * n_features :]
        logits = z @ coef.T + intercept
        logits -= logits.max(axis=1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(sample_weight * (onehot * log_probs).sum(axis=1)).sum() + l2 * (coef**2).sum()
        residual = (np.exp(log_probs) - onehot) * sample_weight[:, None]
        grad_coef = residual.T @ z + 2 * l2 * coef
        return float(value), np.concatenate([grad_coef.ravel(), residual.sum(axis=0)])

    theta0 = np.zeros(n_classes * (n_features + 1))
    result = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    coef = result.x[: n_classes * n_features].reshape(n_classes, n_features)
    return ContentGate(mean=mean, scale=scale, coef=coef, intercept=result.x[n_classes * n_features :])


def evaluate(data: dict[str, np.ndarray], config: ContentConfig) -> pd.DataFrame:
    """Per set: share of windows called speech / music / other by the front end's rule
    (gate plus voicing veto), by the gate alone, and by the voicing detector alone."""
    deployed = np.empty(len(data["target"]), dtype=object)
    alone = np.empty(len(data["target"]), dtype=object)
    for fold in range(N_FOLDS):
        train = data["fold"] != fold
        test = data["fold"] == fold
        probs = fit(data["features"][train], data["target"][train]).probabilities(data["features"][test])
        audible = data["audible_s"][test]
        deployed[test] = decide_content(
            probs, audible_s=audible, speech_allowed=data["old_speech"][test], config=config
        )
        alone[test] = decide_content(
            probs, audible_s=audible, speech_allowed=np.ones(len(probs), bool), config=config
        )
    scored = data["fold"] >= 0
    frame = pd.DataFrame(
        {
            "set": data["set"][scored],
            "target": data["target"][scored],
            "content": deployed[scored].astype(str),
            "alone": alone[scored].astype(str),
            "voicing": data["old_speech"][scored],
        }
    )
    table = frame.groupby("set", sort=False).agg(
        expected=("target", "first"),
        windows=("target", "size"),
        speech=("content", lambda c: 100 * float(np.mean(c == "speech"))),
        music=("content", lambda c: 100 * float(np.mean(c == "music"))),
        other=("content", lambda c: 100 * float(np.mean(c == "other"))),
        gate_alone_speech=("alone", lambda c: 100 * float(np.mean(c == "speech"))),
        voicing_only_speech=("voicing", lambda c: 100 * float(np.mean(c))),
    )
    goals = []
    for name, expected in zip(table.index, table["expected"], strict=True):
        if "music 10 dB" in name:
            goals.append("speech >= 80")
        elif " clean " in name:
            goals.append("speech >= 90")
        elif expected != "speech":
            goals.append("speech <= 10")
        else:
            goals.append("")
    table["goal"] = goals
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--per-speaker", type=int, default=10, help="RAVDESS clips per actor (nEMO: 3x)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/emotag_content_gate"))
    parser.add_argument("--write-weights", action="store_true")
    args = parser.parse_args(argv)
    if not (args.corpora / "music" / "manifest.tsv").is_file():
        print(f"no corpora under {args.corpora}", file=sys.stderr)
        return 3
    cache = args.cache / f"features-{_code_version()}-{args.per_speaker}.npz"
    if cache.is_file():
        data = dict(np.load(cache))
    else:
        data = extract(args.corpora, per_speaker=args.per_speaker)
        args.cache.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **data)  # type: ignore[arg-type]
    config = ContentConfig()
    table = evaluate(data, config)
    with pd.option_context("display.width", 200, "display.float_format", "{:.1f}".format):
        print(table.to_string())
    if args.write_weights:
        usable = data["fold"] >= -1
        gate = fit(data["features"][usable], data["target"][usable])
        _DEFAULT_WEIGHTS.write_text(json.dumps(gate.to_json(), indent=1) + "\n")
        print(f"wrote {_DEFAULT_WEIGHTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
