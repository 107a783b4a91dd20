"""Ship the fine-tuned AudioSet tail (:mod:`tagger.training.mn04`): model files, calibration,
decision rule, the figures measured through the shipped pipeline, and its card.

Everything chosen here is chosen on the validation speakers (fold 1, the ``select`` run):
the epochs, the temperature, the abstain threshold and the decision weights. The test
speakers (fold 2) and the left-out corpora are only scored.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tagger.calibration import (
    apply_temperature,
    coverage_table,
    decision_calibration_error,
    expected_calibration_error,
    fit_temperature,
    pick_threshold,
)
from tagger.constants import EMOTIONS
from tagger.decision import ARGMAX, Decision

__all__ = ["TAIL_KIND", "tail_card_markdown", "write_shipped"]

TAIL_KIND = "mn04_tail"
RECIPE = {
    "trunk": "EfficientAT mn04_as, blocks 1-10 frozen and shared with the scene gate",
    "trained": "blocks 11-15, the final 1x1 conv (BatchNorm frozen) and a dense head over 8 classes",
    "optimiser": "Adam, 1e-4 for the blocks, 3e-4 for the head, batch 32 clips of equal length",
    "loss": "masked cross-entropy: classes a corpus lacks are masked; neutral absorbs calm "
    "in the corpora without calm (tagger.training.labels)",
    "sampling": "corpora equal, classes within a corpus equal, clips within a class equal",
    "copies": "the clean clip (40 % of draws) or one of 3 perturbed copies: real noise, coloured "
    "noise or a song at 0-30 dB SNR (songs 0-20 dB) for 75 % of copies, then a gain of -30..+20 dB "
    "with clipping up to 20 dB over full scale",
    "context": "each clip's map comes from one trunk run over the clip (up to 12.8 s), the tail "
    "trains on the clip's map alone; at inference the tail runs on a window's stretch of the "
    "segment's map, so its squeeze-excitation averages see one utterance, as in training",
}


def _clip_means(window_probs: np.ndarray, clip_of: np.ndarray, n: int) -> np.ndarray:
    total = np.zeros((n, window_probs.shape[1]))
    np.add.at(total, clip_of, window_probs)
    out: np.ndarray = total / np.bincount(clip_of, minlength=n)[:, None]
    return out


def calibration_on_validation(
    select_probs: list[Path],
) -> tuple[dict[str, Any], Decision, list[dict[str, Any]]]:
    """Temperature and abstain threshold from the validation speakers' windows (of every
    ``select`` run given: fold 1's, and fold 0's when it ran), then the decision weights
    from their calibrated clip probabilities (:func:`tagger.training.mn04.choose_decision`)."""
    from tagger.training.mn04 import choose_decision

    parts: dict[str, list[np.ndarray]] = {"window_probs": [], "window_clip": [], "label": [], "corpus": []}
    for path in select_probs:
        with np.load(path) as f:
            offset = sum(len(labels) for labels in parts["label"])
            parts["window_probs"].append(f["window_probs"])
            parts["window_clip"].append(f["window_clip"] + offset)
            parts["label"].append(f["label"])
            parts["corpus"].append(f["corpus"])
    windows, clip_of, labels, corpus = (np.concatenate(parts[k]) for k in parts)
    window_labels = labels[clip_of]
    temperature = fit_temperature(windows, window_labels)
    calibrated = apply_temperature(windows, temperature)
    table = coverage_table(calibrated, window_labels)
    calibration = {
        "temperature": temperature,
        "fitted_on": "windows of the validation speakers: " + ", ".join(p.name for p in select_probs),
        "n_windows": int(window_labels.size),
        "ece_before": expected_calibration_error(windows, window_labels),
        "ece_after": expected_calibration_error(calibrated, window_labels),
        "ece_bins": 15,
        "coverage_table": table,
        "abstain_threshold": pick_threshold(table, min_coverage=0.8),
        "abstain_min_coverage": 0.8,
    }
    decision, rules = choose_decision(_clip_means(calibrated, clip_of, len(labels)), labels, corpus)
    calibration["label_ece_after"] = decision_calibration_error(calibrated, window_labels, decision)
    return calibration, decision, rules


def pipeline_scores(
    model_path: Path, root: Path, *, fold: int
) -> tuple[dict[str, Any], dict[str, float], dict[str, float]]:
    """Per corpus, the shipped pipeline's figures on the speakers of ``fold``: the front end
    with the model's tail, calibrated window probabilities, clip = mean over speech
    windows; scores over 8 classes and the corpus's own, neutral under the arg-max and the
    card's rule, the arousal order. Also each corpus's ECE on those windows (and pooled,
    ``all``): of the top probability, and of what the catalogue stores, the decided label
    and its confidence (:func:`tagger.calibration.decision_calibration_error`)."""
    from tagger.affect import arousal_order
    from tagger.frontend import FrontEndConfig
    from tagger.model import load_model
    from tagger.pipeline import frontend_for
    from tagger.training.dataset import extract_clips, model_inputs, read_folds, read_manifest
    from tagger.training.metrics import clip_probabilities, neutral_scores, per_corpus_scores
    from tagger.training.mn04 import CORPORA

    classifier = load_model(model_path)
    config = frontend_for(classifier, FrontEndConfig())
    out: dict[str, Any] = {}
    ece: dict[str, float] = {}
    label_ece: dict[str, float] = {}
    pooled: list[tuple[np.ndarray, np.ndarray]] = []
    for name in CORPORA:
        manifest = root / name / "manifest.tsv"
        folds = read_folds(manifest.parent / "folds.tsv")
        frame = read_manifest(manifest)
        frame = frame[[folds.get(int(a)) == fold for a in frame["actor"]]]
        clips = extract_clips(frame, config=config, drop_duplicates=False)
        window_probs = classifier.predict_inputs(model_inputs(clips, classifier.input_name))
        probs = clip_probabilities(clips, window_probs)
        labels = clips.labels
        score = per_corpus_scores(labels, probs, np.zeros(len(labels), dtype=int), [name])[name]
        score["arousal"] = arousal_order(labels, probs)
        score["neutral"] = {
            "argmax": neutral_scores(labels, probs, ARGMAX),
            "decided": neutral_scores(labels, probs, classifier.decision),
        }
        speech = clips.is_speech
        score["speech_window_share"] = float(speech.mean())
        windows, truth = window_probs[speech], clips.window_labels()[speech]
        ece[name] = expected_calibration_error(windows, truth)
        label_ece[name] = decision_calibration_error(windows, truth, classifier.decision)
        pooled.append((windows, truth))
        out[name] = score
        print(
            f"{name}: UAR {100 * score['uar']:.1f} (own {100 * score['own_classes']['uar']:.1f})", flush=True
        )
    windows, truth = np.concatenate([p for p, _ in pooled]), np.concatenate([y for _, y in pooled])
    ece["all"] = expected_calibration_error(windows, truth)
    label_ece["all"] = decision_calibration_error(windows, truth, classifier.decision)
    return out, ece, label_ece


def recipe_flags(label_smoothing: float, neutral_aux: float) -> str:
    """The command-line flags of a recipe, as the card's reproduce lines write them."""
    return (f" --label-smoothing {label_smoothing:g}" if label_smoothing else "") + (
        f" --neutral-aux {neutral_aux:g}" if neutral_aux else ""
    )


