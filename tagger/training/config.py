"""Training options in one place: the recipe (:class:`TrainConfig`), one run (:class:`TrainOptions`),
and the command-line flags both ``python -m tagger.training`` and ``emotag train`` accept.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from pathlib import Path

from tagger.decision import ARGMAX, DECISION_RULES, Decision
from tagger.model import INPUT_SHAPES, ModelConfig, model_config_for

__all__ = ["TrainConfig", "TrainOptions", "add_train_arguments", "options_from_args"]


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe of a Keras model (``model``) or of the SVM baseline.

    ``epochs`` / ``batch_size`` / ``learning_rate`` / ``weight_decay`` (AdamW; Adam when
    0) for our models, the rate warmed up linearly from 1/25 over ``warmup_fraction`` of
    the steps, then cosine-decayed to 0; ``augment``
    applies SpecAugment-style masks, gain, noise mixing and time shifts to log-mel
    windows; ``class_weighting`` balances classes by inverse frequency over all corpora,
    or, with ``balance_corpora``, corpora equally and classes within each
    (:func:`tagger.training.labels.balanced_weights`);
    ``noise_copies`` noisy versions of every clip (pink, brown or white noise added to
    the waveform at ``snr_db`` uniform, re-analysed by the front end) replace the clean
    window in a random ``noisy_fraction`` of each epoch's windows; with ``gain_db`` set, each
    copy is also scaled by a gain drawn uniformly from it (dB) and clipped to ±1, at most
    ``max_clip_db`` of peak over full scale, and noise is added to a ``noise_probability``
    share of the copies only (the rest are clean, at another level); with ``noise_dir`` (the
    noise corpus), half of the noisy copies get a real background recording of its
    training part instead of coloured noise; with ``music_dir`` (the music corpus), songs
    but the held-out one join them, under the speech at ``music_snr_db``; with ``speed``,
    each copy is first played faster or slower by a factor drawn from it (speed
    perturbation: new-sounding speakers); ``eq_db`` > 0 colours half of each epoch's
    windows with a random smooth gain curve over the mel bands of up to that many dB
    (:func:`tagger.training.augment.channel_curves`: microphones, rooms, equalisers). ``n_members``
    models with different seeds are averaged into one shipped model; ``cv_members`` (default:
    ``n_members``) into each cross-validation fold's model.
    """

    model: ModelConfig | None = None  # None: the shipped architecture, ModelConfig()
    epochs: int = 80
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.1
    augment: bool = True
    class_weighting: bool = True
    balance_corpora: bool = False
    n_members: int = 3
    cv_members: int | None = None
    noise_copies: int = 2
    noisy_fraction: float = 0.5
    snr_db: tuple[float, float] = (0.0, 30.0)
    gain_db: tuple[float, float] | None = None
    max_clip_db: float = 6.0
    noise_probability: float = 1.0
    noise_dir: str | None = None
    music_dir: str | None = None
    music_snr_db: tuple[float, float] = (0.0, 20.0)
    speed: tuple[float, float] | None = None
    eq_db: float = 0.0
    paper_epochs: int = 300
    paper_batch_size: int = 16
    paper_learning_rate: float = 1e-5

    def model_config(self) -> ModelConfig:
        return self.model if self.model is not None else ModelConfig()


