"""Does arousal order the emotions the same way in every corpus?

    python -m benchmarks.affect_order [--corpora ../shared/corpora] [--fold 2] [--model M]

For the test speakers (fold ``--fold``) of each corpus: each clip's arousal and valence
(:func:`tagger.affect.affect` of the mean of its speech windows' calibrated
probabilities), their means per true emotion, and Spearman's rho between mean arousal
and the order angry, happy, fearful, surprised > neutral > sad, calm
(:data:`tagger.evaluate.AROUSAL_ORDER`; disgust left out).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

from tagger.evaluate import evaluate_manifest

CORPORA = ("ravdess", "nemo", "ased", "emovo", "kotts")


def test_speaker_manifest(root: Path, fold: int, out: Path) -> Path:
    """A manifest of the fold's speakers, paths made absolute."""
    manifest = pd.read_csv(root / "manifest.tsv", sep="\t", dtype=str)
    folds = pd.read_csv(root / "folds.tsv", sep="\t", dtype=str)
    column = folds.columns[0]
    held = set(folds[folds["fold"] == str(fold)][column])
    if column == "actor":
        held = {str(int(a)) for a in held}
        keep = manifest[column].astype(int).astype(str).isin(held)
    else:
        keep = manifest[column].isin(held)
    picked = manifest[keep].assign(path=lambda m: [str(root.resolve() / p) for p in m["path"]])
    path = out / f"{root.name}-fold{fold}.tsv"
    picked.to_csv(path, sep="\t", index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--fold", type=int, default=2)
    parser.add_argument("--model", type=Path)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for corpus in CORPORA:
            root = args.corpora / corpus
            if not (root / "manifest.tsv").is_file():
                print(f"skipping {corpus}: no manifest under {root}", file=sys.stderr)
                continue
            result = evaluate_manifest(
                test_speaker_manifest(root, args.fold, Path(tmp)), model_path=args.model
            )
            arousal = result["arousal"]
            rows.append(
                {
                    "corpus": corpus,
                    "clips": result["n_clips"],
                    "spearman_rho": arousal["spearman_rho"],
                    **{name: round(value, 2) for name, value in arousal["mean_by_emotion"].items()},
                }
            )
    table = pd.DataFrame(rows).set_index("corpus")
    with pd.option_context("display.width", 200):
        print("mean arousal of the test speakers' clips per true emotion, and Spearman rho")
        print(table.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
