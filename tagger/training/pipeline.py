"""The one way to train: cross-validate, calibrate, fit on everything, write model, card and report.

:func:`train` takes a :class:`TrainOptions`; ``python -m tagger.training``, ``emotag train``
and the ``train-model`` flow all build one and call it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tagger.affect import arousal_order
from tagger.calibration import apply_temperature
from tagger.decision import ARGMAX
from tagger.errors import DatasetError
from tagger.export import export_litert, litert_card_entry
from tagger.model import check_card, file_sha256
from tagger.training.augment import training_noise
from tagger.training.calibrate import calibrate
from tagger.training.card import datasets_entry, model_card, model_card_markdown, recipe_dict, save_ensemble
from tagger.training.config import TrainOptions, add_train_arguments, options_from_args
from tagger.training.crossval import ModelRow, cross_validate, random_split_paper, row_summary
from tagger.training.dataset import (
    ClipSet,
    clip_folds,
    default_folds,
    extract_clips,
    model_inputs,
    read_folds,
    read_manifest,
)
from tagger.training.fit import fit_members, predict_network
from tagger.training.labels import corpus_classes, label_targets
from tagger.training.metrics import brief_score, clip_probabilities, neutral_scores, per_corpus_scores
from tagger.training.report import write_report

__all__ = ["TrainResult", "build_parser", "main", "run_from_args", "train"]


@dataclass
class TrainResult:
    """What :func:`train` produced: paths of the written files, the card and report dicts,
    and the cross-validation rows (out-of-fold predictions) behind the report."""

    model_path: Path
    card_path: Path
    report_dir: Path
    card: dict[str, Any]
    report: dict[str, Any]
    rows: list[ModelRow] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready headline of the run: written paths, model version and sha256,
        calibration, speed, and clip accuracy / macro-F1 / UAR (± across folds) of every
        evaluated row (our model last)."""
        calibration = self.card["calibration"]
        return {
            "model_path": str(self.model_path),
            "card_path": str(self.card_path),
            "report_dir": str(self.report_dir),
            "version": str(self.card["version"]),
            "sha256": str(self.card["sha256"]),
            "temperature": float(calibration["temperature"]),
            "abstain_threshold": float(calibration["abstain_threshold"]),
            "windows_per_s_one_core": self.card.get("windows_per_s_one_core"),
            "elapsed_s": float(self.report["elapsed_s"]),
            "rows": [
                {
                    "name": str(row["name"]),
                    "split": str(row["split"]),
                    "clip_accuracy": float(row["clip_accuracy"]),
                    "macro_f1": float(row["macro_f1"]),
                    "uar": float(row["uar"]),
                    "accuracy_std": float(row["fold_std"].get("accuracy", 0.0)),
                }
                for row in self.report["rows"]
            ],
        }


@dataclass(frozen=True)
class Corpora:
    """The clips of every corpus of a run, concatenated in manifest order.

    ``clips``: all clips; per clip (``n_clips``): ``corpus`` (index into ``names``) and
    ``fold``; per window: ``targets`` ``(n_windows, 16)`` (:func:`label_targets` of its
    corpus); ``x_noisy``: noisy copies of the network inputs, or ``None``."""

    names: list[str]
    clips: ClipSet
    corpus: np.ndarray
    fold: np.ndarray
    targets: np.ndarray
    x_noisy: np.ndarray | None

    def subset(self, keep: np.ndarray) -> Corpora:
        windows = keep[self.clips.clip]
        return Corpora(
            names=self.names,
            clips=self.clips.subset(keep),
            corpus=self.corpus[keep],
            fold=self.fold[keep],
            targets=self.targets[windows],
            x_noisy=None if self.x_noisy is None else self.x_noisy[:, windows],
        )


def _corpus_cache(cache: Path | None, index: int, manifest: Path) -> Path | None:
    """The first corpus's cache is ``cache``; corpus ``index`` > 0 gets ``<stem>-<folder>.npz``."""
    if cache is None or index == 0:
        return cache
    return cache.with_name(f"{cache.stem}-{manifest.resolve().parent.name}{cache.suffix}")


