"""Decision rules for neutral on corpora the model never heard and on its test speakers (issue #25).

    python -m benchmarks.corpora --corpus ../shared/corpora/<each of the five> ... \\
        --experiments holdout --json bench/holdout.json     # writes bench/holdout-<corpus>.npz
    python experiments/neutral_rule.py bench/holdout-*.npz [--test bench/probs-test.npz]

Each ``.npz`` holds the clip probabilities of one corpus predicted by a network trained on
the *other four* (leave one corpus out): the situation of a language or a recording setup
the model has never heard, which is what the shipped model meets in real videos. For the
arg-max and the ``neutral_group`` rule (:mod:`tagger.decision`) at several neutral and calm
weights it prints, per corpus and on average, the 8-way neutral recall and the recall over
the other emotions; ``--test`` (the ``--probs`` file of ``experiments/neutral_analysis.py``:
the test speakers' clip probabilities of a model) does the same on them. Leave-one-corpus-
out cannot price calm (only RAVDESS has it, and its left-out networks never saw calm): the
test speakers' RAVDESS row does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tagger.decision import Decision
from tagger.training.metrics import neutral_scores

RULES = {
    "argmax": Decision(),
    **{
        f"group, neutral x{w:g}, calm x{c:g}": Decision("neutral_group", neutral_weight=w, calm_weight=c)
        for w in (1.0, 2.0)
        for c in (1.0, 3.0, 10.0, 1e6)
    },
}


def recalls(labels: np.ndarray, probs: np.ndarray, decision: Decision) -> tuple[float, float]:
    """(8-way neutral recall, mean 8-way recall over the other classes present)."""
    scores = neutral_scores(labels, probs, decision)
    return scores["neutral_recall"], scores["emotion_recall"]


def table(sets: dict[str, tuple[np.ndarray, np.ndarray]], decisions: dict[str, Decision]) -> dict[str, float]:
    """Print one row per decision; return each decision's mean recall over the other emotions."""
    print(f"{'rule':28s} {'mean':>13s}   " + "  ".join(f"{name:>9s}" for name in sets))
    means = {}
    for name, decision in decisions.items():
        row = [recalls(labels, probs, decision) for labels, probs in sets.values()]
        mean = np.mean(row, axis=0)
        means[name] = float(mean[1])
        each = "  ".join(f"{100 * n:4.0f}/{100 * o:4.0f}" for n, o in row)
        print(f"{name:28s} {100 * mean[0]:5.1f} / {100 * mean[1]:5.1f}   {each}")
    return means


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("loco", type=Path, nargs="+", help="holdout-<corpus>.npz files")
    parser.add_argument("--test", type=Path, help="test speakers' clip probabilities")
    args = parser.parse_args(argv)
    sets = {}
    for path in args.loco:
        data = np.load(path)
        sets[path.stem.rsplit("-", 1)[-1]] = (data["labels"].astype(int), data["probs"])
    print("leave one corpus out: 8-way neutral recall / recall over the other emotions, %")
    table(sets, RULES)
    if args.test is not None:
        data = np.load(args.test)
        names = sorted({key.rsplit("_", 1)[0] for key in data.files})
        test = {name: (data[f"{name}_labels"].astype(int), data[f"{name}_probs"]) for name in names}
        print("\ntest speakers: 8-way neutral recall / recall over the other emotions, %")
        table(test, RULES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
