"""Why does the model almost never say neutral? (issue #25, deliverable 2: the analysis)

    python experiments/neutral_analysis.py [--corpora ../shared/corpora] [--fold 2]

For the test speakers (fold 2) of each of the five corpora, with the shipped model (or
``--model``): the
8-way neutral recall, where the neutral clips go instead, and what two decision rules on
the same calibrated clip probabilities would give (a prior on neutral, and neutral
unless an emotion beats it by a margin): neutral recall against the recall over the
other emotions (UAR over the corpus's own non-neutral classes).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.affect_order import CORPORA, test_speaker_manifest
from tagger.constants import EMOTIONS
from tagger.decision import Decision, decide
from tagger.model import load_model
from tagger.training.dataset import extract_clips, model_inputs, read_manifest
from tagger.training.metrics import clip_probabilities

NEUTRAL = EMOTIONS.index("neutral")


def clip_probs(manifest: Path, model: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    classifier = load_model(model)
    clips = extract_clips(read_manifest(manifest), drop_duplicates=False)
    window_probs = classifier.predict_inputs(model_inputs(clips, classifier.input_name))
    return clips.labels.astype(int), clip_probabilities(clips, window_probs)


def scores(labels: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """(neutral recall, mean recall over the other classes present)."""
    neutral = float(np.mean(pred[labels == NEUTRAL] == NEUTRAL))
    others = [c for c in sorted(set(labels.tolist())) if c != NEUTRAL]
    return neutral, float(np.mean([np.mean(pred[labels == c] == c) for c in others]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--fold", type=int, default=2)
    parser.add_argument("--model", type=Path, help="default: the shipped model")
    parser.add_argument(
        "--probs", type=Path, help=".npz of the clip probabilities: read if it exists, else written"
    )
    args = parser.parse_args(argv)
    results = {}
    saved = dict(np.load(args.probs)) if args.probs is not None and args.probs.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for corpus in CORPORA:
            if f"{corpus}_probs" in saved:
                labels, probs = saved[f"{corpus}_labels"], saved[f"{corpus}_probs"]
            else:
                manifest = test_speaker_manifest(args.corpora / corpus, args.fold, Path(tmp))
                labels, probs = clip_probs(manifest, args.model)
                saved |= {f"{corpus}_labels": labels, f"{corpus}_probs": probs}
            results[corpus] = (labels, probs)
            pred = probs.argmax(axis=1)
            went = Counter(EMOTIONS[p] for p in pred[labels == NEUTRAL])
            n_neutral = int((labels == NEUTRAL).sum())
            neutral, others = scores(labels, pred)
            print(
                f"{corpus:8s} neutral clips {n_neutral:4d}: recall {100 * neutral:5.1f} %, other emotions "
                f"{100 * others:5.1f} %; neutral went to "
                + ", ".join(f"{name} {100 * n / n_neutral:.0f} %" for name, n in went.most_common(4))
            )
            print(
                f"{'':8s} mean p(neutral) on neutral clips {probs[labels == NEUTRAL, NEUTRAL].mean():.2f}, "
                f"on the others {probs[labels != NEUTRAL, NEUTRAL].mean():.2f}"
            )
    if args.probs is not None:
        np.savez(args.probs, **saved)
    print("\nrule: neutral recall / other-emotion recall, % (mean over the five corpora, then each)")
    rules = {
        **{f"p(neutral) x {k}": ("prior", k) for k in (1, 2, 3, 5, 8)},
        **{f"neutral unless an emotion leads by {m}": ("margin", m) for m in (0.1, 0.2, 0.3)},
        "neutral and calm as one group": ("group", 0),
    }
    for name, (kind, value) in rules.items():
        row = []
        for labels, probs in results.values():
            p = probs.copy()
            if kind == "group":
                pred = decide(p, Decision("neutral_group"))[0]
            elif kind == "prior":
                p[:, NEUTRAL] *= value
                pred = p.argmax(axis=1)
            else:
                emotion = np.delete(p, NEUTRAL, axis=1)
                best = emotion.max(axis=1)
                best_class = np.delete(np.arange(len(EMOTIONS)), NEUTRAL)[emotion.argmax(axis=1)]
                pred = np.where(best - p[:, NEUTRAL] > value, best_class, NEUTRAL)
            row.append(scores(labels, pred))
        mean = np.mean(row, axis=0) * 100
        each = "  ".join(f"{100 * n:4.0f}/{100 * o:4.0f}" for n, o in row)
        print(f"{name:36s} {mean[0]:5.1f} / {mean[1]:5.1f}   {each}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
