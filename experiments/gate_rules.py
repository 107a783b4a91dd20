"""Choose the scene gate's decision rule on fold 1, score it once on fold 2 (issue #24).

    python -m experiments.gate_rules dump --fold 1 --out runs/gate-fold1.npz
    python -m experiments.gate_rules dump --fold 2 --out runs/gate-fold2.npz
    python -m experiments.gate_rules sweep --choose runs/gate-fold1.npz --score runs/gate-fold2.npz

``dump`` builds the material of :mod:`benchmarks.scene_gate` for one speaker fold (that
fold's speakers of the five corpora and its noise recordings; on the choosing fold the
held-out song is left out of both the music set and the speech-over-music beds, so the
rule never hears it) and keeps per window: the network's 384-d embedding (the mean of the
steps centred in the window, as the gate pools it), the feature gate's class, the voicing
detector's call and whether the window is a target. ``sweep`` scores a grid of rules on
the choosing fold, picks the one with the largest worst-case margin over the issue's
goals, and prints that one rule's figures on the scoring fold.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from benchmarks.scene_gate import GOALS, material, speech_seconds_per_window
from tagger.audioset.gate import load_scene_net
from tagger.frontend import FrontEndConfig, analyse_signal
from tagger.speech import detect_speech
from tagger.training.augment import HELDOUT_SONG

WEIGHTS = Path("../shared/pretrained/efficientat-mn04/mn04_as.npz")
ANIMAL = 72  # AudioSet "Animal"
# animals (72-136) and natural sounds and sounds of things (283-465), not human sounds,
# music or the source-ambiguous, channel and acoustic-scene classes (466-526); the first
# sweep used 283-499 and chose the same rule with the same figures on both folds
RIVALS = np.r_[72:137, 283:466]
LABELS = Path("../shared/pretrained/efficientat-mn04/class_labels_indices.csv")


def dump(
    corpora: Path,
    *,
    fold: int,
    clips: int,
    out: Path,
    extra_noise_folds: tuple[int, ...] = (),
    min_speech_s: float = 1.5,
) -> None:
    net = load_scene_net()
    captured: list[np.ndarray] = []
    probabilities = net.probabilities

    def capture(embedding: np.ndarray) -> np.ndarray:
        captured.append(np.asarray(embedding, dtype=np.float32).copy())
        return probabilities(embedding)

    net.probabilities = capture  # type: ignore[method-assign]
    items = material(corpora, fold=fold, clips=clips)
    items += noise_items(corpora, folds=extra_noise_folds)
    if fold != 2:
        song = pd.read_csv(corpora / "music" / "manifest.tsv", sep="\t")
        title = str(song.loc[song["path"] == HELDOUT_SONG, "title"].iloc[0])
        items = [
            i
            for i in items
            if i[1] != title and not (i[0] == "over music 10 dB" and _bed_is(i, title, corpora))
        ]
    columns: dict[str, list[np.ndarray]] = {
        k: [] for k in ("set", "item", "target", "keep", "feat", "voiced", "emb")
    }
    for name, item, target, y, clean in items:
        features = analyse_signal(y, config=FrontEndConfig(gate="features"))
        captured.clear()
        scene = analyse_signal(y, config=FrontEndConfig(gate="scene"))
        if features is None or scene is None:
            continue
        n = len(features)
        emb = np.concatenate(captured)
        assert len(emb) == n, (len(emb), n)
        cfg = FrontEndConfig()
        voiced = detect_speech(
            features.frames, features.n_valid_frames, features=cfg.features, config=cfg.speech
        )
        keep = (
            np.ones(n, dtype=bool) if clean is None else speech_seconds_per_window(clean, n) >= min_speech_s
        )
        columns["set"].append(np.full(n, name))
        columns["item"].append(np.full(n, item))
        columns["target"].append(np.full(n, target))
        columns["keep"].append(keep)
        columns["feat"].append(np.asarray(features.content, dtype=str))
        columns["voiced"].append(np.asarray(voiced, dtype=bool))
        columns["emb"].append(emb)
        print(f"{name:22s} {item:30s} {n:5d} windows", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **{k: np.concatenate(v) for k, v in columns.items()})


def noise_items(corpora: Path, *, folds: tuple[int, ...]) -> list[tuple]:
    """The noise recordings of ``folds`` as :func:`benchmarks.scene_gate.material` splits them."""
    from benchmarks.content_gate import _recording

    noise = pd.read_csv(corpora / "noise" / "manifest.tsv", sep="\t")
    recordings = sorted({_recording(p) for p in noise["path"]})
    order = np.random.default_rng(0).permutation(len(recordings))
    fold_of = {name: int(order[i]) % 4 for i, name in enumerate(recordings)}
    paths = [p for p in noise["path"] if fold_of[_recording(p)] in {f % 4 for f in folds}]
    return [
        ("noise", Path(p).stem, "other", sf.read(corpora / "noise" / p, dtype="float32")[0], None)
        for p in paths
    ]


def _bed_is(item: tuple, title: str, corpora: Path) -> bool:
    """Whether a speech-over-music item of :func:`material` lies over the song ``title``
    (corpus ``i`` is mixed over song ``i % 4``)."""
    from benchmarks.scene_gate import CORPORA

    songs = pd.read_csv(corpora / "music" / "manifest.tsv", sep="\t")["title"].tolist()
    return songs[CORPORA.index(item[1]) % len(songs)] == title


def audioset_probabilities(emb: np.ndarray) -> np.ndarray:
    """``(n, 527)`` AudioSet probabilities from window embeddings ``(n, 384)``."""
    with np.load(WEIGHTS) as w:
        hidden = emb @ w["classifier.2.weight"].T + w["classifier.2.bias"]
        hidden = hidden * np.clip(hidden + 3.0, 0.0, 6.0) / 6.0
        logits = hidden @ w["classifier.5.weight"].T + w["classifier.5.bias"]
    out: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
    return out


@dataclass(frozen=True)
class Rule:
    """speech when p(Speech) >= ``high``; between ``low`` and ``high`` only when the voicing
    detector hears voice (``low == high``: no band); music when p(Music)/p(Singing) >= 0.5;
    else the feature gate's class, vetoed below p(Speech) 0.1 (the combined gate).
    ``smooth``: p(Speech) is the median over this many neighbouring windows first."""

    low: float
    high: float
    smooth: int = 1
    animal: bool = False  # not speech where p(Animal) > p(Speech)
    rival: float = 0.0  # not speech where rival * (the top animal/natural/thing class) > p(Speech)

    def calls(self, d: dict[str, np.ndarray], p: np.ndarray) -> np.ndarray:
        speech = p[:, 0]
        if self.smooth > 1:
            speech = _running_median(speech, d["item"], d["set"], self.smooth)
        music = np.maximum(p[:, 27], p[:, 137])
        sure_speech = (speech >= self.high) | ((speech >= self.low) & d["voiced"])
        if self.animal:
            sure_speech &= p[:, ANIMAL] <= speech
        if self.rival:
            sure_speech &= self.rival * p[:, RIVALS].max(axis=1) <= speech
        sure_music = ~sure_speech & (music >= 0.5)
        unsure = ~sure_speech & ~sure_music
        # the feature gate's speech needs the voicing detector already
        fallback = np.where((d["feat"] == "speech") & (speech < 0.1), "other", d["feat"])
        return np.where(
            sure_speech, "speech", np.where(sure_music, "music", np.where(unsure, fallback, "other"))
        )


def _running_median(x: np.ndarray, item: np.ndarray, name: np.ndarray, k: int) -> np.ndarray:
    out = x.copy()
    keys = np.char.add(np.char.add(name.astype(str), "|"), item.astype(str))
    for key in np.unique(keys):
        idx = np.flatnonzero(keys == key)
        padded = np.pad(x[idx], k // 2, mode="edge")
        out[idx] = np.median(np.lib.stride_tricks.sliding_window_view(padded, k), axis=1)
    return out


def scores(d: dict[str, np.ndarray], p: np.ndarray, rule: Rule) -> pd.Series:
    calls = rule.calls(d, p)
    hit = np.where(d["target"] == "speech", calls == "speech", calls != "speech")
    frame = pd.DataFrame({"set": d["set"], "hit": hit})[d["keep"]]
    return frame.groupby("set")["hit"].mean() * 100


def margin(s: pd.Series) -> float:
    return min(float(s[name]) - goal for name, goal in GOALS.items() if name in s.index)


def sweep(choose: Path, score: Path) -> None:
    data = {}
    for tag, path in (("choose", choose), ("score", score)):
        with np.load(path) as z:
            d = {k: z[k] for k in z.files}
        data[tag] = (d, audioset_probabilities(d["emb"]))
    grid = [
        Rule(low, high, smooth, animal, rival)
        for low, high, smooth, animal, rival in itertools.product(
            (0.15, 0.2, 0.25, 0.3, 0.35, 0.4),
            (0.3, 0.5, 0.7, 1.01),
            (1, 3),
            (False, True),
            (0.0, 0.5, 0.75, 1.0),
        )
        if low <= high
    ]
    rows = []
    for rule in grid:
        s = scores(*data["choose"], rule)
        rows.append(
            {
                "low": rule.low,
                "high": rule.high,
                "smooth": rule.smooth,
                "animal": rule.animal,
                "rival": rule.rival,
            }
            | {"margin": margin(s), **s.to_dict()}
        )
    table = pd.DataFrame(rows).sort_values("margin", ascending=False)
    with pd.option_context("display.width", 250, "display.float_format", "{:.2f}".format):
        print(f"choosing fold ({choose}), best 15 of {len(grid)} rules by worst margin over the goals")
        print(table.head(15).to_string(index=False))
        best = table.iloc[0]
        rule = Rule(
            float(best["low"]),
            float(best["high"]),
            int(best["smooth"]),
            bool(best["animal"]),
            float(best["rival"]),
        )
        print(f"\nchosen: {rule}")
        for label, r in (("shipped (p >= 0.3)", Rule(0.3, 0.3)), ("chosen", rule)):
            print(f"\nscoring fold ({score}), {label}")
            print(scores(*data["score"], r).to_string())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    d.add_argument("--fold", type=int, required=True)
    d.add_argument("--clips", type=int, default=40)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument(
        "--extra-noise-folds", type=int, nargs="*", default=[], help="noise recordings of these folds too"
    )
    s = sub.add_parser("sweep")
    s.add_argument("--choose", type=Path, required=True)
    s.add_argument("--score", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.verb == "dump":
        dump(
            args.corpora,
            fold=args.fold,
            clips=args.clips,
            out=args.out,
            extra_noise_folds=tuple(args.extra_noise_folds),
        )
    else:
        sweep(args.choose, args.score)
    return 0


if __name__ == "__main__":
    sys.exit(main())
