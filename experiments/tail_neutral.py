"""Session 11's analyses of the shipped emotion tail's neutral rule, calibration and
leave-one-corpus-out runs, over the probabilities that ``python -m tagger.training.mn04``
saved in ``runs/mn04`` (nothing is trained here; figures in ``docs/model/experiments.md``).

Usage::

    python -m experiments.tail_neutral confusions   # where neutral clips go (validation, LOCO)
    python -m experiments.tail_neutral recipes _ls0.1 _ls0.1_nx1   # rule cost per recipe
    python -m experiments.tail_neutral evidence     # weights plus an evidence threshold
    python -m experiments.tail_neutral folds        # calibration on folds 1+0 vs 1+0+3+4
    python -m experiments.tail_neutral baseline     # LOCO with a per-speaker baseline
    python -m experiments.tail_neutral tracks       # ... on simulated tracks of realistic mixes
    python -m experiments.tail_neutral per_corpus   # what 70 % neutral costs in each corpus alone
    python -m experiments.tail_neutral loco_evidence  # an evidence threshold, on LOCO clips

Inputs: ``select{,_f0,_f3,_f4}<recipe>_probs_19.npz`` (``select``), ``loco_ls0.1_probs_<corpus>_19.npz``
(``loco --label-smoothing 0.1``) and ``maps_<corpus>.npz`` (``cache``, for the speakers).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from tagger.calibration import apply_temperature
from tagger.constants import EMOTIONS
from tagger.decision import Decision, decide
from tagger.training.mn04 import CORPORA, own_class_predictions, unweighted_recall
from tagger.training.mn04_card import _clip_means, calibration_on_validation

RUNS = Path("runs/mn04")
EPOCH = 19
OTHERS = np.array([i for i, name in enumerate(EMOTIONS) if name not in ("neutral", "calm")])


def _select_paths(recipe: str, folds: tuple[int, ...] = (1, 0)) -> list[Path]:
    return [RUNS / f"select{'' if f == 1 else f'_f{f}'}{recipe}_probs_{EPOCH}.npz" for f in folds]


def _validation_clips(recipe: str, temperature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated clip probabilities ``(n, 8)``, labels and corpora of folds 1 and 0."""
    probs, labels, corpora = [], [], []
    for path in _select_paths(recipe):
        with np.load(path) as f:
            windows = apply_temperature(f["window_probs"], temperature)
            probs.append(_clip_means(windows, f["window_clip"], len(f["label"])))
            labels.append(f["label"])
            corpora.append(f["corpus"])
    return np.concatenate(probs), np.concatenate(labels), np.concatenate(corpora)


def _recalls(pred: np.ndarray, labels: np.ndarray, corpora: np.ndarray) -> tuple[np.ndarray, float]:
    """8-way neutral recall per corpus, and the mean over corpora of the mean recall over
    the other classes present."""
    neutral, other = [], []
    for c in np.unique(corpora):
        y, p = labels[corpora == c], pred[corpora == c]
        neutral.append(np.mean(p[y == 0] == 0))
        other.append(np.mean([np.mean(p[y == k] == k) for k in np.unique(y) if k != 0]))
    return np.array(neutral), float(np.mean(other))


def _counts(pred: np.ndarray) -> dict[str, int]:
    classes, counts = np.unique(pred, return_counts=True)
    return {EMOTIONS[k]: int(n) for k, n in zip(classes, counts, strict=True)}


def confusions(_: argparse.Namespace) -> None:
    """Where neutral clips go under the arg-max: validation speakers, then LOCO."""
    for path in _select_paths("_ls0.1"):
        with np.load(path) as f:
            probs, labels, corpora = f["probs"], f["label"], f["corpus"]
        for c, name in enumerate(CORPORA):
            pred = probs[(corpora == c) & (labels == 0)].argmax(axis=1)
            print(path.name, name, _counts(pred))
    for name in CORPORA:
        with np.load(RUNS / f"loco_ls0.1_probs_{name}_{EPOCH}.npz") as f:
            pred, labels = f["probs"].argmax(axis=1), f["label"]
        shares = {EMOTIONS[k]: round(float(np.mean(pred == k)), 2) for k in range(len(EMOTIONS))}
        neutral = _counts(pred[labels == 0])
        print("loco", name, "all clips:", shares, "neutral clips:", neutral)