def _load_corpora(options: TrainOptions, *, log: Callable[[str], Any]) -> Corpora:
    names, sets, folds, targets, noisy = [], [], [], [], []
    cache = Path(options.cache) if options.cache is not None else None
    for index, (manifest, folds_path) in enumerate(options.manifests()):
        corpus_cache = _corpus_cache(cache, index, manifest)
        if corpus_cache is not None and corpus_cache.is_file():
            clips = ClipSet.load(corpus_cache)
        else:
            clips = extract_clips(read_manifest(manifest))
            if corpus_cache is not None:
                clips.save(corpus_cache)
        if folds_path is not None and folds_path.is_file():
            fold_of_actor = read_folds(folds_path)
        elif index == 0 and folds_path is None:
            fold_of_actor = default_folds(clips.actors)
        else:
            raise DatasetError(f"{manifest}: a second corpus needs folds.tsv beside its manifest")
        names.append(manifest.resolve().parent.name)
        sets.append(clips)
        folds.append(clip_folds(clips, fold_of_actor))
        present = corpus_classes(clips.labels)
        targets.append(label_targets(clips.window_labels(), present))
        noisy.append(training_noise(clips, options.recipe, seed=options.seed, cache=corpus_cache, log=log))
        log(f"{names[-1]}: {clips.n_clips} clips, {len(clips.clip)} windows")
    have_noise = all(n is not None for n in noisy)
    return Corpora(
        names=names,
        clips=ClipSet.concat(sets),
        corpus=np.concatenate([np.full(s.n_clips, i) for i, s in enumerate(sets)]),
        fold=np.concatenate(folds),
        targets=np.concatenate(targets),
        x_noisy=np.concatenate([n for n in noisy if n is not None], axis=1) if have_noise else None,
    )