def loco_scores(
    out: Path, epochs: int, *, label_smoothing: float = 0.0, neutral_aux: float = 0.0
) -> dict[str, Any]:
    """The leave-one-corpus-out runs at ``epochs`` (of the recipe with ``label_smoothing``
    and ``neutral_aux``):
    UAR over the left-out corpus's own classes and 8-way neutral recall (arg-max), as the
    card's ``loco`` table reads them."""
    from tagger.training.mn04 import CORPORA, own_class_predictions, smoothing_suffix, unweighted_recall

    result: dict[str, Any] = {}
    for name in CORPORA:
        path = out / f"loco{smoothing_suffix(label_smoothing, neutral_aux)}_probs_{name}_{epochs}.npz"
        if not path.is_file():
            continue
        with np.load(path) as f:
            probs, labels, own = f["probs"], f["label"], f["own"]
        pred = own_class_predictions(probs, own)
        neutral = labels == 0
        result[name] = {
            "uar": unweighted_recall(pred, labels),
            "clip_accuracy": float(np.mean(pred == labels)),
            "n": int(labels.size),
            "neutral_recall_8way": float(np.mean(probs[neutral].argmax(axis=1) == 0))
            if neutral.any()
            else None,
        }
    return result


def write_shipped(args: argparse.Namespace) -> dict[str, Any]:
    """Copy the test run's model after ``args.epochs`` into ``args.models`` as ``default``,
    export it, write its card and ``MODEL_CARD.md``; returns the card."""
    from tagger.export import export_litert, litert_card_entry
    from tagger.frontend import FrontEndConfig
    from tagger.model import check_card, file_sha256
    from tagger.quiet import import_keras
    from tagger.training.card import datasets_entry
    from tagger.training.config import TrainConfig
    from tagger.training.dataset import read_folds, read_manifest
    from tagger.training.mn04 import CORPORA, TEST_FOLD
    from tagger.training.speed import benchmark_windows_per_s

    epochs, models, out = args.epochs, args.models, args.out
    if args.loco_only:
        return attach_loco(models, out, epochs)
    from tagger.training.mn04 import CALIBRATION_FOLDS, VAL_FOLD, smoothing_suffix

    ls = smoothing_suffix(args.label_smoothing, args.neutral_aux)
    flag = recipe_flags(args.label_smoothing, args.neutral_aux)
    by_fold = {
        fold: out / f"select{'' if fold == VAL_FOLD else f'_f{fold}'}{ls}_probs_{epochs}.npz"
        for fold in CALIBRATION_FOLDS
    }
    by_fold = {fold: path for fold, path in by_fold.items() if path.is_file()}
    validation = list(by_fold.values())
    calibration, decision, rules = calibration_on_validation(validation)
    model_path = models / "default.keras"
    shutil.copyfile(out / f"test{ls}_tail_{epochs}.keras", model_path)
    model = import_keras().saving.load_model(model_path, safe_mode=True, compile=False)
    litert_path = export_litert(model, model_path.with_suffix(".tflite"))
    digest = file_sha256(model_path)
    front = FrontEndConfig()
    actors: list[int] = []
    test_actors: list[int] = []
    n_clips = 0
    for name in CORPORA:
        manifest = args.root / name / "manifest.tsv"
        folds = read_folds(manifest.parent / "folds.tsv")
        frame = read_manifest(manifest)
        n_clips += int(sum(folds.get(int(a)) != TEST_FOLD for a in frame["actor"]))
        for actor, fold in folds.items():
            (test_actors if fold == TEST_FOLD else actors).append(actor)
    recipe = TrainConfig(noise_dir=str(args.root / "noise"), music_dir=str(args.root / "music"))
    card: dict[str, Any] = {
        "name": args.name,
        "version": f"{args.name}-{digest[:12]}",
        "sha256": digest,
        "classes": list(EMOTIONS),
        "input": {
            "name": "scene_map",
            "shape": [8, -1, 32],
            "description": "block 10's feature map of the scene gate's AudioSet trunk (8 mel rows x "
            "16-frame columns x 32 channels), each window's own stretch of it; the model gives "
            "logits per 32-frame step, averaged over the window",
        },
        "architecture": {
            "kind": TAIL_KIND,
            "map_block": 10,
            "epochs": epochs,
            "dropout": 0.3,
            "label_smoothing": args.label_smoothing,
            "neutral_aux": args.neutral_aux,
            **RECIPE,
            "loss": RECIPE["loss"]
            + (
                f"; label smoothing {args.label_smoothing:g}: that share of the loss spread evenly over "
                "the classes the clip's corpus tells apart"
                if args.label_smoothing
                else ""
            )
            + (
                f"; plus {args.neutral_aux:g} x a binary cross-entropy of the neutral-or-calm "
                "probability mass against whether the clip is neutral or calm, group and emotional "
                "draws weighing half each in every corpus"
                if args.neutral_aux
                else ""
            ),
        },
        "window_config": {
            "window_s": front.window.window_s,
            "hop_s": front.window.hop_s,
            "sample_rate": front.window.sample_rate,
            "min_fraction": front.window.min_fraction,
        },
        "clip_prediction": "mean of window probabilities over speech windows (all if none)",
        "training": {
            **datasets_entry(list(CORPORA), recipe),
            "manifests": [str(args.root / c / "manifest.tsv") for c in CORPORA],
            "corpora": list(CORPORA),
            "n_clips": n_clips,
            "actors": sorted(actors),
            "test_fold": TEST_FOLD,
            "test_actors": sorted(test_actors),
            "validation_folds": list(by_fold),
            "seed": 0,
            "trained_on": f"folds 0, 1, 3, 4 of every corpus; fold {TEST_FOLD} (test speakers) held out",
            "pretrained": "EfficientAT mn04_as (MIT), ../shared/pretrained/efficientat-mn04",
        },
        "calibration": calibration,
        "decision": decision.as_card(),
        "decision_search": {
            "chosen_on": "calibrated clip probabilities of the validation speakers",
            "rule": "among the rules whose 8-way neutral recall, mean over the corpora, is >= 70 %, "
            "the one keeping the most mean recall over the other emotions (none reaching it: the "
            "largest mean neutral recall); ties: the smaller weights",
            "rules": rules,
        },
        "runtime": {"litert": litert_card_entry(litert_path, sha256=file_sha256(litert_path))},
        "size_bytes": model_path.stat().st_size,
        "reproduce": [
            "python -m tagger.training.mn04 cache",
            "python -m tagger.training.mn04 select --epochs 28",
            *(
                [f"python -m tagger.training.mn04 select --epochs {epochs} --eval-every 100{flag}"]
                if flag
                else []
            ),
            *[
                f"python -m tagger.training.mn04 select --epochs {epochs} --eval-every 100 "
                f"--val-fold {fold}{flag}"
                for fold in by_fold
                if fold != VAL_FOLD
            ],
            f"python -m tagger.training.mn04 test --epochs {epochs} --keep-from {epochs}{flag}",
            f"python -m tagger.training.mn04 loco --epochs {epochs} --keep-from {epochs}{flag}",
            f"python -m tagger.training.mn04 ship --epochs {epochs}{flag}",
        ],
    }
    check_card(model, card)
    card_path = models / "default.card.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    card["windows_per_s_one_core"] = benchmark_windows_per_s(litert_path)
    card["test_per_corpus"], card["test_ece"], card["test_label_ece"] = pipeline_scores(
        model_path, args.root, fold=TEST_FOLD
    )
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    from tagger.training.card import model_card_markdown

    (models / "MODEL_CARD.md").write_text(model_card_markdown(card), encoding="utf-8")
    return attach_loco(models, out, epochs)


