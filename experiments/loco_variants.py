"""Leave-one-corpus-out with input variants, and a linear model on window functionals
(exploration for issue #14; figures in docs/model/experiments.md, "Why the model does not
transfer between corpora").

    python experiments/loco_variants.py cnn VARIANT      # none, blur4, relf0, speaker
    python experiments/loco_variants.py linear           # functionals + logistic regression

``cnn``: one network per direction on the shipped recipe (songs and real noise under the
copies), its ``melscal_rel`` input transformed by VARIANT in training and test: ``blur4``
averages the 64 log-mel bands in groups of 4; ``relf0`` makes log f0 relative to the
window's voiced median; ``speaker`` subtracts each speaker's mean input over its active
steps (:func:`speaker_centred`). ``linear``: level-free functionals of each window, logistic
regression, trained on one corpus and tested on the other, then the same with every
speaker's functionals standardised over that speaker's own clips. Needs the caches that
``python -m benchmarks.corpora ... --cache-dir bench/cache`` writes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.corpora import Corpus, _clip_probs, _train
from tagger.model import model_config_for
from tagger.model_inputs import level_free_mel_scalar_steps
from tagger.training import TrainConfig
from tagger.training.metrics import clip_probabilities, score_clips

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
RECIPE = replace(
    TrainConfig(),
    model=model_config_for("melscal_rel_cnn"),
    epochs=80,
    n_members=1,
    gain_db=(-30.0, 20.0),
    noise_dir=str(CORPORA / "noise"),
    music_dir=str(CORPORA / "music"),
    noise_copies=3,
    noise_probability=0.75,
)


def blur_bands(x: np.ndarray, group: int = 4) -> np.ndarray:
    """``melscal_rel`` windows ``(..., 72)`` with the 64 log-mel bands averaged in groups."""
    lead = x.shape[:-1]
    mel = x[..., :64].reshape(*lead, 64 // group, group).mean(-1, keepdims=True)
    mel = np.broadcast_to(mel, (*lead, 64 // group, group)).reshape(*lead, 64)
    return np.concatenate([mel, x[..., 64:]], axis=-1).astype(np.float32)


def relative_f0(x: np.ndarray) -> np.ndarray:
    """``melscal_rel`` windows with log f0 (column 71) relative to the window's voiced
    median, plus 1 so that 0 still means unvoiced."""
    f0 = x[..., 71]
    voiced = f0 > 0
    with np.errstate(all="ignore"):
        median = np.nan_to_num(np.nanmedian(np.where(voiced, f0, np.nan), axis=-1, keepdims=True))
    out = x.copy()
    out[..., 71] = np.where(voiced, f0 - median + 1.0, 0.0)
    return out


def speaker_centred(x: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """``melscal_rel`` windows ``(n, steps, 72)`` minus their speaker's mean of each column
    over active steps (within 30 dB of the window level), the floor left as it is: a
    speaker normalisation that assumes each speaker's clips span the emotions evenly."""
    out = x.copy()
    active = x[..., 64] > -30.0
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        mean = x[rows][active[rows]].mean(0)
        out[rows] = np.where(active[rows][..., None], x[rows] - mean, x[rows])
    return out


VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda x: x,
    "blur4": blur_bands,
    "relf0": relative_f0,
}


def corpora(recipe: TrainConfig) -> list[Corpus]:
    cache = Path("bench/cache")
    return [Corpus(CORPORA / name, recipe, cache_dir=cache, seed=0) for name in ("ravdess", "nemo")]


def run_cnn(variant: str) -> None:
    sets = corpora(RECIPE)
    for corpus in sets:
        speakers = corpus.clips.actors[corpus.clips.clip]

        def transform(x: np.ndarray, speakers: np.ndarray = speakers) -> np.ndarray:
            return speaker_centred(x, speakers) if variant == "speaker" else VARIANTS[variant](x)

        corpus.x = transform(corpus.x)
        if corpus.x_noisy is not None:
            corpus.x_noisy = np.stack([transform(copy) for copy in corpus.x_noisy])
    for train in sets:
        for test in sets:
            if test is train:
                continue
            started = time.time()
            members = _train([(train, train.known)], RECIPE, 0)
            shared = sorted(set(train.classes) & set(test.classes))
            score = score_clips(test.clips.labels[test.known], _clip_probs(members, test)[test.known], shared)
            took = time.time() - started
            print(f"{variant} {train.name} -> {test.name}: UAR {100 * score['uar']:.1f} % ({took:.0f} s)")