def train(options: TrainOptions, *, log: Callable[[str], Any] = print) -> TrainResult:
    """Cross-validate, calibrate, train on everything and write the model, card and report.

    Writes ``<out_dir>/<model_filename>.keras``, ``.card.json`` and ``MODEL_CARD.md``;
    ``report.md``, ``report.json``, ``confusion.png`` and ``oof_probs.npz`` (the
    cross-validation's out-of-fold calibrated clip probabilities with their labels, corpus
    and speaker: the set to choose a decision rule on) into ``options.reports_path()``.
    See :class:`TrainOptions` for the corpora, folds, test fold, baselines, cache and
    benchmark options. Several corpora: CV folds are the union of their fold ids; the
    report and card give figures per corpus.
    """
    started = time.time()
    config = options.recipe
    out = Path(options.out_dir)
    reports = options.reports_path()
    seed = options.seed
    everything = _load_corpora(options, log=log)
    test_mask = (
        everything.fold == options.test_fold
        if options.test_fold is not None
        else np.zeros(everything.clips.n_clips, dtype=bool)
    )
    if options.test_fold is not None and not test_mask.any():
        raise DatasetError(f"test fold {options.test_fold} holds no clip")
    data = everything.subset(~test_mask)
    clips, clip_fold = data.clips, data.fold
    log(f"{clips.n_clips} clips, {len(clips.clip)} windows for CV and training")
    mconfig = config.model_config()
    several = len(data.names) > 1
    targets = data.targets if several or not data.targets[:, 8:].all() else None
    groups = data.corpus[clips.clip] if several and config.balance_corpora else None

    ours = cross_validate(
        clips, clip_fold, method="network", config=config, seed=seed, x_noisy=data.x_noisy,
        targets=targets, groups=groups, log=log,
    )  # fmt: skip
    ours.name = f"ours ({mconfig.kind})"
    rows = [ours]
    if options.baselines:
        paper = cross_validate(clips, clip_fold, method="paper", config=config, seed=seed, log=log)
        paper.name = "paper (40 MFCC means, Conv1D)"
        paper_random = random_split_paper(clips, config=config, seed=seed)
        paper_random.name = paper.name
        svm = cross_validate(clips, clip_fold, method="svm", config=config, seed=seed, log=log)
        svm.name = "SVM (RBF, 161 window aggregates)"
        rows = [paper, paper_random, svm, ours]
    for row in rows:
        summary = row_summary(row)
        log(
            f"{row.name} / {row.split}: clip accuracy {100 * summary['clip_accuracy']:.1f}%, "
            f"macro-F1 {100 * summary['macro_f1']:.1f}%, UAR {100 * summary['uar']:.1f}%"
        )
    cv_per_corpus = per_corpus_scores(clips.labels, ours.clip_probs, data.corpus, data.names)
    for name, score in cv_per_corpus.items():
        index = data.names.index(name)
        per_fold = {
            int(k): float(np.mean(ours.clip_probs[mask].argmax(axis=1) == clips.labels[mask]))
            for k in sorted(set(clip_fold.tolist()))
            if (mask := (clip_fold == k) & (data.corpus == index)).any()
        }
        score["per_fold_accuracy"] = per_fold
        folds_text = ", ".join(f"fold {k} {100 * v:.1f}%" for k, v in per_fold.items())
        log(f"{ours.name} on {name}: {brief_score(score)}; {folds_text}")
    calibration = calibrate(clips, ours)
    if ours.window_probs is not None:  # out-of-fold clip probabilities, to choose decision rules on
        reports.mkdir(parents=True, exist_ok=True)
        np.savez(
            reports / "oof_probs.npz",
            probs=clip_probabilities(clips, apply_temperature(ours.window_probs, calibration["temperature"])),
            labels=clips.labels,
            corpus=np.asarray(data.corpus),
            corpora=np.asarray(data.names),
            actors=clips.actors,
        )

    x_all = model_inputs(clips, mconfig.input_name)
    members = fit_members(
        x_all,
        clips.window_labels(),
        config=config,
        seed=seed,
        x_noisy=data.x_noisy,
        targets=targets,
        groups=groups,
    )
    model_path = out / f"{options.model_filename}.keras"
    model = save_ensemble(members, model_path)
    test_per_corpus: dict[str, Any] = {}
    if test_mask.any():
        test = everything.subset(test_mask)
        window_probs = predict_network(model, model_inputs(test.clips, mconfig.input_name))
        test_probs = clip_probabilities(test.clips, window_probs)
        test_per_corpus = per_corpus_scores(test.clips.labels, test_probs, test.corpus, test.names)
        # Decisions are taken on calibrated probabilities, as the shipped model gives them.
        calibrated = clip_probabilities(
            test.clips, apply_temperature(window_probs, calibration["temperature"])
        )
        for index, name in enumerate(test.names):
            mine = test.corpus == index
            if name in test_per_corpus:
                labels = test.clips.labels[mine]
                test_per_corpus[name]["arousal"] = arousal_order(labels, calibrated[mine])
                test_per_corpus[name]["neutral"] = {
                    "argmax": neutral_scores(labels, calibrated[mine], ARGMAX),
                    "decided": neutral_scores(labels, calibrated[mine], options.decision),
                }
        for name, score in test_per_corpus.items():
            log(f"test fold {options.test_fold}, {name}: {brief_score(score)}")
    litert_path = export_litert(model, model_path.with_suffix(".tflite"))
    windows_per_s = None
    if options.benchmark:
        # Imported here: ``python -m tagger.training.speed`` must not find itself imported
        # by this package already.
        from tagger.training.speed import benchmark_windows_per_s

        windows_per_s = benchmark_windows_per_s(litert_path)
    test_actors = everything.clips.actors[test_mask]
    card = model_card(
        model_path,
        name=options.name,
        model_config=mconfig,
        recipe=config,
        training={
            "manifests": [str(m) for m, _ in options.manifests()],
            "corpora": data.names,
            "n_clips": clips.n_clips,
            "n_windows": len(clips.clip),
            "actors": sorted({int(a) for a in clips.actors}),
            "seed": seed,
            "test_fold": options.test_fold,
            "test_actors": sorted({int(a) for a in test_actors}),
        },
        cv_metrics=row_summary(ours),
        calibration=calibration,
        windows_per_s=windows_per_s,
    )
    card["cv_per_corpus"] = cv_per_corpus
    card["decision"] = options.decision.as_card()
    if test_per_corpus:
        card["test_per_corpus"] = test_per_corpus
    card["runtime"] = {"litert": litert_card_entry(litert_path, sha256=file_sha256(litert_path))}
    check_card(model, card)
    card_path = model_path.with_name(f"{options.model_filename}.card.json")
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(model_card_markdown(card), encoding="utf-8")
    report = {
        "rows": [{**row_summary(r), "metrics": r.metrics} for r in rows],
        "cv_per_corpus": cv_per_corpus,
        "test_per_corpus": test_per_corpus,
        "calibration": calibration,
        "model": {
            "version": card["version"],
            "size_bytes": card["size_bytes"],
            "windows_per_s_one_core": windows_per_s,
        },
        "data": {
            "n_clips": clips.n_clips,
            "n_windows": len(clips.clip),
            **datasets_entry(data.names, config),
        },
        "seed": seed,
        "recipe": recipe_dict(config),
        "architecture": asdict(mconfig),
        "elapsed_s": time.time() - started,
    }
    write_report(report, reports)
    log(f"done in {time.time() - started:.0f} s -> {model_path}")
    return TrainResult(
        model_path=model_path,
        card_path=card_path,
        report_dir=reports,
        card=card,
        report=report,
        rows=rows,
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Train with the flags of :func:`add_train_arguments` (plus ``--json``) and print the
    result: :meth:`TrainResult.summary` as JSON, or one line per evaluated row."""
    as_json = bool(getattr(args, "json", False))
    log: Callable[[str], Any] = (lambda _message: None) if as_json else print
    result = train(options_from_args(args), log=log)
    summary = result.summary()
    if as_json:
        print(json.dumps(summary, indent=2))
        return 0
    for row in summary["rows"]:
        print(
            f"{row['name']:<34} {row['split']:<24} clip acc {100 * row['clip_accuracy']:.1f}% "
            f"macro-F1 {100 * row['macro_f1']:.1f}% UAR {100 * row['uar']:.1f}%"
        )
    print(f"model {summary['version']} -> {summary['model_path']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m tagger.training``: :func:`add_train_arguments` and ``--json``,
    as ``emotag train``."""
    parser = argparse.ArgumentParser(
        prog="python -m tagger.training", description="Cross-validate and train the emotion model."
    )
    add_train_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result summary as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tagger.training --manifest M --out DIR [...]``: the flags of ``emotag train``."""
    return run_from_args(build_parser().parse_args(argv))
