"""How the emotion model depends on the level of its input, on speakers it never saw.

    python -m benchmarks.model_level --model bench/heldout/heldout-fold0.keras \\
        --manifest bench/heldout/heldout-fold0.tsv [--model OTHER.keras ...] [--json OUT]

Use a model with the speakers it never saw: the shipped model and ``--fold 2`` (its test
fold, kept out of training), or models from ``python -m benchmarks.heldout`` and their
held-out manifest. Every clip is scaled on the waveform, before the front
end, by a fixed gain (-30 … +20 dB, clipped to ±1 as a converter would), to a sample
peak of -1 dBFS, and to -23 / -16 LUFS integrated loudness (ITU-R BS.1770-4,
:mod:`tagger.loudness`; clipping allowed), then classified like ``emotag evaluate``
does: mean calibrated window probability over the speech windows (over all windows
when the speech gate finds none). Prints clip accuracy and UAR per model and condition,
the share of windows the speech gate keeps, and each model's largest drop from 0 dB.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tagger.frontend import FrontEndConfig, analyse_signal
from tagger.loudness import loudness_gain_db, peak_gain_db
from tagger.model import load_model
from tagger.training import classification_metrics, clip_probability, read_folds, read_manifest
from tagger.training.augment import apply_gain
from tagger.training.dataset import read_clip

GAINS_DB = (-30.0, -20.0, -10.0, 0.0, 10.0, 20.0)


def conditions() -> list[tuple[str, Callable[[np.ndarray], float]]]:
    """``(name, gain in dB for a clip)`` of every measured condition, 0 dB first."""
    fixed = [(f"{g:+g} dB" if g else "0 dB (as recorded)", _constant(g)) for g in GAINS_DB]
    fixed.sort(key=lambda item: item[0] != "0 dB (as recorded)")
    return [
        *fixed,
        ("peak -1 dBFS", lambda y: peak_gain_db(y, target_dbfs=-1.0)),
        ("-23 LUFS", lambda y: loudness_gain_db(y, target_lufs=-23.0)),
        ("-16 LUFS", lambda y: loudness_gain_db(y, target_lufs=-16.0)),
    ]


def _constant(gain_db: float) -> Callable[[np.ndarray], float]:
    return lambda _y: gain_db


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_level", description=__doc__)
    parser.add_argument("--model", required=True, type=Path, action="append", help="repeatable")
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--fold",
        type=int,
        help="only the speakers of this fold of folds.tsv beside the manifest (a model's test fold)",
    )
    args = parser.parse_args(argv)

    classifiers = [load_model(path) for path in args.model]
    # one analysis serves every model: the front end also runs the tail of the one that has one
    tails = [c.tail_path for c in classifiers if c.tail_path]
    if len(tails) > 1:
        raise SystemExit("compare at most one model with a tail (scene_map) at a time")
    config = FrontEndConfig(tail=tails[0] if tails else None)
    frame = read_manifest(args.manifest)
    if args.fold is not None:
        fold_of = read_folds(args.manifest.parent / "folds.tsv")
        frame = frame[[fold_of.get(int(a)) == args.fold for a in frame["actor"]]]
    clips = [read_clip(p) for p in frame["path"]]
    labels = frame["label"].to_numpy()
    results: dict[str, dict[str, dict[str, float]]] = {c.version: {} for c in classifiers}
    speech_share: dict[str, float] = {}
    clipped_share: dict[str, float] = {}
    for name, gain_of in conditions():
        predictions: list[list[int]] = [[] for _ in classifiers]
        n_speech = n_windows = n_clipped = 0
        for y in clips:
            scaled = apply_gain(y, gain_db=gain_of(y))
            n_clipped += int(np.max(np.abs(scaled)) >= 1.0)
            batch = analyse_signal(scaled, config=config)
            assert batch is not None
            for k, classifier in enumerate(classifiers):
                probs = classifier.predict(batch)
                predictions[k].append(int(clip_probability(probs, batch.is_speech).argmax()))
            n_speech += int(batch.is_speech.sum())
            n_windows += len(batch)
        speech_share[name] = n_speech / n_windows
        clipped_share[name] = n_clipped / len(clips)
        for classifier, predicted in zip(classifiers, predictions, strict=True):
            metrics = classification_metrics(labels, np.array(predicted))
            results[classifier.version][name] = {"clip_accuracy": metrics["accuracy"], "uar": metrics["uar"]}
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(_table(results, speech_share, clipped_share))
    payload = {
        "clips": len(clips),
        "manifest": str(args.manifest),
        "fold": args.fold,
        "results": results,
        "speech_windows": speech_share,
        "clipped_clips": clipped_share,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(json.dumps(payload))
    return 0


def _table(
    results: dict[str, dict[str, dict[str, float]]],
    speech_share: dict[str, float],
    clipped_share: dict[str, float],
) -> str:
    """Markdown: one row per condition, clip accuracy / UAR (%) per model, then the share of
    speech windows and of clipped clips; last row, each model's largest drop from 0 dB."""
    versions = list(results)
    names = list(speech_share)
    head = ["condition", *(f"{v}: acc / UAR" for v in versions), "speech windows", "clips clipped"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in names:
        cells = [
            f"{100 * results[v][name]['clip_accuracy']:.1f} / {100 * results[v][name]['uar']:.1f}"
            for v in versions
        ]
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {100 * speech_share[name]:.0f} % | {100 * clipped_share[name]:.0f} % |"
        )
    drops = []
    for v in versions:
        reference = results[v][names[0]]["clip_accuracy"]
        drops.append(f"{100 * max(reference - r['clip_accuracy'] for r in results[v].values()):.1f}")
    lines.append("| largest accuracy drop from 0 dB (points) | " + " | ".join(drops) + " | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
