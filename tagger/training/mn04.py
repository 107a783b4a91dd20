"""Train the shipped emotion model: the AudioSet trunk's last blocks fine-tuned for emotion.

The model (:func:`tagger.audioset.network.build_emotion_tail`) reads what the scene gate's
trunk computes anyway, block 10's feature map of each segment of a track, and gives
per-step logits that the front end pools per window (:class:`tagger.audioset.gate.SceneStream`).
Training sees exactly that input: each clip's scene mel bands from the front end's own
frame analysis (:func:`tagger.frontend.scene_mel_rows`), one segment per clip
(:func:`tagger.audioset.gate.segment_input`), the shipped ``scene.tflite`` for blocks
1..10 (frozen, so cached once). Trained: blocks 11..15, the final 1 x 1 conv and the
dense head, BatchNorm frozen; Adam, the shipped label recipe (classes a corpus lacks are
masked, calm absorbed by neutral in a corpus without calm:
:func:`tagger.training.labels.label_targets`); corpora, then classes within a corpus, then
clips drawn equally. Training copies: the clean clip and ``copies - 1`` perturbed ones
(real noise, coloured noise or a song under the speech, then a gain with clipping:
:func:`tagger.training.augment.perturb_waveform`, the CNN recipe's settings).

Commands (one CPU thread each; outputs under ``--out``)::

    python -m tagger.training.mn04 cache                 # feature maps of every clip and copy
    python -m tagger.training.mn04 select --epochs 16    # train folds 0,3,4; fold 1 per epoch
    python -m tagger.training.mn04 test --epochs E       # train folds 0,1,3,4; fold 2 = test
    python -m tagger.training.mn04 loco --epochs E       # train on four corpora, test the fifth
    python -m tagger.training.mn04 ship --epochs E       # the test run's model + card -> tagger/models
"""

from __future__ import annotations

# ruff: noqa: E402  (the thread settings must precede the NumPy and TensorFlow imports)
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tagger.audioset.gate import (
    MAP_COLUMN_FRAMES,
    SceneConfig,
    load_scene_net,
    segment_input,
    tail_window_logits,
)
from tagger.audioset.melspec import N_MELS
from tagger.audioset.network import MAP_BLOCK
from tagger.calibration import softmax
from tagger.constants import EMOTIONS
from tagger.training.labels import corpus_classes, label_targets

__all__ = ["CORPORA", "TailData", "clip_logits", "clip_probabilities", "window_spans"]

CORPORA = ("ravdess", "nemo", "ased", "emovo", "kotts")
MAX_FRAMES = 1280  # a clip is one segment: at most the gate's segment with its context (12.8 s)
TEST_FOLD = 2
VAL_FOLD = 1  # the one fold besides 0 and 2 that every corpus has
VALIDATION_FOLDS = (1, 0, 3, 4)  # folds a select run can score, by a model trained without it
CALIBRATION_FOLDS = (1, 0)  # those the temperature, threshold and rule are chosen on: the two
# every corpus has (3 and 4 hold RAVDESS and ASED only, and would tilt the pooled fit to them)
BATCH = 32
LR_HEAD = 3e-4
LR_TRUNK = 1e-4
DROPOUT = 0.3
CLEAN_SHARE = 0.4  # of the draws in an epoch, the clean copy; the rest a perturbed one
SEED = 0


# ---------------------------------------------------------------- clips -> feature maps


def read_corpus(root: Path, corpus: str) -> pd.DataFrame:
    """The corpus's manifest joined with its speaker folds: ``path``, ``emotion``,
    ``speaker`` (str), ``fold``."""
    manifest = pd.read_csv(root / corpus / "manifest.tsv", sep="\t", dtype=str)
    folds = pd.read_csv(root / corpus / "folds.tsv", sep="\t", dtype=str)
    key = "actor" if "actor" in manifest.columns else "speaker"
    manifest[key] = manifest[key].str.lstrip("0") if corpus == "ravdess" else manifest[key]
    folds[key] = folds[key].str.lstrip("0") if corpus == "ravdess" else folds[key]
    frame = manifest.merge(folds[[key, "fold"]], on=key, how="left", validate="many_to_one")
    if frame["fold"].isna().any():
        raise SystemExit(f"{corpus}: speakers without a fold")
    frame["speaker"] = frame[key]
    frame["fold"] = frame["fold"].astype(int)
    return frame


def clip_map(
    y: np.ndarray, *, net: Any, config: SceneConfig | None = None, band_gain_db: np.ndarray | None = None
) -> np.ndarray:
    """Block 10's feature map ``(8, T/16, 32)`` float16 of a 16 kHz clip ``y`` run as one
    segment (its centre ``MAX_FRAMES`` frames if longer), as the front end computes it;
    with ``band_gain_db`` ``(N_MELS,)``, the mel bands coloured by those gains first (a channel)."""
    from tagger.frontend import scene_mel_rows

    rows = scene_mel_rows(y)
    if band_gain_db is not None:
        rows = rows * (10.0 ** (np.asarray(band_gain_db) / 10.0)).astype(np.float32)[None, :]
    if len(rows) > MAX_FRAMES:
        cut = (len(rows) - MAX_FRAMES) // 2
        rows = rows[cut : cut + MAX_FRAMES]
    _, feature_map = net.trunk_with_map(segment_input(rows, config or SceneConfig()))
    out: np.ndarray = feature_map[0].astype(np.float16)
    return out