def attach_loco(models: Path, out: Path, epochs: int) -> dict[str, Any]:
    """Add the leave-one-corpus-out figures at ``epochs`` to the shipped card and render
    ``MODEL_CARD.md`` again (the model and every other figure unchanged)."""
    from tagger.training.card import model_card_markdown

    card_path = models / "default.card.json"
    card: dict[str, Any] = json.loads(card_path.read_text(encoding="utf-8"))
    arch = card.get("architecture", {})
    smoothing, aux = float(arch.get("label_smoothing") or 0.0), float(arch.get("neutral_aux") or 0.0)
    flag = recipe_flags(smoothing, aux)
    card["loco"] = {
        "command": f"python -m tagger.training.mn04 loco --epochs {epochs} --keep-from {epochs}{flag}",
        "corpora": loco_scores(out, epochs, label_smoothing=smoothing, neutral_aux=aux),
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (models / "MODEL_CARD.md").write_text(model_card_markdown(card), encoding="utf-8")
    return card


def _calibration_lines(card: dict[str, Any]) -> list[str]:
    """The card's calibration bullets: ECE of the top probability (validation, then test
    speakers) and of the catalogue's label and confidence, when measured."""
    cal = card["calibration"]

    def per_corpus(values: dict[str, float]) -> str:
        return ", ".join(f"{k} {100 * v:.1f}%" for k, v in values.items())

    text = (
        f"- calibration (ECE of the top probability): {100 * cal['ece_before']:.1f}% before, "
        f"{100 * cal['ece_after']:.1f}% after temperature scaling (validation windows)"
    )
    if card.get("test_ece"):
        text += "; on the test speakers' speech windows " + per_corpus(card["test_ece"])
    lines = [text + "."]
    if card.get("test_label_ece"):
        lines.append(
            "- calibration of what the catalogue stores (ECE of each window's decided label "
            "against its `confidence`): "
            + (f"validation {100 * cal['label_ece_after']:.1f}%; " if "label_ece_after" in cal else "")
            + "test speakers' speech windows "
            + per_corpus(card["test_label_ece"])
            + "."
        )
    return lines


def tail_card_markdown(card: dict[str, Any]) -> str:
    """``MODEL_CARD.md`` of a fine-tuned tail's card (:func:`write_shipped`)."""
    from tagger.training import card as cards

    cal, training, arch = card["calibration"], card["training"], card["architecture"]
    test = card.get("test_per_corpus", {})
    speed = card.get("windows_per_s_one_core")
    return "\n".join(
        [
            f"# Model card: {card['name']}",
            "",
            f"Version `{card['version']}` (`default.keras`, {card['size_bytes'] / 1e6:.2f} MB, and its "
            "LiteRT export `default.tflite`; machine-readable card: `default.card.json`).",
            "",
            "## What it does",
            "",
            "Classifies each 3 s window of audio (hop 1 s, 16 kHz mono) into one of eight "
            f"emotions: {', '.join(card['classes'])}. Input: {card['input']['description']}. "
            f"Output: calibrated probabilities (temperature {cal['temperature']:.2f}). "
            f"{cards._decision_text(card.get('decision'))} Windows whose label's evidence is below "
            f"{cal['abstain_threshold']:.1f} are labelled `uncertain`; windows without speech are "
            "labelled `no_speech` by the front end.",
            "",
            f"Architecture: the pretrained AudioSet network of the speech gate ({arch['trunk']}); "
            f"trained for emotion: {arch['trained']}. The tail reads the block-10 map the gate's "
            "trunk computes anyway (once per segment of a track): it runs on each window's own "
            "stretch of that map, its step logits averaged, so a window's emotion depends on the "
            f"window alone. {arch['epochs']} epochs; {arch['optimiser']}; {arch['loss']}; sampling: "
            f"{arch['sampling']}; training copies: {arch['copies']}. How it was chosen: "
            "`docs/model/experiments.md`.",
            "",
            *cards.INTENDED_USE_LINES,
            "Chosen on validation speakers: the epochs on fold 1 of every corpus (trained on folds 0, "
            "3, 4); the temperature, the abstain threshold and the decision weights on folds "
            f"{' and '.join(str(f) for f in training['validation_folds'])} (each scored by a "
            "model trained without it). "
            f"Test speakers (fold {training['test_fold']} of every corpus, never trained on, scored "
            "once through the shipped pipeline: front end, gate, LiteRT model, clip = mean of its "
            "speech windows):",
            "",
            *[f"- {name}: {cards._score_text(score)}" for name, score in test.items()],
            "",
            *cards._neutral_lines(test),
            *cards._arousal_lines(test),
            *cards._loco_lines(card.get("loco")),
            *_calibration_lines(card),
            *(
                [
                    f"- speed: {speed:.0f} windows/s for the model alone on one CPU core (batches "
                    "of 64 windows' stretches of the map; the shared trunk is the gate's cost)."
                ]
                if speed
                else []
            ),
            "",
            "Loudness, video-level and cross-corpus behaviour: `docs/model/experiments.md` "
            "(`benchmarks.model_level`, `benchmarks.video_level`).",
            "",
            "## Limits",
            "",
            *cards._limit_lines(list(training["corpora"])),
            "- Eight categories only; mixed, subtle or other emotions are forced into them or "
            "end up `uncertain`.",
            "- English acted speech scores lower than with the earlier model trained on RAVDESS "
            "and nEMO alone (`emotag-multi-c462afcc8466`, a CNN ensemble, on the same test "
            "actors), while Polish, Amharic, Italian and Korean score higher. Figures: "
            "`docs/model/experiments.md`, session 13.",
            "",
            "## Training data and licence",
            "",
            *[
                f"- {d['dataset']}. Licence: {d['licence']}."
                + (f" Citation: {d['citation']}" if d.get("citation") else "")
                for d in training["datasets"]
            ],
            f"- Pretrained network: {training['pretrained']}; see the gate's section below.",
            "",
            f"{training['note']}",
            "",
            "Reproduce: " + "; ".join(f"`{line}`" for line in card["reproduce"]) + ".",
            "",
            *cards._scene_gate_lines(),
        ]
    )
