"""Fine-tune the AudioSet mn04 trunk for emotion: the last blocks + an 8-way head.

Input exactly as the scene gate feeds the network (16 kHz frames of 400 every 160, centred;
``scene_mel_power``; the gate's loudness gain over the clip; ``network_input``). Windows of
288 frames (2.88 s) every 100 frames (1 s); clips shorter than a window are mirrored. The
stem and blocks 1..``CUT`` are frozen and run once (their output cached); blocks
``CUT+1``..15, the final 1x1 conv (features.16) and the head (mean over frequency and time,
dropout, Dense(8)) are trained, with BatchNorm statistics frozen. Loss (``--recipe``):
``own`` (default), cross-entropy over the clip's corpus's own classes only (absent classes'
logits get -1e9); ``absorb``, the project's shipped recipe
(``tagger.training.labels.label_targets`` + ``tagger.training.fit.masked_crossentropy``):
in a corpus without calm, a neutral clip's acceptable set is {neutral, calm} and calm stays
in that corpus's softmax; other absent classes are left out. Corpora and, within each
corpus, classes are sampled equally.

Usage (one thread)::

    python -m experiments.finetune_mn04 cache            # log-mel + frozen features
    python -m experiments.finetune_mn04 select --epochs 12   # validation on fold 1 -> epochs
    python -m experiments.finetune_mn04 test --epochs E      # train folds 0,1,3,4, test fold 2
    python -m experiments.finetune_mn04 test --epochs E --recipe absorb   # -> test_absorb*
    python -m experiments.finetune_mn04 loco --epochs E [--corpus ravdess ...]
    python -m experiments.finetune_mn04 speed --epochs E     # windows/s of the whole model
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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from benchmarks.scene_gate import _frames
from tagger.audioset.gate import SceneConfig, _gain
from tagger.audioset.melspec import network_input, scene_mel_power
from tagger.calibration import softmax

CORPORA = ("ravdess", "nemo", "ased", "emovo", "kotts")
CLASSES = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
ROOT = Path("/work/shared/corpora")
WEIGHTS = Path("/work/shared/pretrained/efficientat-mn04/mn04_as.npz")
OUT = Path("/work/runs/ft")
WINDOW = 288  # frames of 10 ms (9 steps of 32)
HOP = 100
CUT = 10  # blocks 1..CUT frozen; CUT+1..15 and features.16 trained
TEST_FOLD = 2
VAL_FOLD = 1  # the only fold besides 0 and 2 that every corpus has
RECIPES = ("own", "absorb")
BATCH = 64
LR_HEAD = 3e-4
LR_TRUNK = 1e-4
DROPOUT = 0.3
SEED = 0


def _tf() -> Any:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


# ---------------------------------------------------------------- input cache


def clip_input(y: np.ndarray) -> np.ndarray:
    """16 kHz mono -> network input (128, n >= WINDOW) as the scene gate computes it."""
    mel = scene_mel_power(_frames(y.astype(np.float32)))
    short = max(0, WINDOW - len(mel))
    if short:
        mel = np.pad(mel, ((0, short), (0, 0)), mode="reflect" if len(mel) > short else "wrap")
    x: np.ndarray = network_input(mel, gain=_gain(mel, SceneConfig())).T
    return x


def window_starts(n: int) -> list[int]:
    starts = list(range(0, n - WINDOW + 1, HOP))
    if starts[-1] != n - WINDOW:
        starts.append(n - WINDOW)
    return starts


def read_corpus(corpus: str) -> pd.DataFrame:
    manifest = pd.read_csv(ROOT / corpus / "manifest.tsv", sep="\t")
    folds = pd.read_csv(ROOT / corpus / "folds.tsv", sep="\t")
    key = "actor" if corpus == "ravdess" else "speaker"
    if corpus == "ravdess":
        manifest[key] = manifest[key].astype(int)
        folds[key] = folds[key].astype(int)
    else:
        manifest[key] = manifest[key].astype(str)
        folds[key] = folds[key].astype(str)
    frame = manifest.merge(folds[[key, "fold"]], on=key, how="left", validate="many_to_one")
    if frame["fold"].isna().any():
        raise SystemExit(f"{corpus}: speakers without a fold")
    frame["speaker"] = frame[key].astype(str)
    return frame


def frozen_model(weights: dict[str, np.ndarray]) -> Any:
    import keras

    from tagger.audioset.network import build_mn04

    trunk = build_mn04(weights, frames=WINDOW, trunk_only=True)
    return keras.Model(trunk.input, trunk.get_layer(f"features_{CUT}").output)


def cache(args: argparse.Namespace) -> None:
    from tagger.audioset.network import load_mn04_weights

    _tf()
    weights = load_mn04_weights(WEIGHTS)
    frozen = frozen_model(weights)
    OUT.mkdir(parents=True, exist_ok=True)
    for corpus in args.corpus:
        start = time.time()
        frame = read_corpus(corpus)
        mels, lengths, wins, clip_of = [], [], [], []
        for i, path in enumerate(frame["path"]):
            y, rate = sf.read(ROOT / corpus / path, dtype="float32")
            if rate != 16_000 or y.ndim != 1:
                raise SystemExit(f"{path}: {rate} Hz, shape {y.shape}")
            x = clip_input(y)
            mels.append(x.astype(np.float16))
            lengths.append(x.shape[1])
            for s in window_starts(x.shape[1]):
                wins.append(x[:, s : s + WINDOW])
                clip_of.append(i)
        mel_time = time.time() - start
        feats = []
        for b in range(0, len(wins), 256):
            batch = np.stack(wins[b : b + 256])[..., None]
            feats.append(frozen.predict_on_batch(batch).astype(np.float16))
        np.savez(
            OUT / f"mel_{corpus}.npz",
            mel=np.concatenate(mels, axis=1),
            lengths=np.asarray(lengths),
            path=frame["path"].to_numpy(str),
        )
        np.savez(
            OUT / f"feat_{corpus}.npz",
            feat=np.concatenate(feats),
            clip=np.asarray(clip_of),
            label=frame["emotion"].map(CLASSES.index).to_numpy(),
            fold=frame["fold"].to_numpy(int),
            speaker=frame["speaker"].to_numpy(str),
        )
        print(
            f"{corpus}: {len(frame)} clips, {len(wins)} windows, mel {mel_time:.0f} s, "
            f"total {time.time() - start:.0f} s",
            flush=True,
        )


# ---------------------------------------------------------------- data


class Data:
    """All windows' frozen features, with clip labels, corpus, fold."""

    def __init__(self) -> None:
        from tagger.training.labels import corpus_classes, label_targets

        feats, clips, labels, folds, corpus, targets = [], [], [], [], [], []
        offset = 0
        self.own: dict[str, np.ndarray] = {}
        for c, name in enumerate(CORPORA):
            with np.load(OUT / f"feat_{name}.npz") as f:
                feats.append(f["feat"])
                clips.append(f["clip"] + offset)
                labels.append(f["label"])
                folds.append(f["fold"])
                corpus.append(np.full(len(f["label"]), c))
                own = corpus_classes(f["label"], n_classes=len(CLASSES))
                self.own[name] = own
                targets.append(label_targets(f["label"], own))
                offset += len(f["label"])
        self.feat = np.concatenate(feats)
        self.win_clip = np.concatenate(clips)
        self.label = np.concatenate(labels)  # per clip
        self.fold = np.concatenate(folds)
        self.corpus = np.concatenate(corpus)
        # per clip, (n, 16): acceptable classes, then the classes its corpus can tell apart
        self.targets = np.concatenate(targets).astype(np.float32)
        self.mask = np.stack([np.where(self.own[CORPORA[c]], 0.0, -1e9) for c in self.corpus]).astype(
            np.float32
        )


