"""Labelled clips for training and evaluation: manifests, folds, and windows cut as inference cuts them.

Clips are decoded, resampled to :data:`SAMPLE_RATE` and cut into windows by the same
front end as tagging (:func:`analyse_signal`); every window carries its clip's label.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tagger.constants import EMOTIONS, SAMPLE_RATE
from tagger.errors import DatasetError
from tagger.frontend import FrontEndConfig, analyse_signal
from tagger.model import window_inputs

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ClipSet",
    "clip_folds",
    "default_folds",
    "extract_clips",
    "model_inputs",
    "paper_mfcc",
    "read_clip",
    "read_folds",
    "read_manifest",
    "speaker_id",
]


@dataclass(frozen=True)
class ClipSet:
    """Windows of labelled clips, plus per-clip data.

    Per clip (``n_clips``): ``paths``, ``labels`` int (index into EMOTIONS), ``actors`` int
    (-1 when unknown), ``mfcc40`` ``(n_clips, 40)`` float32 (the paper's MFCC means).
    Per window (``n_windows``): ``clip`` int (index of its clip), ``features``
    ``(n_windows, 161)`` float32, ``frames`` ``(n_windows, 300, 92)`` float32 (the
    front end's frame features: 64 log-mel dB, 20 MFCC, 8 scalars), ``is_speech`` bool,
    ``tail_logits`` ``(n_windows, k)`` float32 (the window logits of a model's tail run by
    the front end, ``k = 0`` without one).
    """

    paths: list[str]
    labels: np.ndarray
    actors: np.ndarray
    mfcc40: np.ndarray
    clip: np.ndarray
    features: np.ndarray
    frames: np.ndarray
    is_speech: np.ndarray
    tail_logits: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def __post_init__(self) -> None:
        if self.tail_logits.shape[0] != self.clip.shape[0]:
            object.__setattr__(self, "tail_logits", np.zeros((self.clip.shape[0], 0), dtype=np.float32))

    @property
    def n_clips(self) -> int:
        return len(self.paths)

    def window_labels(self) -> np.ndarray:
        """``(n_windows,)`` int: each window's clip label."""
        return np.asarray(self.labels[self.clip], dtype=np.int64)

    def subset(self, keep: np.ndarray) -> ClipSet:
        """The clips where ``keep`` ``(n_clips,)`` bool is True, with their windows."""
        keep = np.asarray(keep, dtype=bool)
        new_index = np.cumsum(keep) - 1
        windows = keep[self.clip]
        return ClipSet(
            paths=[p for p, k in zip(self.paths, keep, strict=True) if k],
            labels=self.labels[keep],
            actors=self.actors[keep],
            mfcc40=self.mfcc40[keep],
            clip=new_index[self.clip[windows]],
            features=self.features[windows],
            frames=self.frames[windows],
            is_speech=self.is_speech[windows],
            tail_logits=self.tail_logits[windows],
        )

    @staticmethod
    def concat(sets: list[ClipSet]) -> ClipSet:
        """One clip set of ``sets`` in order (window ``clip`` indices shifted)."""
        offsets = np.cumsum([0] + [s.n_clips for s in sets[:-1]])
        return ClipSet(
            paths=[p for s in sets for p in s.paths],
            labels=np.concatenate([s.labels for s in sets]),
            actors=np.concatenate([s.actors for s in sets]),
            mfcc40=np.concatenate([s.mfcc40 for s in sets]),
            clip=np.concatenate([s.clip + o for s, o in zip(sets, offsets, strict=True)]),
            features=np.concatenate([s.features for s in sets]),
            frames=np.concatenate([s.frames for s in sets]),
            is_speech=np.concatenate([s.is_speech for s in sets]),
            tail_logits=np.concatenate([s.tail_logits for s in sets]),
        )

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {"paths": np.array(self.paths), **_arrays(self)}
        np.savez(path, **arrays)

    @staticmethod
    def load(path: Path) -> ClipSet:
        with np.load(path) as npz:
            return ClipSet(
                paths=[str(p) for p in npz["paths"]],
                **{k: npz[k] for k in ClipSet.__dataclass_fields__ if k != "paths" and k in npz},
            )


def _arrays(clips: ClipSet) -> dict[str, np.ndarray]:
    return {k: getattr(clips, k) for k in ClipSet.__dataclass_fields__ if k != "paths"}


def speaker_id(corpus: str, speaker: str) -> int:
    """Integer id of ``speaker`` of ``corpus`` (a corpus's folder name) for manifests that name
    speakers (nEMO's ``speaker`` column, e.g. ``EB0``): a CRC-32 of ``corpus/speaker`` above
    10^8, so it never collides with RAVDESS's actor numbers or another corpus's speakers."""
    return 100_000_000 + zlib.crc32(f"{corpus}/{speaker}".encode()) % 1_000_000_000


def _speaker_ids(frame: pd.DataFrame, corpus: str) -> pd.Series | int:
    """``actor`` as int (RAVDESS), else ``speaker`` through :func:`speaker_id`, else -1."""
    if "actor" in frame.columns:
        return frame["actor"].astype(int)
    if "speaker" in frame.columns:
        return frame["speaker"].map(lambda name: speaker_id(corpus, str(name))).astype(int)
    return -1


def read_manifest(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Manifest TSV -> frame with ``path`` (absolute), ``emotion``, ``label`` (int), ``actor``.

    ``path`` in the file is relative to the manifest's folder; the speaker column is
    optional: ``actor`` (an integer, RAVDESS) or ``speaker`` (a name, nEMO: its
    :func:`speaker_id` within the manifest folder's name); -1 when absent. Unknown
    emotion names raise :class:`DatasetError`.
    """
    import pandas as pd

    manifest = Path(path)
    if not manifest.is_file():
        raise DatasetError(f"manifest not found: {manifest}")
    frame = pd.read_csv(manifest, sep="\t", dtype={"path": str, "emotion": str})
    missing = {"path", "emotion"} - set(frame.columns)
    if missing:
        raise DatasetError(f"manifest {manifest} lacks column(s) {sorted(missing)}")
    unknown = sorted(set(frame["emotion"]) - set(EMOTIONS))
    if unknown:
        raise DatasetError(f"manifest {manifest} has unknown emotion(s) {unknown}")
    root = manifest.resolve().parent
    return pd.DataFrame(
        {
            "path": [str(root / p) for p in frame["path"]],
            "emotion": frame["emotion"].astype(str),
            "label": [EMOTIONS.index(e) for e in frame["emotion"]],
            "actor": _speaker_ids(frame, root.name),
        }
    )


def read_folds(path: str | os.PathLike[str]) -> dict[int, int]:
    """Folds TSV (``actor`` or ``speaker``, ``fold``) -> ``{actor: fold}``, speakers named
    as :func:`read_manifest` names them (the folds file beside its manifest)."""
    import pandas as pd

    folds_path = Path(path)
    if not folds_path.is_file():
        raise DatasetError(f"folds file not found: {folds_path}")
    frame = pd.read_csv(folds_path, sep="\t")
    if "fold" not in frame.columns or not {"actor", "speaker"} & set(frame.columns):
        raise DatasetError(f"folds file {folds_path} needs columns actor (or speaker) and fold")
    actors = _speaker_ids(frame, folds_path.resolve().parent.name)
    assert not isinstance(actors, int)  # one of the columns is there
    return {int(a): int(f) for a, f in zip(actors, frame["fold"], strict=True)}


def default_folds(actors: np.ndarray, *, n_folds: int = 5) -> dict[int, int]:
    """``{actor: fold}`` assigning sorted actors round-robin to ``n_folds`` folds."""
    unique = sorted({int(a) for a in actors})
    if -1 in unique:
        raise DatasetError("speaker-grouped CV needs an actor column in the manifest")
    if len(unique) < n_folds:
        raise DatasetError(f"need at least {n_folds} actors for {n_folds}-fold CV")
    return {a: i % n_folds for i, a in enumerate(unique)}


def clip_folds(clips: ClipSet, fold_of_actor: dict[int, int]) -> np.ndarray:
    """``(n_clips,)`` fold of each clip, from its actor; :class:`DatasetError` when an actor
    has no fold."""
    missing = sorted({int(a) for a in clips.actors} - set(fold_of_actor))
    if missing:
        raise DatasetError(f"actors without a fold: {missing}")
    return np.array([fold_of_actor[int(a)] for a in clips.actors], dtype=np.int64)


def read_clip(path: str | os.PathLike[str]) -> np.ndarray:
    """The audio file at ``path`` as mono float32 at :data:`SAMPLE_RATE` Hz, shape ``(n,)``;
    :class:`DatasetError` when it cannot be read."""
    import soundfile as sf

    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    mono: np.ndarray = samples.mean(axis=1)
    if rate != SAMPLE_RATE:
        import librosa

        mono = librosa.resample(mono, orig_sr=rate, target_sr=SAMPLE_RATE).astype(np.float32)
    return mono


def extract_clips(
    manifest: pd.DataFrame,
    *,
    config: FrontEndConfig = FrontEndConfig(),
    drop_duplicates: bool = True,
) -> ClipSet:
    """Decode every clip of ``manifest`` (from :func:`read_manifest`) and cut its windows.

    Exact duplicates (identical decoded samples) are kept once when ``drop_duplicates``.
    """
    paths: list[str] = []
    labels: list[int] = []
    actors: list[int] = []
    mfcc40: list[np.ndarray] = []
    clip_of: list[np.ndarray] = []
    features: list[np.ndarray] = []
    frames: list[np.ndarray] = []
    speech: list[np.ndarray] = []
    tails: list[np.ndarray] = []
    seen: set[str] = set()
    for path_value, label_value, actor_value in zip(
        manifest["path"], manifest["label"], manifest["actor"], strict=True
    ):
        mono = read_clip(path_value)
        digest = hashlib.sha256(mono.tobytes()).hexdigest()
        if drop_duplicates and digest in seen:
            continue
        seen.add(digest)
        batch = analyse_signal(mono, sample_rate=SAMPLE_RATE, config=config)
        if batch is None:
            continue
        index = len(paths)
        paths.append(str(path_value))
        labels.append(int(label_value))
        actors.append(int(actor_value))
        mfcc40.append(paper_mfcc(mono))
        clip_of.append(np.full(len(batch), index, dtype=np.int64))
        features.append(batch.features)
        frames.append(batch.frames.astype(np.float32))
        speech.append(batch.is_speech)
        tails.append(batch.tail_logits)
    if not paths:
        raise DatasetError("manifest yielded no usable clips")
    return ClipSet(
        paths=paths,
        labels=np.array(labels, dtype=np.int64),
        actors=np.array(actors, dtype=np.int64),
        mfcc40=np.stack(mfcc40).astype(np.float32),
        clip=np.concatenate(clip_of),
        features=np.concatenate(features).astype(np.float32),
        frames=np.concatenate(frames),
        is_speech=np.concatenate(speech),
        tail_logits=np.concatenate(tails).astype(np.float32),
    )


def paper_mfcc(y: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The seed paper's clip descriptor: mean over time of 40 MFCCs, shape ``(40,)``."""
    import librosa

    mfcc = librosa.feature.mfcc(y=np.asarray(y, dtype=np.float32), sr=sample_rate, n_mfcc=40)
    return np.asarray(mfcc.mean(axis=1), dtype=np.float32)


def model_inputs(clips: ClipSet, input_name: str) -> np.ndarray:
    """Per-window model input of every window of ``clips`` (see
    :func:`tagger.model.window_inputs`, shared with inference)."""
    return window_inputs(
        input_name, frames=clips.frames, features=clips.features, tail_logits=clips.tail_logits
    )
