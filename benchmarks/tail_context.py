"""Does a clip's emotion depend on what is heard around it? The emotion tail run over a
whole segment against the tail run on each window's stretch of the map (the shipped way).

    python -m benchmarks.tail_context [--corpus ../shared/corpora/ravdess] [--fold 2]

Per speaker and emotion of the test fold, up to six clips: each scored alone, and in pairs
(pause, clip, pause, clip: 2 s pauses of faint pink noise). Clip = arg-max of the mean
window probability over its windows. Prints accuracy for both ways of running the tail.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tagger.audioset.gate import SceneConfig, load_scene_net, segment_input, span_means, tail_window_logits
from tagger.calibration import softmax
from tagger.frontend import scene_mel_rows
from tagger.litert import LiteRTForward
from tagger.model import load_model
from tagger.testing.signals import pink_noise
from tagger.training.dataset import read_clip, read_folds, read_manifest
from tagger.training.mn04 import window_spans

MAX_FRAMES = 1280  # one segment with its context


def window_logits(y: np.ndarray, tail: LiteRTForward) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per way of running the tail: window starts and ends (frames) and window logits."""
    rows = scene_mel_rows(y)[:MAX_FRAMES]
    _, feature_map = load_scene_net().trunk_with_map(segment_input(rows, SceneConfig()))
    starts, ends = window_spans(len(rows))
    segment = span_means(tail(feature_map)[0], starts, ends)
    per_window = tail_window_logits(tail, feature_map[0], starts, ends)
    return {"segment": (starts, ends, segment), "window": (starts, ends, per_window)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpora/ravdess"))
    parser.add_argument("--fold", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args(argv)
    classifier = load_model(args.model)
    if classifier.tail_path is None:
        raise SystemExit("the model reads no scene map")
    tail = LiteRTForward(classifier.tail_path)
    frame = read_manifest(args.corpus / "manifest.tsv")
    folds = read_folds(args.corpus / "folds.tsv")
    frame = frame[[folds.get(int(a)) == args.fold for a in frame["actor"]]]
    rng = np.random.default_rng(0)
    hits: dict[str, list[bool]] = {
        f"{way} {where}": [] for way in ("segment", "window") for where in ("alone", "between")
    }
    for (_, label), group in frame.groupby(["actor", "label"]):
        clips = [read_clip(p) for p in group["path"]][:6]
        for y in clips:
            for way, (_, _, logits) in window_logits(y, tail).items():
                hits[f"{way} alone"].append(bool(softmax(logits).mean(axis=0).argmax() == label))
        for pair in (clips[i : i + 2] for i in range(0, len(clips) - 1, 2)):
            pieces, spans, t = [], [], 0
            for y in pair:
                pause = pink_noise(2.0, amplitude=0.001, seed=int(rng.integers(1 << 30))).astype(np.float32)
                pieces += [pause, y]
                spans.append(((t + pause.size) // 160, (t + pause.size + y.size) // 160))
                t += pause.size + y.size
            for way, (starts, ends, logits) in window_logits(np.concatenate(pieces), tail).items():
                for lo, hi in spans:
                    inside = (starts >= lo - 50) & (ends <= hi + 50)
                    if not inside.any():
                        inside = (ends > lo) & (starts < hi)
                    hits[f"{way} between"].append(
                        bool(softmax(logits[inside]).mean(axis=0).argmax() == label)
                    )
    result = {name: round(100 * float(np.mean(v)), 1) for name, v in hits.items()}
    result["clips"] = len(hits["window alone"])
    print(json.dumps({"model": classifier.version, **result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