def sample_weights(data: Data, clips: np.ndarray) -> np.ndarray:
    """Per window of ``clips``: each corpus equal, each class within a corpus equal, each
    clip within a class equal."""
    win = np.isin(data.win_clip, clips)
    wc = data.win_clip[win]
    n_win = np.bincount(wc, minlength=len(data.label))[wc]
    corpus, label = data.corpus[wc], data.label[wc]
    key = corpus * 10 + label
    keys, inv = np.unique(key, return_inverse=True)
    clips_in_key = np.array([len(np.unique(wc[key == k])) for k in keys])[inv]
    classes_in_corpus = np.array([len(np.unique(label[corpus == c])) for c in corpus])
    w = 1.0 / (n_win * clips_in_key * classes_in_corpus)
    out = np.zeros(len(data.win_clip))
    out[win] = w / w.sum()
    return out


# ---------------------------------------------------------------- model


def trainable_model(weights: dict[str, np.ndarray], in_shape: tuple[int, ...]) -> Any:
    import keras

    from tagger.audioset import network as net

    x_in = keras.Input(shape=in_shape, name="features_in")
    x = x_in
    for i in range(CUT + 1, len(net.BLOCKS) + 1):
        x = net._inverted_residual(weights, f"features.{i}", x, net.BLOCKS[i - 1], name=f"features_{i}")
    x = net._conv_bn(weights, "features.16", x, stride=1, activation="hard_silu", name="head")
    x = keras.layers.GlobalAveragePooling2D(name="mean")(x)  # = frequency mean then time mean
    x = keras.layers.Dropout(DROPOUT, name="dropout")(x)
    logits = keras.layers.Dense(len(CLASSES), name="emotion")(x)
    model = keras.Model(x_in, logits)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # inference-mode BN, pretrained statistics
    return model