def copy_recipe() -> Any:
    """The perturbed training copies' recipe (:class:`~tagger.training.config.TrainConfig`):
    real noise, coloured noise or a song at 0-30 dB SNR for 75 % of copies, a gain of
    -30..+20 dB with clipping up to 20 dB over full scale."""
    from tagger.training.config import TrainConfig

    return TrainConfig(snr_db=(0.0, 30.0), gain_db=(-30.0, 20.0), max_clip_db=20.0, noise_probability=0.75)


def clip_copies(stored: Any) -> list[list[np.ndarray]]:
    """Each clip's maps ``[clip][copy]`` from a cache file's ``maps`` (concatenated along
    steps), ``steps`` and ``copies``."""
    copies = int(stored["copies"])
    bounds = np.concatenate([[0], np.cumsum(stored["steps"])])
    whole = stored["maps"]
    pieces = [whole[:, bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    return [pieces[i : i + copies] for i in range(0, len(pieces), copies)]


def cache(args: argparse.Namespace) -> None:
    """Feature maps of every clip: copy 0 clean, copies 1.. perturbed."""
    from tagger.training.augment import music_bank, noise_bank, perturb_waveform
    from tagger.training.dataset import read_clip

    net = load_scene_net()
    recipe = copy_recipe()
    bank = noise_bank(args.root / "noise")
    music = music_bank(args.root / "music")
    args.out.mkdir(parents=True, exist_ok=True)
    for corpus in args.corpus:
        start = time.time()
        frame = read_corpus(args.root, corpus)
        rng = np.random.default_rng([SEED, CORPORA.index(corpus)])
        maps: list[np.ndarray] = []
        for path in frame["path"]:
            y = read_clip(args.root / corpus / path)
            maps.append(clip_map(y, net=net))
            for _ in range(args.copies - 1):
                maps.append(
                    clip_map(perturb_waveform(y, rng, config=recipe, bank=bank, music=music), net=net)
                )
        steps = np.array([m.shape[1] for m in maps])
        np.savez(
            args.out / f"maps_{corpus}.npz",
            maps=np.concatenate(maps, axis=1),
            steps=steps,
            copies=args.copies,
            path=frame["path"].to_numpy(str),
            label=frame["emotion"].map(EMOTIONS.index).to_numpy(int),
            fold=frame["fold"].to_numpy(int),
            speaker=frame["speaker"].to_numpy(str),
        )
        print(f"{corpus}: {len(frame)} clips x {args.copies} in {time.time() - start:.0f} s", flush=True)


VOICE_SPEED = (0.88, 1.12)  # playback speed of a voice copy: pitch, formants and tempo together
VOICE_EQ_DB = 8.0  # largest gain of a voice copy's channel colouring, dB
VOICE_COPIES = 2


def voices(args: argparse.Namespace) -> None:
    """Add :data:`VOICE_COPIES` copies of every clip to the cache in ``--out``, each as
    another voice through another channel: the clip played :data:`VOICE_SPEED` times as
    fast (:func:`~tagger.training.augment.speed_perturb`: a new-sounding speaker), then the
    shipped noise, music, gain and clipping (:func:`perturb_waveform`), then a smooth
    colouring of the mel bands up to :data:`VOICE_EQ_DB` (:func:`channel_curves`: a
    microphone, room or broadcast equaliser). The cache's copies stay as they were."""
    from tagger.training.augment import (
        channel_curves,
        music_bank,
        noise_bank,
        perturb_waveform,
        speed_perturb,
    )
    from tagger.training.dataset import read_clip

    net = load_scene_net()
    recipe = copy_recipe()
    bank, music = noise_bank(args.root / "noise"), music_bank(args.root / "music")
    for corpus in args.corpus:
        start = time.time()
        rng = np.random.default_rng([13, CORPORA.index(corpus)])
        path = args.out / f"maps_{corpus}.npz"
        with np.load(path) as f:
            fields = {k: f[k] for k in f.files}
        maps: list[np.ndarray] = []
        for stored, name in zip(clip_copies(fields), fields["path"], strict=True):
            maps.extend(stored)
            y = read_clip(args.root / corpus / str(name))
            for _ in range(VOICE_COPIES):
                moved = speed_perturb(y, factor=float(rng.uniform(*VOICE_SPEED)))
                noisy = perturb_waveform(moved, rng, config=recipe, bank=bank, music=music)
                curve = channel_curves(1, rng, n_bands=N_MELS, max_db=VOICE_EQ_DB)[0]
                maps.append(clip_map(noisy, net=net, band_gain_db=curve))
        fields["maps"] = np.concatenate(maps, axis=1)
        fields["steps"] = np.array([m.shape[1] for m in maps])
        fields["copies"] = np.array(int(fields["copies"]) + VOICE_COPIES)
        np.savez(path, **fields)  # type: ignore[arg-type]
        print(
            f"{corpus}: {VOICE_COPIES} voice copies of {len(fields['path'])} clips in "
            f"{time.time() - start:.0f} s",
            flush=True,
        )


# ---------------------------------------------------------------- data


@dataclass
class TailData:
    """Every clip's feature maps (``maps[clip][copy]``, ``(8, steps, 32)`` float16) with
    its label, corpus, fold and loss targets."""

    maps: list[list[np.ndarray]]
    label: np.ndarray
    corpus: np.ndarray
    fold: np.ndarray
    targets: np.ndarray  # (n, 16): acceptable classes, then the classes its corpus tells apart
    own: np.ndarray  # (n, 8) bool: the classes of the clip's corpus
    group: np.ndarray  # (n, 2) float32: neutral or calm (1/0), and that clip's weight in the
    # neutral-vs-emotion loss (each corpus's group and emotional draws weigh half each)
    speaker: np.ndarray  # (n,) int: the clip's speaker, numbered over all corpora

    @classmethod
    def load(cls, out: Path) -> TailData:
        maps: list[list[np.ndarray]] = []
        labels, corpora, folds, targets, own, group, speakers = [], [], [], [], [], [], []
        for c, name in enumerate(CORPORA):
            with np.load(out / f"maps_{name}.npz") as f:
                maps.extend(clip_copies(f))
                label = f["label"]
                present = corpus_classes(label, n_classes=len(EMOTIONS))
                labels.append(label)
                corpora.append(np.full(len(label), c))
                folds.append(f["fold"])
                targets.append(label_targets(label, present))
                own.append(np.broadcast_to(present, (len(label), len(EMOTIONS))))
                group.append(group_targets(label, present))
                speakers.append(np.char.add(f"{name}/", f["speaker"].astype(str)))
        return cls(
            maps=maps,
            label=np.concatenate(labels),
            corpus=np.concatenate(corpora),
            fold=np.concatenate(folds),
            targets=np.concatenate(targets).astype(np.float32),
            own=np.concatenate(own),
            group=np.concatenate(group).astype(np.float32),
            speaker=np.unique(np.concatenate(speakers), return_inverse=True)[1],
        )

    def clips(
        self, *, corpora: tuple[str, ...] = CORPORA, folds: tuple[int, ...] | None = None
    ) -> np.ndarray:
        sel = np.isin(self.corpus, [CORPORA.index(c) for c in corpora])
        if folds is not None:
            sel &= np.isin(self.fold, folds)
        return np.flatnonzero(sel)


NEUTRAL_GROUP_INDEX = (EMOTIONS.index("neutral"), EMOTIONS.index("calm"))


def group_targets(label: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``(n, 2)``: whether each clip of one corpus is neutral or calm, and its weight in the
    neutral-vs-emotion loss: the sampler draws the corpus's classes equally, so a share
    ``g`` of draws are in the group; weights ``1 / 2g`` and ``1 / 2(1 - g)`` make group and
    emotional draws count half each, in every corpus."""
    in_group = np.isin(label, NEUTRAL_GROUP_INDEX)
    share = present[list(NEUTRAL_GROUP_INDEX)].sum() / present.sum()
    weight = np.where(in_group, 0.5 / share, 0.5 / (1.0 - share)) if 0 < share < 1 else np.zeros(len(label))
    return np.stack([in_group.astype(np.float64), weight], axis=1)


CORPUS_WEIGHTINGS = ("equal", "classes")


def draw_weights(data: TailData, clips: np.ndarray, *, corpus_weighting: str = "equal") -> np.ndarray:
    """``(len(clips),)`` probabilities: each corpus equal (``corpus_weighting="equal"``) or
    each (corpus, class) pair equal (``"classes"``: a corpus weighs as many classes as it
    tells apart), each class within a corpus equal, each clip within a class equal."""
    if corpus_weighting not in CORPUS_WEIGHTINGS:
        raise ValueError(f"corpus_weighting must be one of {CORPUS_WEIGHTINGS}, got {corpus_weighting!r}")
    corpus, label = data.corpus[clips], data.label[clips]
    w = np.zeros(len(clips))
    for c in np.unique(corpus):
        mine = corpus == c
        classes = np.unique(label[mine])
        per_corpus = 1.0 / len(classes) if corpus_weighting == "equal" else 1.0
        for k in classes:
            sel = mine & (label == k)
            w[sel] = per_corpus / sel.sum()
    out: np.ndarray = w / w.sum()
    return out


def batches(
    data: TailData, clips: np.ndarray, rng: np.random.Generator, *, corpus_weighting: str = "equal"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch: ``len(clips)`` draws, each a clean or perturbed copy, sorted by length into
    batches of :data:`BATCH` cut to the batch's shortest map (an even number of steps, at
    an even offset, as segments sit in a track); ``[(maps (b, 8, L, 32), clip (b,))]``.
    ``corpus_weighting``: :func:`draw_weights`."""
    draws = rng.choice(clips, size=len(clips), p=draw_weights(data, clips, corpus_weighting=corpus_weighting))
    copies = np.array(
        [0 if rng.random() < CLEAN_SHARE else int(rng.integers(1, len(data.maps[c]))) for c in draws]
    )
    lengths = np.array([data.maps[c][k].shape[1] for c, k in zip(draws, copies, strict=True)])
    order = np.argsort(lengths + rng.random(len(lengths)), kind="stable")
    out = []
    for b in range(0, len(order), BATCH):
        idx = order[b : b + BATCH]
        length = int(lengths[idx].min()) // 2 * 2
        x = np.empty((len(idx), 8, length, 32), dtype=np.float32)
        for row, i in enumerate(idx):
            m = data.maps[draws[i]][copies[i]]
            offset = 2 * int(rng.integers(0, (m.shape[1] - length) // 2 + 1))
            x[row] = m[:, offset : offset + length]
        out.append((x, draws[idx]))
    order_of_batches = rng.permutation(len(out))
    return [out[i] for i in order_of_batches]


# ---------------------------------------------------------------- model and loss


def _tf() -> Any:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def train(
    data: TailData,
    clips: np.ndarray,
    *,
    epochs: int,
    weights: Path,
    evaluate: np.ndarray | None = None,
    after_epoch: Any = None,
    eval_every: int = 1,
    label_smoothing: float = 0.0,
    neutral_aux: float = 0.0,
    frozen_through: int = MAP_BLOCK,
    speaker_adversary: float = 0.0,
    seed: int = SEED,
    order_seed: int | None = None,
    corpus_weighting: str = "equal",
    corpus_transitions: float = 0.0,
    log: Any = print,
) -> tuple[Any, list[dict[str, Any]]]:
    """Fine-tune a tail on ``clips``; with ``evaluate``, score those clips after each epoch
    (their probabilities are kept in each history entry as ``probs``). ``label_smoothing``
    (an experiment, not the shipped recipe): that share of the loss is the cross-entropy
    against a uniform spread over the classes the clip's corpus tells apart.
    ``neutral_aux`` (an experiment): add that weight times a binary cross-entropy of the
    neutral-or-calm probability mass against "the clip is neutral or calm", group and
    emotional draws weighing half each in every corpus (:func:`group_targets`).
    ``frozen_through`` (an experiment): blocks up to this one stay as pretrained.
    ``speaker_adversary`` (an experiment): a speaker classifier on the clip's pooled
    embedding learns who speaks, and the network is trained, with that weight, to leave it
    guessing (cross-entropy of its prediction against a uniform spread over the training
    speakers: domain confusion), so that emotion is read relative to no one voice.
    ``corpus_weighting`` (an experiment): how draws are shared among corpora
    (:func:`draw_weights`). ``corpus_transitions`` (an experiment; the learning rate of the
    transitions, 0 = none): each corpus labels through a learnt row-stochastic 8 x 8 matrix
    (true emotion -> the label its actors and annotators give, initialised at 0.9 on the
    diagonal), the loss scores ``p @ T[corpus]``, and the model keeps ``p``: corpora's
    conventions go into their matrices instead of pulling the shared network apart."""
    import keras

    from tagger.audioset.network import build_emotion_tail, load_mn04_weights
    from tagger.training.fit import masked_crossentropy

    tf = _tf()
    keras.utils.set_random_seed(seed)  # the head's initialisation, dropout
    rng = np.random.default_rng(seed if order_seed is None else order_seed)  # draws and crops
    model = build_emotion_tail(load_mn04_weights(weights), n_classes=len(EMOTIONS), dropout=DROPOUT)
    for layer in model.layers:
        if any(layer.name.startswith(f"features_{i}_") for i in range(MAP_BLOCK + 1, frozen_through + 1)):
            layer.trainable = False
    head = [v for v in model.trainable_variables if v.path.startswith("emotion")]
    trunk = [v for v in model.trainable_variables if not v.path.startswith("emotion")]
    opt_head, opt_trunk = keras.optimizers.Adam(LR_HEAD), keras.optimizers.Adam(LR_TRUNK)
    opt_head.build(head)
    opt_trunk.build(trunk)
    spec = tf.TensorSpec((None, 8, None, 32), tf.float32)

    group_mask = tf.constant(np.isin(np.arange(len(EMOTIONS)), NEUTRAL_GROUP_INDEX), tf.float32)
    both = keras.Model(model.input, [model.output, model.get_layer("steps").output])
    n_speakers = int(data.speaker.max()) + 1
    trained = np.isin(np.arange(n_speakers), data.speaker[clips])
    confusion = tf.constant(trained / trained.sum(), tf.float32)  # uniform over training speakers
    adversary = keras.layers.Dense(n_speakers, name="speaker_adversary")
    opt_adversary = keras.optimizers.Adam(LR_HEAD)
    if speaker_adversary:  # built only then: its initialiser would move the seeded draws
        adversary.build((None, int(model.get_layer("steps").output.shape[-1])))
        opt_adversary.build(adversary.trainable_variables)
    k = len(EMOTIONS)
    eye = tf.constant(np.log(0.9 * (k - 1) / 0.1) * np.eye(k), tf.float32)
    convention = tf.Variable(tf.zeros((len(CORPORA), k, k)), name="corpus_transitions")
    opt_convention = keras.optimizers.Adam(corpus_transitions or 1e-3)
    if corpus_transitions:
        opt_convention.build([convention])

    @tf.function(  # type: ignore[untyped-decorator]
        input_signature=[
            spec,
            tf.TensorSpec((None, 2 * len(EMOTIONS)), tf.float32),
            tf.TensorSpec((None, 2), tf.float32),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None,), tf.int32),
        ]
    )
    def step(x: Any, targets: Any, group: Any, speaker: Any, corpus: Any) -> Any:
        with tf.GradientTape(persistent=bool(speaker_adversary)) as tape:
            if speaker_adversary:
                step_logits, embedding = both(x, training=True)
            else:  # the plain model: the shipped recipe's graph, so its runs reproduce exactly
                step_logits = model(x, training=True)
            logits = tf.reduce_mean(step_logits, axis=1)
            probs = tf.nn.softmax(logits)
            if corpus_transitions:  # the label the corpus gives: p @ T[corpus]
                transition = tf.nn.softmax(tf.gather(convention, corpus) + eye, axis=-1)
                probs = tf.einsum("nk,nkl->nl", probs, transition)
            loss = tf.reduce_mean(masked_crossentropy(targets, probs))
            if label_smoothing:  # spread over the classes the clip's corpus tells apart
                allowed = targets[:, len(EMOTIONS) :]
                logp = tf.math.log(tf.clip_by_value(probs, 1e-7, 1.0))
                spread = -tf.reduce_sum(allowed * logp, axis=-1) / tf.reduce_sum(allowed, axis=-1)
                loss = (1 - label_smoothing) * loss + label_smoothing * tf.reduce_mean(spread)
            if neutral_aux:  # neutral or calm against the emotions, both halves weighed equally
                mass = tf.clip_by_value(tf.reduce_sum(probs * group_mask, axis=-1), 1e-7, 1 - 1e-7)
                bce = -(group[:, 0] * tf.math.log(mass) + (1 - group[:, 0]) * tf.math.log(1 - mass))
                loss = loss + neutral_aux * tf.reduce_mean(group[:, 1] * bce)
            if speaker_adversary:
                who = adversary(tf.reduce_mean(embedding, axis=1))
                adversary_loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=speaker, logits=who)
                )
                guessing = -tf.reduce_sum(confusion * tf.nn.log_softmax(who), axis=-1)
                loss = loss + speaker_adversary * tf.reduce_mean(guessing)
        if corpus_transitions:
            grads = tape.gradient(loss, [*trunk, *head, convention])
            opt_convention.apply_gradients([(grads[-1], convention)])
            grads = grads[:-1]
        else:
            grads = tape.gradient(loss, trunk + head)
        opt_trunk.apply_gradients(zip(grads[: len(trunk)], trunk, strict=True))
        opt_head.apply_gradients(zip(grads[len(trunk) :], head, strict=True))
        if speaker_adversary:
            variables = adversary.trainable_variables
            opt_adversary.apply_gradients(
                zip(tape.gradient(adversary_loss, variables), variables, strict=True)
            )
        return loss

    history: list[dict[str, Any]] = []
    start = time.time()
    for epoch in range(1, epochs + 1):
        losses = [
            float(
                step(
                    x,
                    data.targets[c],
                    data.group[c],
                    data.speaker[c].astype(np.int32),
                    data.corpus[c].astype(np.int32),
                )
            )
            for x, c in batches(data, clips, rng, corpus_weighting=corpus_weighting)
        ]
        entry: dict[str, Any] = {
            "epoch": epoch,
            "loss": float(np.mean(losses)),
            "s": round(time.time() - start),
        }
        if evaluate is not None and (epoch == epochs or epoch % eval_every == 0):
            entry["window_probs"], probs, entry["window_clip"] = window_probabilities(model, data, evaluate)
            entry["uar"] = scores(data, evaluate, probs)
            entry["mean_uar"] = float(np.mean([v["uar"] for v in entry["uar"].values()]))
            entry["probs"] = probs
        log(json.dumps({k: v for k, v in entry.items() if k not in ("probs", "window_probs", "window_clip")}))
        history.append(entry)
        if after_epoch is not None:
            after_epoch(epoch, model)
    return model, history


def window_spans(n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The frame spans ``[starts, ends)`` of the front end's windows over a clip of
    ``n_frames`` 10 ms frames (3 s every 1 s, the tail kept: :mod:`tagger.windows`)."""
    from tagger.windows import WindowConfig, kept_window_count

    config = WindowConfig()
    n = max(1, kept_window_count(n_frames * config.frame_hop, config=config))
    starts = np.arange(n) * config.frames_per_hop
    return starts, np.minimum(starts + config.frames_per_window, n_frames)


def clip_logits(forward: Any, feature_map: np.ndarray) -> np.ndarray:
    """``(windows, 8)`` window logits of one clip's map ``(8, T/16, 32)``: the tail on each
    window's stretch of the map, its step logits averaged, as the front end runs it
    (:func:`tagger.audioset.gate.tail_window_logits`)."""
    starts, ends = window_spans(feature_map.shape[1] * MAP_COLUMN_FRAMES)
    return tail_window_logits(lambda x: np.asarray(forward(x)), feature_map.astype(np.float32), starts, ends)


def clip_probabilities(model: Any, data: TailData, clips: np.ndarray) -> np.ndarray:
    """``(n, 8)`` clip probabilities (softmax over all 8 classes per window, mean over the
    clip's windows) of the clean copy of each of ``clips``."""
    return window_probabilities(model, data, clips)[1]


def window_probabilities(
    model: Any, data: TailData, clips: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The clean copies' window probabilities ``(windows, 8)`` (uncalibrated) and their
    clips' mean ``(len(clips), 8)``; ``window_probabilities.clip_of`` is not kept: the
    windows are in clip order."""
    tf = _tf()
    forward = tf.function(
        lambda x: model(x, training=False), input_signature=[tf.TensorSpec((None, 8, None, 32), tf.float32)]
    )
    windows = [softmax(clip_logits(forward, data.maps[c][0])) for c in clips]
    clip_of = np.repeat(np.arange(len(clips)), [len(w) for w in windows])
    return np.concatenate(windows), np.stack([w.mean(axis=0) for w in windows]), clip_of


def own_class_predictions(scores: np.ndarray, own: np.ndarray) -> np.ndarray:
    """``(n,)`` the arg-max of ``scores`` ``(n, 8)`` (probabilities or log-probabilities)
    among each row's ``own`` classes ``(n, 8)`` bool, its corpus's."""
    out: np.ndarray = np.where(own, scores, -np.inf).argmax(axis=1)
    return out


def unweighted_recall(pred: np.ndarray, labels: np.ndarray) -> float:
    """UAR in [0, 1]: the mean over the classes in ``labels`` of their recall in ``pred``."""
    return float(np.mean([np.mean(pred[labels == k] == k) for k in np.unique(labels)]))


def scores(data: TailData, clips: np.ndarray, probs: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per corpus: UAR over its own classes (arg-max among them), clips."""
    out: dict[str, dict[str, Any]] = {}
    for c, name in enumerate(CORPORA):
        sel = data.corpus[clips] == c
        if not sel.any():
            continue
        y = data.label[clips][sel]
        pred = own_class_predictions(probs[sel], data.own[clips][sel])
        out[name] = {
            "uar": 100 * unweighted_recall(pred, y),
            "clips": int(sel.sum()),
        }
    return out


# ---------------------------------------------------------------- commands


def _save_probs(
    path: Path,
    data: TailData,
    clips: np.ndarray,
    probs: np.ndarray,
    windows: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Clip probabilities of ``clips`` with labels (and their windows' probabilities and
    row in ``clips``)."""
    arrays = {"clips": clips, "probs": probs, "label": data.label[clips], "corpus": data.corpus[clips]}
    arrays["own"] = data.own[clips]
    if windows is not None:
        arrays["window_probs"], arrays["window_clip"] = windows
    np.savez(path, **arrays)  # type: ignore[arg-type]


def select(args: argparse.Namespace) -> None:
    """Train on folds 0, 3, 4 and score fold 1 after every epoch: the epochs, and the
    probabilities that calibration and the decision rule are chosen on. ``--val-fold 0``
    (3, 4): the same with that fold and fold 1 swapped, more validation speakers for
    calibration and the decision rule (``select_f0_probs_<epoch>.npz``; the epochs stay
    fold 1's choice). Folds 3 and 4 hold RAVDESS and ASED speakers only. ``--train-on``
    (an experiment): train on those corpora only; every corpus is still scored."""
    data = TailData.load(args.out)
    train_folds = tuple(f for f in range(5) if f not in (TEST_FOLD, args.val_fold))
    val = data.clips(folds=(args.val_fold,))
    model, history = train(
        data,
        data.clips(corpora=tuple(args.train_on), folds=train_folds),
        evaluate=val,
        eval_every=args.eval_every,
        **recipe(args),
    )
    history = [h for h in history if "probs" in h]
    best = max(history, key=lambda h: h["mean_uar"])
    prefix = "select" if args.val_fold == VAL_FOLD else f"select_f{args.val_fold}"
    prefix += recipe_suffix(args)
    if tuple(args.train_on) != CORPORA:
        prefix += "_on" + "-".join(args.train_on)
    model.save(args.out / f"{prefix}_tail_{args.epochs}.keras")  # for averaging runs' weights
    for h in history:
        if args.val_fold == VAL_FOLD or h["epoch"] == args.epochs:
            _save_probs(
                args.out / f"{prefix}_probs_{h['epoch']}.npz",
                data,
                val,
                h["probs"],
                (h["window_probs"], h["window_clip"]),
            )
    if (
        args.val_fold != VAL_FOLD
        or args.label_smoothing
        or args.neutral_aux
        or args.speaker_adversary
        or args.seed != SEED
        or args.order_seed is not None
        or args.corpus_weighting != "equal"
        or args.corpus_transitions
        or tuple(args.train_on) != CORPORA
    ):
        return
    record = {
        "best_epoch": best["epoch"],
        "history": [
            {k: v for k, v in h.items() if k not in ("probs", "window_probs", "window_clip")} for h in history
        ],
    }
    (args.out / "select.json").write_text(json.dumps(record, indent=1))
    print(f"best epoch on fold {VAL_FOLD}: {best['epoch']} (mean UAR {best['mean_uar']:.1f})")


def recipe(args: argparse.Namespace) -> dict[str, Any]:
    """The training keywords a command's flags give :func:`train`."""
    return {
        "epochs": args.epochs,
        "weights": args.weights,
        "label_smoothing": args.label_smoothing,
        "neutral_aux": args.neutral_aux,
        "frozen_through": args.frozen_through,
        "speaker_adversary": args.speaker_adversary,
        "seed": args.seed,
        "order_seed": args.order_seed,
        "corpus_weighting": args.corpus_weighting,
        "corpus_transitions": args.corpus_transitions,
    }


def recipe_suffix(args: argparse.Namespace) -> str:
    """The :func:`smoothing_suffix` of a command's recipe flags."""
    return smoothing_suffix(
        args.label_smoothing,
        args.neutral_aux,
        args.frozen_through,
        speaker_adversary=args.speaker_adversary,
        seed=args.seed,
        order_seed=args.order_seed,
        corpus_weighting=args.corpus_weighting,
        corpus_transitions=args.corpus_transitions,
    )


def smoothing_suffix(
    label_smoothing: float,
    neutral_aux: float = 0.0,
    frozen_through: int = MAP_BLOCK,
    *,
    speaker_adversary: float = 0.0,
    seed: int = SEED,
    order_seed: int | None = None,
    corpus_weighting: str = "equal",
    corpus_transitions: float = 0.0,
) -> str:
    """``_ls<share>`` in the names of a label-smoothed run's outputs (``_nx<weight>`` with
    the neutral-vs-emotion loss, ``_fz<block>`` with blocks frozen), else nothing."""
    return (
        (f"_ls{label_smoothing:g}" if label_smoothing else "")
        + (f"_nx{neutral_aux:g}" if neutral_aux else "")
        + (f"_fz{frozen_through}" if frozen_through > MAP_BLOCK else "")
        + (f"_sa{speaker_adversary:g}" if speaker_adversary else "")
        + (f"_seed{seed}" if seed != SEED else "")
        + (f"_order{order_seed}" if order_seed is not None else "")
        + (f"_cw{corpus_weighting}" if corpus_weighting != "equal" else "")
        + (f"_ct{corpus_transitions:g}" if corpus_transitions else "")
    )


def test(args: argparse.Namespace) -> None:
    """Train on folds 0, 1, 3, 4; from epoch ``--keep-from`` on, keep the model and its
    fold-2 (test speakers) probabilities after every epoch (so that ``select``'s choice of
    epochs picks one without training again; no choice is made on these)."""
    data = TailData.load(args.out)
    train_folds = tuple(f for f in range(5) if f != TEST_FOLD)
    clips = data.clips(folds=(TEST_FOLD,))

    prefix = "test" + recipe_suffix(args)

    def keep(epoch: int, model: Any) -> None:
        if epoch >= args.keep_from:
            windows, probs, clip_of = window_probabilities(model, data, clips)
            _save_probs(args.out / f"{prefix}_probs_{epoch}.npz", data, clips, probs, (windows, clip_of))
            model.save(args.out / f"{prefix}_tail_{epoch}.keras")

    train(
        data,
        data.clips(folds=train_folds),
        after_epoch=keep,
        **recipe(args),
    )


def loco(args: argparse.Namespace) -> None:
    """Leave one corpus out: train on the other four; from epoch ``--keep-from`` on, keep the
    probabilities of every clip of the fifth after each epoch."""
    data = TailData.load(args.out)
    ls = recipe_suffix(args)
    for held in args.corpus:
        others = tuple(c for c in CORPORA if c != held)
        clips = data.clips(corpora=(held,))

        def keep(epoch: int, model: Any, held: str = held, clips: np.ndarray = clips) -> None:
            if epoch >= args.keep_from:
                probs = clip_probabilities(model, data, clips)
                _save_probs(args.out / f"loco{ls}_probs_{held}_{epoch}.npz", data, clips, probs)
                print(held, epoch, json.dumps(scores(data, clips, probs)), flush=True)

        train(
            data,
            data.clips(corpora=others),
            after_epoch=keep,
            **recipe(args),
        )


NEUTRAL_WEIGHTS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
CALM_WEIGHTS = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0)
NEUTRAL_TARGET = 0.70  # 8-way neutral recall wanted, mean over the corpora with neutral (issue #25)


def choose_decision(
    probs: np.ndarray, labels: np.ndarray, corpus: np.ndarray
) -> tuple[Any, list[dict[str, Any]]]:
    """The ``neutral_group`` weights for calibrated clip ``probs`` of validation speakers:
    among the rules whose 8-way neutral recall, averaged over the corpora, reaches
    :data:`NEUTRAL_TARGET`, the one that keeps the most recall over the other emotions
    (mean over corpora; ties: the smaller weights); if none does, the one with the largest
    mean neutral recall. Also every rule's figures, the arg-max's first."""
    from tagger.decision import ARGMAX, Decision
    from tagger.training.metrics import neutral_scores

    corpora = [c for c in np.unique(corpus) if (labels[corpus == c] == 0).any()]

    def row(decision: Decision) -> dict[str, Any]:
        rows = [neutral_scores(labels[corpus == c], probs[corpus == c], decision) for c in corpora]
        return {
            **decision.as_card(),
            "neutral_recall": [r["neutral_recall"] for r in rows],
            "mean_neutral_recall": float(np.mean([r["neutral_recall"] for r in rows])),
            "emotion_recall": float(np.mean([r["emotion_recall"] for r in rows])),
        }

    table = [row(ARGMAX)]
    for nw in NEUTRAL_WEIGHTS:
        for cw in CALM_WEIGHTS:
            table.append(row(Decision("neutral_group", neutral_weight=nw, calm_weight=cw)))
    reaching = [r for r in table[1:] if r["mean_neutral_recall"] >= NEUTRAL_TARGET]
    if reaching:
        best = max(reaching, key=lambda r: (r["emotion_recall"], -r["neutral_weight"], -r["calm_weight"]))
    else:
        best = max(table, key=lambda r: (r["mean_neutral_recall"], -r["neutral_weight"], -r["calm_weight"]))
    return Decision(best["rule"], best["neutral_weight"], best["calm_weight"]), table


def ship(args: argparse.Namespace) -> None:
    """The test run's model after ``--epochs`` (chosen by ``select``) as the shipped model:
    calibration and decision rule from the fold-1 probabilities of ``select`` at the same
    epoch; test-speaker figures from the shipped pipeline itself; the card."""
    from tagger.training.mn04_card import write_shipped

    write_shipped(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tagger.training.mn04", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--root", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--out", type=Path, default=Path("runs/mn04"))
    parser.add_argument(
        "--weights", type=Path, default=Path("../shared/pretrained/efficientat-mn04/mn04_as.npz")
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cache")
    p.add_argument("--corpus", nargs="+", default=list(CORPORA))
    p.add_argument("--copies", type=int, default=4, help="the clean clip and copies - 1 perturbed ones")
    p = sub.add_parser("voices", help="add two copies of every cached clip as other voices")
    p.add_argument("--corpus", nargs="+", default=list(CORPORA))
    for name in ("select", "test", "loco", "ship"):
        p = sub.add_parser(name)
        p.add_argument("--epochs", type=int, default=12)
        if name == "loco":
            p.add_argument("--corpus", nargs="+", default=list(CORPORA))
        if name == "select":
            p.add_argument("--val-fold", type=int, default=VAL_FOLD, choices=VALIDATION_FOLDS)
            p.add_argument(
                "--eval-every", type=int, default=1, help="score the validation fold every N epochs"
            )
            p.add_argument(
                "--train-on", nargs="+", choices=CORPORA, default=list(CORPORA), help="(an experiment)"
            )
        if name in ("select", "test", "loco", "ship"):
            p.add_argument(
                "--label-smoothing", type=float, default=0.0, help="share of the loss spread evenly"
            )
            p.add_argument(
                "--neutral-aux",
                type=float,
                default=0.0,
                help="weight of the neutral-or-calm against emotions loss (an experiment)",
            )
            p.add_argument(
                "--frozen-through",
                type=int,
                default=MAP_BLOCK,
                help="keep the tail's blocks up to this one as pretrained (an experiment)",
            )
            p.add_argument(
                "--speaker-adversary",
                type=float,
                default=0.0,
                help="weight of the loss that leaves a speaker classifier guessing (an experiment)",
            )
            p.add_argument("--seed", type=int, default=SEED, help="training seed (an experiment)")
            p.add_argument(
                "--order-seed", type=int, default=None, help="seed of the draws alone (an experiment)"
            )
            p.add_argument(
                "--corpus-weighting",
                choices=CORPUS_WEIGHTINGS,
                default="equal",
                help="each corpus drawn equally, or each (corpus, class) pair (an experiment)",
            )
            p.add_argument(
                "--corpus-transitions",
                type=float,
                default=0.0,
                help="learning rate of per-corpus label transitions, 0 = none (an experiment)",
            )
        if name == "ship":
            p.add_argument("--models", type=Path, default=Path("tagger/models"))
            p.add_argument("--name", default="emotag-mn04")
            p.add_argument("--loco-only", action="store_true", help="only add the LOCO figures to the card")
        if name in ("test", "loco"):
            p.add_argument("--keep-from", type=int, default=6, help="first epoch whose results are kept")
    args = parser.parse_args(argv)
    {"cache": cache, "voices": voices, "select": select, "test": test, "loco": loco, "ship": ship}[
        args.command
    ](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
