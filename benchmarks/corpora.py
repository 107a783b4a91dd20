"""Speaker-grouped and cross-corpus evaluation of a training recipe over several corpora.

    python -m benchmarks.corpora --corpus ../shared/corpora/ravdess --corpus ../shared/corpora/nemo \\
        --kind melscal_rel_cnn --gain-db -30 20 --noise-dir ../shared/corpora/noise \\
        --epochs 30 --members 1 --experiments within joint loco --cache-dir bench/cache

Each corpus is a folder with ``manifest.tsv`` and ``folds.tsv`` (speaker -> fold). Clip
prediction = mean window probability over its speech windows, as ``emotag evaluate``.

- ``within``: speaker-grouped CV inside one corpus (trained on that corpus alone);
- ``joint``: the same test folds, trained on the other folds *plus every other corpus*
  (classes a corpus lacks masked out of its clips' loss, :func:`masked_crossentropy`);
- ``loco``: leave one corpus out: train on one corpus, test on each other one, over the
  classes both have (arg-max among them), UAR;
- ``holdout``: leave one corpus out the other way round: train on every other corpus,
  test on all of its clips over its own classes (arg-max among them), UAR; also its
  8-way neutral recall (arg-max over all eight).

``--balance-corpora`` weights corpora equally and classes within each, as ``emotag train``.

``--model M.keras`` instead scores a trained model on every clip of each corpus (all 8
classes, and the classes a RAVDESS-trained model shares with the corpus): today's figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tagger.constants import EMOTIONS
from tagger.decision import ARGMAX
from tagger.frontend import FrontEndConfig
from tagger.model import model_config_for
from tagger.pipeline import frontend_for
from tagger.training import TrainConfig, read_folds, read_manifest
from tagger.training.augment import training_noise
from tagger.training.dataset import ClipSet, extract_clips, model_inputs
from tagger.training.fit import fit_members, predict_network
from tagger.training.labels import corpus_classes, label_targets
from tagger.training.metrics import brief_score, clip_probabilities, neutral_scores, score_clips


class Corpus:
    """One corpus's windows, model inputs, noisy copies, clip folds and classes."""

    def __init__(self, root: Path, config: TrainConfig, *, cache_dir: Path, seed: int) -> None:
        self.name = root.name
        cache = cache_dir / f"{self.name}-all.npz"
        if cache.is_file():
            self.clips = ClipSet.load(cache)
        else:
            self.clips = extract_clips(read_manifest(root / "manifest.tsv"))
            self.clips.save(cache)
        fold_of = read_folds(root / "folds.tsv")
        known = np.array([int(a) in fold_of for a in self.clips.actors])
        self.fold = np.array([fold_of.get(int(a), -1) for a in self.clips.actors])
        self.known = known  # clips of speakers outside folds.tsv are never used
        self.x = model_inputs(self.clips, config.model_config().input_name)
        self.x_noisy = training_noise(self.clips, config, seed=seed, cache=cache, log=print)
        self.y = self.clips.window_labels()
        self.mask = corpus_classes(self.clips.labels[known])
        self.classes = [int(c) for c in np.flatnonzero(self.mask)]


def _train(parts: list[tuple[Corpus, np.ndarray]], config: TrainConfig, seed: int) -> list[Any]:
    """Members trained on the windows of the chosen clips ``(corpus, clip mask)`` of each part
    (each part one group of ``balanced_weights`` when ``config.balance_corpora``)."""
    xs, noisy, ys, masks, groups = [], [], [], [], []
    for index, (corpus, clip_mask) in enumerate(parts):
        windows = clip_mask[corpus.clips.clip]
        xs.append(corpus.x[windows])
        ys.append(corpus.y[windows])
        masks.append(label_targets(corpus.y[windows], corpus.mask))
        groups.append(np.full(int(windows.sum()), index))
        if corpus.x_noisy is not None:
            noisy.append(corpus.x_noisy[:, windows])
    x_noisy = np.concatenate(noisy, axis=1) if len(noisy) == len(parts) and noisy else None
    return fit_members(
        np.concatenate(xs), np.concatenate(ys), config=config, seed=seed, x_noisy=x_noisy,
        targets=np.concatenate(masks),
        groups=np.concatenate(groups) if config.balance_corpora and len(parts) > 1 else None,
    )  # fmt: skip