def train(
    data: Data, train_clips: np.ndarray, epochs: int, eval_clips: np.ndarray | None, recipe: str = "own"
) -> dict[str, Any]:
    """Train on the windows of ``train_clips`` with the loss of ``recipe``; if ``eval_clips``,
    score them after each epoch."""
    import keras

    from tagger.audioset.network import load_mn04_weights
    from tagger.training.fit import masked_crossentropy

    tf = _tf()
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = trainable_model(load_mn04_weights(WEIGHTS), data.feat.shape[1:])
    head_vars = [v for v in model.trainable_variables if v.path.startswith("emotion")]
    trunk_vars = [v for v in model.trainable_variables if not v.path.startswith("emotion")]
    opt_head, opt_trunk = keras.optimizers.Adam(LR_HEAD), keras.optimizers.Adam(LR_TRUNK)
    opt_head.build(head_vars)
    opt_trunk.build(trunk_vars)

    @tf.function(reduce_retracing=True)
    def step(x: Any, y: Any, mask: Any, targets: Any) -> Any:
        with tf.GradientTape() as tape:
            logits = model(tf.cast(x, tf.float32), training=True)
            if recipe == "absorb":
                loss = tf.reduce_mean(masked_crossentropy(targets, tf.nn.softmax(logits)))
            else:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits + mask))
        grads = tape.gradient(loss, trunk_vars + head_vars)
        opt_trunk.apply_gradients(zip(grads[: len(trunk_vars)], trunk_vars, strict=True))
        opt_head.apply_gradients(zip(grads[len(trunk_vars) :], head_vars, strict=True))
        return loss

    p = sample_weights(data, train_clips)
    n_train = int(np.isin(data.win_clip, train_clips).sum())
    history = []
    start = time.time()
    for epoch in range(1, epochs + 1):
        idx = rng.choice(len(p), size=n_train, p=p)
        losses = []
        for b in range(0, n_train - BATCH + 1, BATCH):
            i = np.sort(idx[b : b + BATCH])
            wc = data.win_clip[i]
            losses.append(float(step(data.feat[i], data.label[wc], data.mask[wc], data.targets[wc])))
        entry: dict[str, Any] = {"epoch": epoch, "loss": float(np.mean(losses)), "s": time.time() - start}
        if eval_clips is not None:
            scores = score(data, eval_clips, predict(model, data, eval_clips))
            entry["uar"] = {k: v["uar"] for k, v in scores.items()}
            entry["mean_uar"] = float(np.mean(list(entry["uar"].values())))
        history.append(entry)
        print(json.dumps(entry), flush=True)
    return {"model": model, "history": history, "train_s": time.time() - start, "n_train_windows": n_train}


def predict(model: Any, data: Data, clips: np.ndarray) -> dict[str, np.ndarray]:
    """Clip probabilities: mean over windows of the softmax over the corpus's own classes
    (``own``) and over all 8 (``all8``)."""
    win = np.flatnonzero(np.isin(data.win_clip, clips))
    logits = np.concatenate(
        [
            model.predict_on_batch(data.feat[win[b : b + 512]].astype(np.float32))
            for b in range(0, len(win), 512)
        ]
    )
    wc = data.win_clip[win]
    own = softmax(logits + data.mask[wc])
    all8 = softmax(logits)
    pos = np.searchsorted(clips, wc)
    counts = np.bincount(pos, minlength=len(clips))[:, None]
    out = {}
    for name, probs in (("own", own), ("all8", all8)):
        total = np.zeros((len(clips), len(CLASSES)))
        np.add.at(total, pos, probs)
        out[name] = total / counts
    return out