def functionals(frames: np.ndarray) -> np.ndarray:
    """Level-free functionals of windows of frame rows ``(n, 300, 92)`` -> ``(n, 142)``:
    16 mel bands and 7 scalars over the window's active 40 ms steps (mean, std, 10/50/90th
    percentiles, std of the step-to-step change), voiced and active shares, and the spread,
    range and mean step of f0 in semitones around the window's voiced median."""
    x = level_free_mel_scalar_steps(frames)
    n, steps = x.shape[:2]
    columns = np.concatenate([x[..., :64].reshape(n, steps, 16, 4).mean(-1), x[..., 64:71]], axis=-1)
    active = x[..., 64] > -30.0
    weight = active[..., None].astype(np.float32)
    count = np.maximum(weight.sum(1), 1.0)
    mean = (columns * weight).sum(1) / count
    std = np.sqrt(((columns - mean[:, None]) ** 2 * weight).sum(1) / count)
    with np.errstate(all="ignore"):
        masked = np.where(active[..., None], columns, np.nan)
        pct = np.nan_to_num(np.nanpercentile(masked, [10, 50, 90], axis=1), nan=-50.0)
        pairs = (active[:, 1:] & active[:, :-1])[..., None]
        step = np.sqrt((np.diff(columns, axis=1) ** 2 * pairs).sum(1) / np.maximum(pairs.sum(1), 1))
        f0 = np.where(x[..., 71] > 0, x[..., 71], np.nan)
        semitones = (f0 - np.nanmedian(f0, axis=1, keepdims=True)) * 12.0 / np.log(2.0)
        pitch = np.stack(
            [
                np.nanstd(semitones, 1),
                np.nanpercentile(semitones, 90, 1) - np.nanpercentile(semitones, 10, 1),
                np.nanmean(np.abs(np.diff(semitones, axis=1)), 1),
            ],
            axis=1,
        )
    shares = np.stack([(x[..., 71] > 0).mean(1), active.mean(1)], axis=1)
    parts = [mean, std, pct[0], pct[1], pct[2], step, shares, np.nan_to_num(pitch)]
    return np.concatenate(parts, axis=1).astype(np.float32)


def per_speaker_standardised(features: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    out = features.copy()
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        out[rows] = (features[rows] - features[rows].mean(0)) / (features[rows].std(0) + 1e-3)
    return out


def run_linear() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    sets = corpora(replace(RECIPE, noise_copies=0))
    feats = {c.name: functionals(c.clips.frames) for c in sets}
    for normalise in (False, True):
        for train in sets:
            for test in sets:
                if test is train:
                    continue
                shared = sorted(set(train.classes) & set(test.classes))
                x_train, x_test = feats[train.name], feats[test.name]
                if normalise:
                    x_train = per_speaker_standardised(x_train, train.clips.actors[train.clips.clip])
                    x_test = per_speaker_standardised(x_test, test.clips.actors[test.clips.clip])
                rows = np.isin(train.y, shared) & train.clips.is_speech & train.known[train.clips.clip]
                scaler = StandardScaler().fit(x_train[rows])
                model = LogisticRegression(C=0.003, max_iter=2000, class_weight="balanced")
                model.fit(scaler.transform(x_train[rows]), train.y[rows])
                probs = np.zeros((len(x_test), 8))
                probs[:, model.classes_] = model.predict_proba(scaler.transform(x_test))
                clip = clip_probabilities(test.clips, probs)
                score = score_clips(test.clips.labels[test.known], clip[test.known], shared)
                label = "per-speaker standardised" if normalise else "plain"
                print(f"linear, {label}: {train.name} -> {test.name}: UAR {100 * score['uar']:.1f} %")


if __name__ == "__main__":
    if sys.argv[1] == "cnn":
        run_cnn(sys.argv[2])
    else:
        run_linear()
