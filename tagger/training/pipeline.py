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

from tagger.export import export_litert, litert_card_entry
from tagger.model import check_card, file_sha256
from tagger.training.augment import training_noise
from tagger.training.calibrate import calibrate
from tagger.training.card import LICENCE, model_card, model_card_markdown, recipe_dict, save_ensemble
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
from tagger.training.fit import fit_members
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


def _load_clips(options: TrainOptions) -> ClipSet:
    cache = Path(options.cache) if options.cache is not None else None
    if cache is not None and cache.is_file():
        return ClipSet.load(cache)
    clips = extract_clips(read_manifest(options.manifest))
    if cache is not None:
        clips.save(cache)
    return clips


def train(options: TrainOptions, *, log: Callable[[str], Any] = print) -> TrainResult:
    """Cross-validate, calibrate, train on everything and write the model, card and report.

    Writes ``<out_dir>/<model_filename>.keras``, ``.card.json`` and ``MODEL_CARD.md``;
    ``report.md``, ``report.json`` and ``confusion.png`` into ``options.reports_path()``.
    See :class:`TrainOptions` for the folds, baselines, cache and benchmark options.
    """
    started = time.time()
    config = options.recipe
    out = Path(options.out_dir)
    reports = options.reports_path()
    seed = options.seed
    clips = _load_clips(options)
    log(f"{clips.n_clips} clips, {len(clips.clip)} windows")
    folds_path = options.folds_path()
    fold_of_actor = read_folds(folds_path) if folds_path is not None else default_folds(clips.actors)
    clip_fold = clip_folds(clips, fold_of_actor)
    mconfig = config.model_config()

    cache = Path(options.cache) if options.cache is not None else None
    x_noisy = training_noise(clips, config, seed=seed, cache=cache, log=log)
    ours = cross_validate(
        clips, clip_fold, method="network", config=config, seed=seed, x_noisy=x_noisy, log=log
    )
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
    calibration = calibrate(clips, ours)

    x_all = model_inputs(clips, mconfig.input_name)
    members = fit_members(x_all, clips.window_labels(), config=config, seed=seed, x_noisy=x_noisy)
    model_path = out / f"{options.model_filename}.keras"
    model = save_ensemble(members, model_path)
    litert_path = export_litert(model, model_path.with_suffix(".tflite"))
    windows_per_s = None
    if options.benchmark:
        # Imported here: ``python -m tagger.training.speed`` must not find itself imported
        # by this package already.
        from tagger.training.speed import benchmark_windows_per_s

        windows_per_s = benchmark_windows_per_s(litert_path)
    card = model_card(
        model_path,
        name=options.name,
        model_config=mconfig,
        recipe=config,
        training={
            "manifest": str(Path(options.manifest)),
            "n_clips": clips.n_clips,
            "n_windows": len(clips.clip),
            "actors": sorted({int(a) for a in clips.actors}),
            "seed": seed,
        },
        cv_metrics=row_summary(ours),
        calibration=calibration,
        windows_per_s=windows_per_s,
    )
    card["runtime"] = {"litert": litert_card_entry(litert_path, sha256=file_sha256(litert_path))}
    check_card(model, card)
    card_path = model_path.with_name(f"{options.model_filename}.card.json")
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(model_card_markdown(card), encoding="utf-8")
    report = {
        "rows": [{**row_summary(r), "metrics": r.metrics} for r in rows],
        "calibration": calibration,
        "model": {
            "version": card["version"],
            "size_bytes": card["size_bytes"],
            "windows_per_s_one_core": windows_per_s,
        },
        "data": {"n_clips": clips.n_clips, "n_windows": len(clips.clip), **LICENCE},
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