def score(data: Data, clips: np.ndarray, probs: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Per corpus: UAR over its own classes; 8-way neutral recall."""
    out: dict[str, dict[str, Any]] = {}
    for c, name in enumerate(CORPORA):
        sel = data.corpus[clips] == c
        if not sel.any():
            continue
        y = data.label[clips][sel]
        pred = probs["own"][sel].argmax(axis=1)
        recalls = [float(np.mean(pred[y == k] == k)) for k in np.unique(y)]
        neutral = y == 0
        out[name] = {
            "uar": 100 * float(np.mean(recalls)),
            "neutral_recall8": 100 * float(np.mean(probs["all8"][sel][neutral].argmax(axis=1) == 0)),
            "clips": int(sel.sum()),
        }
    return out


def _clips(
    data: Data, *, corpora: tuple[str, ...] = CORPORA, folds: tuple[int, ...] | None = None
) -> np.ndarray:
    sel = np.isin(data.corpus, [CORPORA.index(c) for c in corpora])
    if folds is not None:
        sel &= np.isin(data.fold, folds)
    return np.flatnonzero(sel)


# ---------------------------------------------------------------- commands


def _suffix(args: argparse.Namespace) -> str:
    """Output-name suffix: none for the default recipe (the original file names)."""
    return "" if args.recipe == "own" else f"_{args.recipe}"


def _save(name: str, result: dict[str, Any], extra: dict[str, Any]) -> None:
    record = {k: v for k, v in result.items() if k != "model"} | extra
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1))


def select(args: argparse.Namespace) -> None:
    data = Data()
    train_folds = tuple(f for f in range(5) if f not in (TEST_FOLD, VAL_FOLD))
    result = train(
        data, _clips(data, folds=train_folds), args.epochs, _clips(data, folds=(VAL_FOLD,)), args.recipe
    )
    best = max(result["history"], key=lambda h: h["mean_uar"])
    print(f"best epoch on fold {VAL_FOLD}: {best['epoch']} (mean UAR {best['mean_uar']:.1f})")
    _save(
        "select" + _suffix(args),
        result,
        {
            "best_epoch": best["epoch"],
            "train_folds": train_folds,
            "val_fold": VAL_FOLD,
            "recipe": args.recipe,
        },
    )


def test(args: argparse.Namespace) -> None:
    data = Data()
    train_folds = tuple(f for f in range(5) if f != TEST_FOLD)
    result = train(data, _clips(data, folds=train_folds), args.epochs, None, args.recipe)
    clips = _clips(data, folds=(TEST_FOLD,))
    probs = predict(result["model"], data, clips)
    scores = score(data, clips, probs)
    print(json.dumps(scores, indent=1))
    name = "test" + _suffix(args)
    np.savez(
        OUT / f"{name}_probs.npz", clips=clips, label=data.label[clips], corpus=data.corpus[clips], **probs
    )
    result["model"].save(OUT / f"{name}_head.keras")
    _save(name, result, {"scores": scores, "epochs": args.epochs, "recipe": args.recipe})


def loco(args: argparse.Namespace) -> None:
    data = Data()
    for held in args.corpus:
        others = tuple(c for c in CORPORA if c != held)
        result = train(data, _clips(data, corpora=others), args.epochs, None, args.recipe)
        clips = _clips(data, corpora=(held,))
        probs = predict(result["model"], data, clips)
        scores = score(data, clips, probs)
        print(held, json.dumps(scores), flush=True)
        name = f"loco{_suffix(args)}_{held}"
        np.savez(OUT / f"{name}_probs.npz", clips=clips, label=data.label[clips], **probs)
        _save(name, result, {"scores": scores, "epochs": args.epochs, "recipe": args.recipe})


def speed(args: argparse.Namespace) -> None:
    """Windows/s (batch 64, one thread) of the whole fine-tuned network: frozen part + trained
    part, for several input lengths."""
    import keras

    from tagger.audioset.network import build_mn04, load_mn04_weights

    _tf()
    weights = load_mn04_weights(WEIGHTS)
    trained = keras.models.load_model(OUT / "test_head.keras")
    rows = []
    for frames in args.frames:
        trunk = build_mn04(weights, frames=frames, trunk_only=True)
        x_in = trunk.input
        mid = trunk.get_layer(f"features_{CUT}").output
        tail = trainable_model(weights, tuple(mid.shape[1:]))
        tail.set_weights(trained.get_weights())
        whole = keras.Model(x_in, tail(mid))
        x = np.random.default_rng(0).normal(size=(64, 128, frames, 1)).astype(np.float32)
        whole.predict(x, batch_size=64, verbose=0)
        reps, start = 0, time.time()
        while time.time() - start < args.seconds:
            whole.predict(x, batch_size=64, verbose=0)
            reps += 1
        per_s = 64 * reps / (time.time() - start)
        rows.append(
            {
                "frames": frames,
                "seconds": frames / 100,
                "windows_per_s": per_s,
                "audio_s_per_s": per_s * frames / 100,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    (OUT / "speed.json").write_text(json.dumps(rows, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cache")
    p.add_argument("--corpus", nargs="+", default=list(CORPORA))
    for name in ("select", "test", "loco", "speed"):
        p = sub.add_parser(name)
        p.add_argument("--epochs", type=int, default=10)
        if name != "speed":
            p.add_argument("--recipe", choices=RECIPES, default="own", help="loss: own classes or absorb")
        if name == "loco":
            p.add_argument("--corpus", nargs="+", default=list(CORPORA))
        if name == "speed":
            p.add_argument("--frames", type=int, nargs="+", default=[288, 576, 1024])
            p.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    {"cache": cache, "select": select, "test": test, "loco": loco, "speed": speed}[args.command](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