def _clip_probs(members: list[Any], corpus: Corpus) -> np.ndarray:
    window_probs = np.mean([predict_network(m, corpus.x) for m in members], axis=0)
    return clip_probabilities(corpus.clips, window_probs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpora", description=__doc__)
    parser.add_argument("--corpus", type=Path, action="append", required=True)
    parser.add_argument("--kind", default="melscal_rel_cnn")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--gain-db", type=float, nargs=2)
    parser.add_argument("--max-clip-db", type=float, default=TrainConfig().max_clip_db)
    parser.add_argument("--noise-dir", type=str)
    parser.add_argument("--noise-copies", type=int, default=2)
    parser.add_argument("--noise-probability", type=float, default=1.0)
    parser.add_argument("--music-dir", type=str)
    parser.add_argument("--eq-db", type=float, default=0.0, help="channel colouring of training windows (dB)")
    parser.add_argument("--balance-corpora", action="store_true", help="corpora equal, classes within each")
    parser.add_argument("--experiments", nargs="+", default=["within", "joint", "loco"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path("bench/cache"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--card", type=Path, help="add the holdout figures to this model card (loco)")
    parser.add_argument("--model", type=Path, help="score this model instead of training")
    args = parser.parse_args(argv)
    if args.model is not None:
        return _score_model(args)

    config = replace(
        TrainConfig(),
        model=model_config_for(args.kind),
        epochs=args.epochs,
        n_members=args.members,
        gain_db=None if args.gain_db is None else (args.gain_db[0], args.gain_db[1]),
        max_clip_db=args.max_clip_db,
        noise_dir=args.noise_dir,
        noise_copies=args.noise_copies,
        noise_probability=args.noise_probability,
        music_dir=args.music_dir,
        eq_db=args.eq_db,
        balance_corpora=args.balance_corpora,
    )
    print(f"recipe: {config}", flush=True)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    corpora = [Corpus(root, config, cache_dir=args.cache_dir, seed=args.seed) for root in args.corpus]
    results: dict[str, Any] = {
        "recipe": {"kind": args.kind, **vars(args)} | {"corpus": [str(c) for c in args.corpus]}
    }
    results["recipe"].pop("json", None)
    results["recipe"]["cache_dir"] = str(args.cache_dir)
    for experiment in args.experiments:
        for corpus in corpora:
            if experiment == "loco":
                for other in corpora:
                    if other is corpus:
                        continue
                    started = time.time()
                    members = _train([(corpus, corpus.known)], config, args.seed)
                    shared = sorted(set(corpus.classes) & set(other.classes))
                    probs = _clip_probs(members, other)
                    score = score_clips(other.clips.labels[other.known], probs[other.known], shared)
                    results[f"loco {corpus.name} -> {other.name}"] = score
                    took = time.time() - started
                    print(
                        f"loco {corpus.name} -> {other.name}: {brief_score(score)} ({took:.0f} s)", flush=True
                    )
                continue
            if experiment == "holdout":
                started = time.time()
                others = [(other, other.known) for other in corpora if other is not corpus]
                probs = _clip_probs(_train(others, config, args.seed), corpus)
                results[f"holdout {corpus.name}"] = _holdout_score(corpus, probs)
                if args.json is not None:  # the clip probabilities, to study decision rules on
                    np.savez(
                        args.json.with_name(f"{args.json.stem}-{corpus.name}.npz"),
                        labels=corpus.clips.labels[corpus.known], probs=probs[corpus.known],
                    )  # fmt: skip
                took = time.time() - started
                print(
                    f"holdout {corpus.name}: {results[f'holdout {corpus.name}']} ({took:.0f} s)", flush=True
                )
                continue
            probs = np.zeros((corpus.clips.n_clips, len(EMOTIONS)), dtype=np.float32)
            for k in sorted({int(f) for f in corpus.fold if f >= 0}):
                started = time.time()
                test = corpus.fold == k
                parts = [(corpus, corpus.known & ~test)]
                if experiment == "joint":
                    parts += [(other, other.known) for other in corpora if other is not corpus]
                members = _train(parts, config, args.seed)
                probs[test] = _clip_probs(members, corpus)[test]
                fold_score = brief_score(score_clips(corpus.clips.labels[test], probs[test]))
                print(
                    f"{experiment} {corpus.name} fold {k}: {fold_score} ({time.time() - started:.0f} s)",
                    flush=True,
                )
            known = corpus.known
            score = score_clips(corpus.clips.labels[known], probs[known])
            # The same predictions, arg-max among the corpus's own classes only.
            score["own_classes"] = score_clips(corpus.clips.labels[known], probs[known], corpus.classes)
            results[f"{experiment} {corpus.name}"] = score
            print(f"{experiment} {corpus.name}: {brief_score(score)}", flush=True)
    print(json.dumps(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.card is not None:
        from tagger.training.card import attach_loco

        attach_loco(args.card, results, command="python -m benchmarks.corpora " + " ".join(sys.argv[1:]))
    return 0


def _holdout_score(corpus: Corpus, probs: np.ndarray) -> dict[str, Any]:
    """UAR of clip probabilities ``probs`` ``(n_clips, 8)`` over ``corpus``'s own classes,
    and its 8-way neutral recall (share of its neutral clips whose arg-max is neutral)."""
    labels, probs = corpus.clips.labels[corpus.known], probs[corpus.known]
    score = score_clips(labels, probs, corpus.classes)
    return {
        "uar": score["uar"],
        "clip_accuracy": score["clip_accuracy"],
        "n": score["n"],
        "neutral_recall_8way": neutral_scores(labels, probs, ARGMAX)["neutral_recall"],
    }


def _score_model(args: argparse.Namespace) -> int:
    from tagger.model import load_model

    classifier = load_model(args.model)
    results: dict[str, Any] = {"model": classifier.version}
    for root in args.corpus:
        # a model with a tail (run in the front end) needs its own windows' logits
        tail = f"-{classifier.version}" if classifier.tail_path else ""
        cache = args.cache_dir / f"{root.name}-all{tail}.npz"
        clips = (
            ClipSet.load(cache)
            if cache.is_file()
            else extract_clips(
                read_manifest(root / "manifest.tsv"), config=frontend_for(classifier, FrontEndConfig())
            )
        )
        if not cache.is_file():
            args.cache_dir.mkdir(parents=True, exist_ok=True)
            clips.save(cache)
        probs = clip_probabilities(
            clips, classifier.predict_inputs(model_inputs(clips, classifier.input_name))
        )
        classes = sorted({int(c) for c in clips.labels})
        results[root.name] = {
            "all 8": score_clips(clips.labels, probs),
            "shared classes": score_clips(clips.labels, probs, classes),
        }
        print(f"{classifier.version} on {root.name}: {results[root.name]}", flush=True)
    print(json.dumps(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
