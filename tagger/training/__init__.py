"""Training of the emotion model from a manifest of labelled clips, with speaker-grouped CV.

One job per module: :mod:`~tagger.training.dataset` (clips, manifests, folds),
:mod:`~tagger.training.metrics`, :mod:`~tagger.training.augment`, :mod:`~tagger.training.fit`,
:mod:`~tagger.training.crossval`, :mod:`~tagger.training.calibrate`,
:mod:`~tagger.training.card` (what ships), :mod:`~tagger.training.report`,
:mod:`~tagger.training.speed`; :mod:`~tagger.training.pipeline` runs them (:func:`train`).
"""

from tagger.training.config import TrainConfig, TrainOptions, add_train_arguments, options_from_args
from tagger.training.crossval import FoldSplit, ModelRow, cross_validate
from tagger.training.dataset import ClipSet, extract_clips, read_folds, read_manifest
from tagger.training.fit import fit_members
from tagger.training.metrics import classification_metrics, clip_probabilities, clip_probability
from tagger.training.pipeline import TrainResult, run_from_args, train

__all__ = [
    "ClipSet",
    "FoldSplit",
    "ModelRow",
    "TrainConfig",
    "TrainOptions",
    "TrainResult",
    "add_train_arguments",
    "classification_metrics",
    "clip_probabilities",
    "clip_probability",
    "cross_validate",
    "extract_clips",
    "fit_members",
    "options_from_args",
    "read_folds",
    "read_manifest",
    "run_from_args",
    "train",
]