def recipes(args: argparse.Namespace) -> None:
    """Per recipe suffix: temperature, the rule chosen, and its cost (folds 1 + 0)."""
    for recipe in args.recipe:
        calibration, decision, rules = calibration_on_validation(_select_paths(recipe))
        print(
            recipe,
            json.dumps({k: calibration[k] for k in ("temperature", "ece_after", "label_ece_after")}),
        )
        for target in (0.70, 0.75, 0.80):
            reaching = [r for r in rules[1:] if r["mean_neutral_recall"] >= target]
            best = max(reaching, key=lambda r: r["emotion_recall"])
            print(f"  mean neutral >= {target:.2f}:", _row(best))
        print("  arg-max:", _row(rules[0]), "chosen:", decision.as_card())


def _row(rule: dict[str, Any]) -> str:
    return (
        f"{rule['neutral_weight']:g}/{rule['calm_weight']:g} neutral "
        f"{[round(100 * r) for r in rule['neutral_recall']]} "
        f"other emotions {100 * rule['emotion_recall']:.1f}"
    )


def evidence(_: argparse.Namespace) -> None:
    """The weight rule with an evidence threshold on top: an emotion only where its own
    probability reaches ``threshold``, else the neutral group (folds 1 + 0, the card's T)."""
    card = json.loads(Path("tagger/models/default.card.json").read_text())
    probs, labels, corpora = _validation_clips("_ls0.1", card["calibration"]["temperature"])
    rows = []
    for calm in (1.0, 2.0, 5.0, 10.0):
        for weight in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0):
            base = decide(probs, Decision("neutral_group", weight, calm))[0]
            best = OTHERS[np.argmax(probs[:, OTHERS], axis=1)]
            for threshold in (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
                weak = (base == best) & (probs[np.arange(len(probs)), best] < threshold)
                group = np.where(probs[:, 1] > calm * probs[:, 0], 1, 0)
                neutral, other = _recalls(np.where(weak, group, base), labels, corpora)
                rows.append((float(neutral.mean()), other, weight, calm, threshold))
    for target in (0.70, 0.75, 0.80):
        for label, pool in (("any", rows), ("weights only", [r for r in rows if r[4] == 0.0])):
            reached, other, weight, calm, threshold = max(
                (r for r in pool if r[0] >= target), key=lambda r: r[1]
            )
            print(
                f"neutral >= {target:.2f} {label}: {weight:g}/{calm:g} threshold {threshold:g}: "
                f"mean neutral {100 * reached:.1f}, other {100 * other:.1f}"
            )


def _with_evidence(probs: np.ndarray, decision: Decision, threshold: float) -> np.ndarray:
    """:func:`decide`, then the neutral group wherever the decided emotion's probability is
    under ``threshold``."""
    base = decide(probs, decision)[0]
    best = OTHERS[np.argmax(probs[:, OTHERS], axis=1)]
    weak = (base == best) & (probs[np.arange(len(probs)), best] < threshold)
    group = np.where(probs[:, 1] > decision.calm_weight * probs[:, 0], 1, 0)
    return np.where(weak, group, base)


def loco_evidence(_: argparse.Namespace) -> None:
    """The card's temperature, weights and an evidence threshold: validation (folds 1 + 0),
    the LOCO clips (8-way neutral recall per left-out corpus) and the test speakers (clip =
    mean of its calibrated windows); "others" as the card counts them, the mean 8-way recall
    over every class besides neutral (:func:`_recalls`)."""
    card = json.loads(Path("tagger/models/default.card.json").read_text())
    temperature = card["calibration"]["temperature"]
    scored = {"validation": _validation_clips("_ls0.1", temperature)}
    with np.load(RUNS / f"test_ls0.1_probs_{EPOCH}.npz") as f:
        windows = apply_temperature(f["window_probs"], temperature)
        test = _clip_means(windows, f["window_clip"], len(f["label"]))
        scored["test speakers"] = (test, f["label"], f["corpus"])
    loco = []
    for c, name in enumerate(CORPORA):
        with np.load(RUNS / f"loco_ls0.1_probs_{name}_{EPOCH}.npz") as f:
            loco.append((apply_temperature(f["probs"], temperature), f["label"], np.full(len(f["label"]), c)))
    scored["LOCO"] = tuple(np.concatenate(parts) for parts in zip(*loco, strict=True))  # type: ignore[assignment]
    for weight, threshold in ((1.5, 0.0), (1.5, 0.3), (1.5, 0.35), (2.0, 0.0), (2.5, 0.0), (3.0, 0.0)):
        decision = Decision("neutral_group", weight, 5.0)
        cells = []
        for where, (probs, labels, corpora) in scored.items():
            neutral, other = _recalls(_with_evidence(probs, decision, threshold), labels, corpora)
            cells.append(f"{where}: neutral {[round(100 * n) for n in neutral]}, others {100 * other:.1f}")
        print(f"{weight:g}/5 threshold {threshold:g}:", "; ".join(cells))


def folds(_: argparse.Namespace) -> None:
    """Temperature and rule chosen on folds 1 + 0 (the card's) and on 1 + 0 + 3 + 4."""
    for chosen in ((1, 0), (1, 0, 3, 4)):
        calibration, decision, rules = calibration_on_validation(_select_paths("_ls0.1", chosen))
        print(chosen, f"T {calibration['temperature']:.3f}", decision.as_card())
        reaching = sorted(
            (r for r in rules[1:] if r["mean_neutral_recall"] >= 0.65), key=lambda r: -r["emotion_recall"]
        )
        for rule in reaching[:8]:
            print("  ", _row(rule), f"mean neutral {100 * rule['mean_neutral_recall']:.2f}")


def baseline(_: argparse.Namespace) -> None:
    """LOCO UAR / neutral recall with log-probabilities centred on the speaker's mean
    (times alpha) or the corpus's: an upper bound, speakers being balanced by design."""
    for name in CORPORA:
        with np.load(RUNS / f"loco_ls0.1_probs_{name}_{EPOCH}.npz") as f:
            probs, labels, own = f["probs"], f["label"], f["own"]
        with np.load(RUNS / f"maps_{name}.npz") as f:
            speakers = f["speaker"]
        logp = np.log(np.clip(probs, 1e-7, 1.0))

        def score(z: np.ndarray, own: np.ndarray = own, labels: np.ndarray = labels) -> str:
            uar = unweighted_recall(own_class_predictions(z, own), labels)
            return f"{100 * uar:.1f} / {100 * np.mean(z[labels == 0].argmax(axis=1) == 0):.0f}"

        cells = [score(logp)]
        for alpha in (0.5, 1.0):
            z = logp.copy()
            for speaker in np.unique(speakers):
                mine = speakers == speaker
                z[mine] -= alpha * z[mine].mean(axis=0)
            cells.append(score(z))
        cells.append(score(logp - logp.mean(axis=0)))
        print(name, " | ".join(cells))


def tracks(_: argparse.Namespace) -> None:
    """LOCO clips grouped into simulated tracks per speaker, centred on the track's own mean
    log-probabilities (alpha 0, 0.5, 1): "mostly neutral" (the speaker's neutral clips and a
    third as many emotional ones, drawn at random) and "one emotion" (one class's clips).
    Neutral recall and emotion recall (own classes) on the first, accuracy on the second."""
    rng = np.random.default_rng(0)
    for name in CORPORA:
        with np.load(RUNS / f"loco_ls0.1_probs_{name}_{EPOCH}.npz") as f:
            probs, labels, own = f["probs"], f["label"], f["own"]
        with np.load(RUNS / f"maps_{name}.npz") as f:
            speakers = f["speaker"]
        logp = np.where(own, np.log(np.clip(probs, 1e-7, 1.0)), -np.inf)
        cells = []
        for alpha in (0.0, 0.5, 1.0):
            neutral_hits, emotion_hits, single_hits = [], [], []
            for speaker in np.unique(speakers):
                mine = np.flatnonzero(speakers == speaker)
                neutral = mine[labels[mine] == 0]
                emotional = mine[labels[mine] != 0]
                if len(neutral) and len(emotional):
                    drawn = rng.choice(emotional, size=max(1, len(neutral) // 3), replace=False)
                    track = np.concatenate([neutral, drawn])
                    pred = _centred(logp[track], alpha).argmax(axis=1)
                    neutral_hits.extend(pred[: len(neutral)] == 0)
                    emotion_hits.extend(pred[len(neutral) :] == labels[drawn])
                for k in np.unique(labels[mine]):
                    track = mine[labels[mine] == k]
                    single_hits.extend(_centred(logp[track], alpha).argmax(axis=1) == k)
            cells.append(
                f"{100 * np.mean(neutral_hits):.0f}/{100 * np.mean(emotion_hits):.0f}/"
                f"{100 * np.mean(single_hits):.0f}"
            )
        print(name, "neutral/emotions (mostly neutral) / accuracy (one emotion), alpha 0, 0.5, 1:", cells)


def per_corpus(_: argparse.Namespace) -> None:
    """Per corpus of folds 1 + 0 (the card's T): the arg-max, the shipped rule, and the
    rule of that corpus's own that reaches 70 % neutral recall at the least cost to the
    other emotions (recall over the classes besides neutral and calm)."""
    card = json.loads(Path("tagger/models/default.card.json").read_text())
    probs, labels, corpora = _validation_clips("_ls0.1", card["calibration"]["temperature"])
    shipped = Decision.from_card(card)

    def recalls(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        others = [float(np.mean(pred[y == k] == k)) for k in np.unique(y) if k not in (0, 1)]
        return float(np.mean(pred[y == 0] == 0)), float(np.mean(others))

    for c in np.unique(corpora):
        p, y = probs[corpora == c], labels[corpora == c]
        rules = [
            (*recalls(decide(p, Decision("neutral_group", float(w), calm))[0], y), float(w), calm)
            for w in np.arange(0.5, 4.01, 0.125)
            for calm in (1.0, 2.0, 3.0, 5.0, 10.0)
        ]
        best = max((r for r in rules if r[0] >= 0.7), key=lambda r: r[1], default=None)
        print(
            CORPORA[c],
            "arg-max {:.2f} / {:.3f}".format(*recalls(decide(p)[0], y)),
            "shipped {:.2f} / {:.3f}".format(*recalls(decide(p, shipped)[0], y)),
            "own best {:.2f} / {:.3f} at {:g} / {:g}".format(*best)
            if best
            else "own best: none reaches 70 %",
        )


def _centred(logp: np.ndarray, alpha: float) -> np.ndarray:
    finite = np.isfinite(logp[0])
    out = logp.copy()
    out[:, finite] -= alpha * logp[:, finite].mean(axis=0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.tail_neutral", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    commands = (confusions, recipes, evidence, loco_evidence, folds, baseline, tracks, per_corpus)
    for command in commands:
        p = sub.add_parser(command.__name__)
        if command is recipes:
            p.add_argument("recipe", nargs="+")
    args = parser.parse_args(argv)
    {command.__name__: command for command in commands}[args.command](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