@dataclass(frozen=True)
class TrainOptions:
    """One training run: what to read, where to write, and the recipe.

    - ``manifest``: TSV with ``path`` (relative to its folder), ``emotion`` and ``actor``
    - ``folds``: TSV ``actor -> fold``; ``None``: ``folds.tsv`` beside the manifest when
      there is one, else actors round-robin over 5 folds (:meth:`folds_path`)
    - ``out_dir``: gets ``<model_filename>.keras``, ``.card.json`` and ``MODEL_CARD.md``;
      ``report_dir`` (default ``out_dir``) gets ``report.md``, ``report.json`` and
      ``confusion.png``
    - ``baselines``: also evaluate the seed paper's method (grouped and random split) and
      the SVM; ``cache``: an ``.npz`` of extracted windows to reuse / create;
      ``benchmark``: measure the model's windows/s on one core for the card
    - ``extra_manifests``: more corpora trained on with the first (each with ``folds.tsv``
      beside it); classes a corpus lacks are handled by :mod:`tagger.training.labels`
    - ``test_fold``: the fold (of every corpus) kept out of cross-validation *and* of the
      shipped model; the shipped model is scored on it (its test speakers)
    - ``decision``: how the model's probabilities become labels (:mod:`tagger.decision`),
      written to the card; its neutral figures are reported beside the arg-max's
    """

    manifest: Path
    out_dir: Path
    folds: Path | None = None
    report_dir: Path | None = None
    model_filename: str = "model"
    name: str = "emotag-ravdess"
    seed: int = 0
    recipe: TrainConfig = field(default_factory=TrainConfig)
    baselines: bool = True
    cache: Path | None = None
    benchmark: bool = True
    extra_manifests: tuple[Path, ...] = ()
    test_fold: int | None = None
    decision: Decision = ARGMAX

    def manifests(self) -> list[tuple[Path, Path | None]]:
        """Every corpus of the run as ``(manifest, folds file or None)``: ``manifest`` with
        :meth:`folds_path`, then each of ``extra_manifests`` with the ``folds.tsv`` beside it."""
        extra = [(Path(m), Path(m).parent / "folds.tsv") for m in self.extra_manifests]
        return [(Path(self.manifest), self.folds_path()), *extra]

    def folds_path(self) -> Path | None:
        """The folds file this run uses (see the class docstring), or ``None``."""
        if self.folds is not None:
            return Path(self.folds)
        beside = Path(self.manifest).parent / "folds.tsv"
        return beside if beside.is_file() else None

    def reports_path(self) -> Path:
        return Path(self.report_dir) if self.report_dir is not None else Path(self.out_dir)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the training flags (the fields of :class:`TrainOptions` and the recipe knobs
    of :class:`TrainConfig`) to ``parser``; read them back with :func:`options_from_args`."""
    recipe = TrainConfig()
    parser.add_argument(
        "--manifest",
        required=True,
        type=Path,
        action="append",
        help="TSV with path, emotion, actor (or speaker); repeat to train on several corpora",
    )
    parser.add_argument(
        "--folds", type=Path, help="TSV actor -> fold (default: folds.tsv beside the manifest, else 5 folds)"
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for the .keras file and card")
    parser.add_argument("--report-dir", type=Path, help="folder for report.md/json/png (default: --out)")
    parser.add_argument("--filename", default="model", help="model file stem (default: model)")
    parser.add_argument("--name", default="emotag-ravdess", help="model name, the version's prefix")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", default="melscal_cnn", choices=sorted(INPUT_SHAPES))
    parser.add_argument("--epochs", type=int, default=recipe.epochs)
    parser.add_argument("--lr", type=float, default=recipe.learning_rate, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=recipe.weight_decay)
    parser.add_argument("--members", type=int, default=recipe.n_members, help="seeds averaged")
    parser.add_argument("--cv-members", type=int, help="seeds averaged per CV fold (default: --members)")
    parser.add_argument(
        "--gain-db", type=float, nargs=2, metavar=("LO", "HI"), help="gain range of the noisy copies (dB)"
    )
    parser.add_argument(
        "--max-clip-db",
        type=float,
        default=recipe.max_clip_db,
        help="most a copy's peak may go over full scale before it is clipped (dB)",
    )
    parser.add_argument("--noise-copies", type=int, default=recipe.noise_copies)
    parser.add_argument(
        "--noise-probability", type=float, default=recipe.noise_probability, help="share of copies with noise"
    )
    parser.add_argument("--noise-dir", help="noise corpus whose recordings join the noisy copies")
    parser.add_argument("--music-dir", help="music corpus whose songs go under the noisy copies")
    parser.add_argument(
        "--speed", type=float, nargs=2, metavar=("LO", "HI"), help="speed factor range of the copies"
    )
    parser.add_argument(
        "--eq-db", type=float, default=recipe.eq_db, help="channel colouring of training windows, up to ±dB"
    )
    parser.add_argument(
        "--balance-corpora",
        action="store_true",
        help="weight corpora equally and classes within each (default: classes over all corpora)",
    )
    parser.add_argument(
        "--test-fold", type=int, help="fold of every corpus kept out of CV and the shipped model"
    )
    parser.add_argument(
        "--decision",
        choices=DECISION_RULES,
        default=ARGMAX.rule,
        help="how probabilities become labels (tagger.decision; default: argmax)",
    )
    parser.add_argument(
        "--neutral-weight",
        type=float,
        default=ARGMAX.neutral_weight,
        help="prior weight of neutral-or-calm for --decision neutral_group",
    )
    parser.add_argument(
        "--calm-weight",
        type=float,
        default=ARGMAX.calm_weight,
        help="times neutral's probability calm needs for --decision neutral_group",
    )
    parser.add_argument("--paper-epochs", type=int, default=recipe.paper_epochs)
    parser.add_argument("--no-baselines", action="store_true", help="skip the paper and SVM rows")
    parser.add_argument("--no-benchmark", action="store_true", help="skip the windows/s measurement")
    parser.add_argument("--cache", type=Path, help=".npz cache of extracted windows")


def _range(values: list[float] | None) -> tuple[float, float] | None:
    """A ``LO HI`` flag (``nargs=2``) as a float pair; ``None`` when not given."""
    return None if values is None else (float(values[0]), float(values[1]))


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    """The :class:`TrainOptions` of flags added by :func:`add_train_arguments`."""
    recipe = replace(
        TrainConfig(),
        model=model_config_for(args.kind),
        epochs=args.epochs,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        n_members=args.members,
        cv_members=args.cv_members,
        gain_db=_range(args.gain_db),
        max_clip_db=args.max_clip_db,
        noise_copies=args.noise_copies,
        noise_probability=args.noise_probability,
        noise_dir=args.noise_dir,
        music_dir=args.music_dir,
        balance_corpora=args.balance_corpora,
        speed=_range(args.speed),
        eq_db=args.eq_db,
        paper_epochs=args.paper_epochs,
    )
    manifests = args.manifest if isinstance(args.manifest, list) else [args.manifest]
    return TrainOptions(
        manifest=Path(manifests[0]),
        extra_manifests=tuple(Path(m) for m in manifests[1:]),
        test_fold=args.test_fold,
        decision=Decision(args.decision, neutral_weight=args.neutral_weight, calm_weight=args.calm_weight),
        out_dir=Path(args.out),
        folds=args.folds,
        report_dir=args.report_dir,
        model_filename=args.filename,
        name=args.name,
        seed=args.seed,
        recipe=recipe,
        baselines=not args.no_baselines,
        cache=args.cache,
        benchmark=not args.no_benchmark,
    )
