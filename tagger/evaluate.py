"""Evaluate a model on a labelled manifest: clip-level metrics and a plain-text report.

:func:`evaluate_manifest` backs ``emotag evaluate MANIFEST``; clips are cut and scored
exactly as in training (:mod:`tagger.training.dataset`, :mod:`tagger.training.metrics`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tagger.affect import arousal_order
from tagger.constants import EMOTIONS
from tagger.decision import decide
from tagger.errors import DatasetError
from tagger.frontend import FrontEndConfig
from tagger.model import load_model
from tagger.pipeline import frontend_for
from tagger.training.dataset import extract_clips, model_inputs, read_folds, read_manifest
from tagger.training.metrics import classification_metrics, clip_probabilities, neutral_scores, score_clips

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["arousal_order", "evaluate_manifest", "format_report", "speakers_in_fold"]


def evaluate_manifest(
    manifest_path: str | os.PathLike[str],
    *,
    model_path: str | os.PathLike[str] | None = None,
    fold: int | None = None,
) -> dict[str, Any]:
    """Clip-level accuracy, macro-F1, UAR and per-class report of a model on a manifest.

    ``manifest_path``: TSV with ``path`` (relative to the manifest's folder) and
    ``emotion`` (label name). Clip prediction = mean of the calibrated window
    probabilities over speech windows (all windows when none is speech). macro-F1 and
    UAR average over the classes present in the manifest only. ``model_path`` defaults
    to the shipped model.

    Also: ``own_classes``, the same predictions scored as the arg-max among the classes the
    manifest labels (a corpus without calm or disgust); and, from the speaker column
    (``actor`` or ``speaker``) against the model card's training speakers,
    ``seen_speaker_clips`` and ``unseen_speakers``: the scores on the clips of speakers the
    model never heard (speaker-independent figures), ``None`` when there is none.

    ``fold``: score only the clips of the speakers that the ``folds.tsv`` beside the
    manifest puts in that fold (a corpus's test speakers, for instance).
    """
    classifier = load_model(model_path)
    frame = read_manifest(manifest_path)
    if fold is not None:
        frame = speakers_in_fold(frame, Path(manifest_path).parent / "folds.tsv", fold=fold)
    clips = extract_clips(frame, config=frontend_for(classifier, FrontEndConfig()), drop_duplicates=False)
    window_probs = classifier.predict_inputs(model_inputs(clips, classifier.input_name))
    clip_probs = clip_probabilities(clips, window_probs)
    clip_pred = decide(clip_probs, classifier.decision)[0]
    metrics = classification_metrics(clips.labels, clip_pred)
    window_pred = decide(window_probs, classifier.decision)[0]
    classes = sorted({int(c) for c in clips.labels})
    trained_on = {int(a) for a in classifier.card.get("training", {}).get("actors", [])}
    seen = np.isin(clips.actors, list(trained_on)) & (clips.actors >= 0)
    unseen = ~seen & (clips.actors >= 0)
    return {
        "manifest": str(manifest_path),
        "fold": fold,
        "model_version": classifier.version,
        "n_clips": clips.n_clips,
        "n_windows": len(clips.clip),
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "uar": metrics["uar"],
        "window_accuracy": float(np.mean(window_pred == clips.window_labels())),
        "decision": classifier.decision.as_card(),
        "neutral_recall": neutral_scores(clips.labels, clip_probs, classifier.decision)["neutral_recall"],
        "per_class": metrics["per_class"],
        "confusion": metrics["confusion"],
        "classes": list(EMOTIONS),
        "own_classes": {
            "classes": [EMOTIONS[c] for c in classes],
            **_brief(score_clips(clips.labels, clip_probs, classes)),
        },
        "arousal": arousal_order(clips.labels, clip_probs),
        "seen_speaker_clips": int(seen.sum()),
        "unseen_speakers": (
            {
                "n_speakers": len(set(clips.actors[unseen].tolist())),
                "all_classes": _brief(score_clips(clips.labels[unseen], clip_probs[unseen])),
                "own_classes": _brief(score_clips(clips.labels[unseen], clip_probs[unseen], classes)),
            }
            if unseen.any()
            else None
        ),
    }


def speakers_in_fold(frame: pd.DataFrame, folds_path: Path, *, fold: int) -> pd.DataFrame:
    """The rows of :func:`read_manifest`'s ``frame`` whose speaker ``folds_path`` puts in
    ``fold``; a clear error when the file is missing or the fold holds none of its clips."""
    folds = read_folds(folds_path)
    keep = frame["actor"].map(lambda actor: folds.get(int(actor)) == fold)
    if not keep.any():
        raise DatasetError(f"no clip of the manifest is by a speaker of fold {fold} in {folds_path}")
    return frame[keep].reset_index(drop=True)


def _brief(score: dict[str, Any]) -> dict[str, Any]:
    return {k: score[k] for k in ("clip_accuracy", "macro_f1", "uar", "n")}


def _per_class_table(per_class: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        f"{'emotion':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}",
    ]
    for emotion in EMOTIONS:
        row = per_class.get(emotion)
        if row is None:
            continue
        lines.append(
            f"{emotion:<10} {row['precision']:>9.3f} {row['recall']:>7.3f} "
            f"{row['f1']:>6.3f} {int(row['support']):>7d}"
        )
    return lines


def format_report(result: dict[str, Any]) -> str:
    """Plain-text report of :func:`evaluate_manifest`'s result: headline metrics and the
    per-class precision / recall / F1 / support table."""
    lines = [
        f"model     {result['model_version']}",
        f"clips     {result['n_clips']}  (windows {result['n_windows']})"
        + (f", the speakers of fold {result['fold']}" if result.get("fold") is not None else ""),
        f"accuracy  {result['accuracy']:.3f}",
        f"macro-F1  {result['macro_f1']:.3f}",
        f"UAR       {result['uar']:.3f}",
        f"window accuracy {result['window_accuracy']:.3f}",
    ]
    if result.get("neutral_recall") is not None:
        decision = result.get("decision") or {"rule": "argmax"}
        lines.append(f"neutral recall {result['neutral_recall']:.3f}  (decision: {decision['rule']})")
    own = result["own_classes"]
    if len(own["classes"]) < len(EMOTIONS):
        lines.append(
            f"among its {len(own['classes'])} classes ({', '.join(own['classes'])}): accuracy "
            f"{own['clip_accuracy']:.3f}, UAR {own['uar']:.3f}"
        )
    if result["seen_speaker_clips"]:
        unseen = result["unseen_speakers"]
        lines.append(
            f"note: {result['seen_speaker_clips']} of {result['n_clips']} clips are by speakers "
            "this model was trained on; the figures above are not speaker-independent"
        )
        if unseen is not None:
            lines.append(
                f"speakers it never heard ({unseen['n_speakers']}, {unseen['all_classes']['n']} clips): "
                f"accuracy {unseen['all_classes']['clip_accuracy']:.3f}, "
                f"UAR {unseen['all_classes']['uar']:.3f}; among the manifest's classes: accuracy "
                f"{unseen['own_classes']['clip_accuracy']:.3f}, UAR {unseen['own_classes']['uar']:.3f}"
            )
    arousal = result.get("arousal")
    if arousal:
        rho = arousal["spearman_rho"]
        means = ", ".join(f"{name} {value:+.2f}" for name, value in arousal["mean_by_emotion"].items())
        lines.append(
            f"mean arousal by true emotion: {means}; Spearman rho against "
            f"angry/happy/fearful/surprised > neutral > sad/calm: {'n/a' if rho is None else f'{rho:.2f}'}"
        )
    lines += ["", *_per_class_table(result["per_class"])]
    return "\n".join(lines)
