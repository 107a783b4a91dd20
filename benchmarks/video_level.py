"""Video-level benchmark (#14 deliverable 4): test videos built from held-out speakers,
tagged by the real local run into a temporary catalogue, scored from what it stored.

    python -m benchmarks.video_level --corpora ../shared/corpora [--model M] [--out DIR] \\
        [--json F] [--seed N] [--quick] [--fold 2] [--song PATH] [--noise-split heldout]

Each video: one speaker of the held-out fold of RAVDESS or nEMO, 3-5 clips of one
emotion (trimmed to their active part) separated by 1.5-4 s pauses of room tone, clean
or over held-out noise (UrbanSound8K fold 10) or the held-out song at 10-20 dB SNR,
-23 LUFS integrated, 48 kHz, muxed with a small picture into mp4/mkv/webm/ts. Also
two-emotion videos (emotion A, then B) and negatives (the song or noise alone).
Scores: dominant emotion per video (the ``profiles`` table), speech boundaries and
emotion changes within 1 s (the ``segments`` table), window label shares (``windows``).
The videos and the catalogue stay under ``--out`` (never commit them).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from benchmarks.video_programmes import (
    HELD_OUT_FOLD,
    HELD_OUT_NOISE_SPLIT,
    HELD_OUT_SONG,
    TARGET_LUFS,
    SpeechSpan,
    VideoPlan,
    active_span,
    lay_out,
    loop_to,
    mix_programme,
    plan_videos,
)
from benchmarks.video_scoring import (
    BoundaryMatch,
    boundary_summary,
    dominant_scores,
    emotion_change_s,
    match_boundaries,
    predicted_speech_boundaries,
    true_speech_boundaries,
    window_shares,
)
from tagger import ffmpeg_bin
from tagger.constants import EMOTIONS, SAMPLE_RATE
from tagger.loudness import integrated_loudness
from tagger.model import DEFAULT_MODEL_PATH, card_path_for, read_card
from tagger.training.augment import is_heldout_noise, manifest_split

SPEECH_CORPORA = ("ravdess", "nemo")
VIDEO_RATE_HZ = 48_000
_PICTURE = "testsrc2=size=64x48:rate=2"


def held_out_clips(root: Path, *, fold: int) -> dict[str, dict[str, list[str]]]:
    """``{speaker: {emotion: [clip path relative to root, ...]}}`` of the speakers of
    ``fold`` in ``root/folds.tsv`` (column ``actor`` or ``speaker``, and ``fold``)."""
    manifest = pd.read_csv(root / "manifest.tsv", sep="\t", dtype=str)
    folds = pd.read_csv(root / "folds.tsv", sep="\t", dtype=str)
    column = "actor" if "actor" in folds.columns else "speaker"
    speakers = set(folds.loc[folds["fold"].astype(int) == fold, column])
    chosen = manifest[manifest[column].isin(speakers)].sort_values("path")
    clips: dict[str, dict[str, list[str]]] = {}
    for speaker, emotion, path in zip(chosen[column], chosen["emotion"], chosen["path"], strict=True):
        clips.setdefault(str(speaker), {}).setdefault(str(emotion), []).append(str(path))
    return clips


def read_mono(path: Path) -> np.ndarray:
    """A corpus file as mono float32 at :data:`SAMPLE_RATE` (the corpora are stored so)."""
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path}: expected {SAMPLE_RATE} Hz, found {rate}")
    mono: np.ndarray = samples.mean(axis=1)
    return mono


class Material:
    """The held-out noise recordings (by kind) and song, read once."""

    def __init__(self, corpora: Path, *, song: str, noise_split: str) -> None:
        noise_root = corpora / "noise"
        chosen = manifest_split(noise_root, split=noise_split, held_out=is_heldout_noise)
        self.noise: dict[str, list[np.ndarray]] = {}
        for kind, path in zip(chosen["kind"], chosen["path"], strict=True):
            self.noise.setdefault(str(kind), []).append(read_mono(noise_root / path))
        self.song_path = song
        self.song = read_mono(corpora / "music" / song)

    def background(self, plan: VideoPlan, n: int, rng: np.random.Generator) -> np.ndarray | None:
        """``n`` samples of the plan's background: recordings of one noise kind in a random
        order, or the song from a random point; None for a clean video."""
        if plan.condition == "noise":
            kinds = sorted(self.noise)
            recordings = self.noise[kinds[int(rng.integers(len(kinds)))]]
            order = rng.permutation(len(recordings))
            return loop_to([recordings[int(i)] for i in order], n)
        if plan.condition == "music":
            start = int(rng.integers(0, max(1, self.song.size - n)))
            return loop_to([self.song[start:], self.song], n)
        return None


def build_video(
    plan: VideoPlan, *, corpora: Path, material: Material, folder: Path
) -> tuple[Path, list[SpeechSpan], float]:
    """Write the plan's video into ``folder``; its path, speech truth and the programme's
    integrated loudness (LUFS, BS.1770 at 16 kHz before encoding)."""
    rng = np.random.default_rng(plan.seed)
    clips = []
    for relative in plan.clips:
        y = read_mono(corpora / plan.corpus / relative)
        first, last = active_span(y)
        clips.append(y[first:last])
    speech, spans = lay_out(clips, plan.emotions, plan.pauses_s)
    background = material.background(plan, speech.size, rng)
    programme = mix_programme(speech, background=background, snr_db=plan.snr_db, seed=plan.seed)
    target = folder / f"{plan.name}{plan.container.suffix}"
    with tempfile.TemporaryDirectory(prefix="emotag-video-") as scratch:
        wav = Path(scratch) / "programme.wav"
        sf.write(wav, programme, SAMPLE_RATE, subtype="FLOAT")
        duration = programme.size / SAMPLE_RATE
        command = ffmpeg_bin.write_file_command(
            "-f", "lavfi", "-i", f"{_PICTURE}:duration={duration:.3f}",
            "-i", f"file:{wav}",
            "-map", "0:v", "-map", "1:a",
            "-ar", str(VIDEO_RATE_HZ), "-ac", str(plan.container.channels),
            *plan.container.codec_args,
            f"file:{target}",
        )  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=300)
    return target, spans, integrated_loudness(programme)


def decoded_loudness(path: Path) -> float:
    """Integrated loudness (LUFS) of the file's first audio track decoded to mono 48 kHz."""
    command = [
        ffmpeg_bin.ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-i", f"file:{path}", "-map", "0:a:0", "-ac", "1", "-ar", str(VIDEO_RATE_HZ),
        "-f", "f32le", "-",
    ]  # fmt: skip
    raw = subprocess.run(command, check=True, capture_output=True, timeout=120).stdout
    return integrated_loudness(np.frombuffer(raw, dtype="<f4"), sample_rate=VIDEO_RATE_HZ)


def tag_into_catalogue(videos: Path, catalogue: Path, *, model: Path) -> dict[str, Any]:
    """``emotag tag`` as users run it without Prefect: the local run into ``catalogue``."""
    from flows.run import TagRequest, run_locally

    request = TagRequest(
        flow_name="video-bench", inputs=(str(videos),), catalog_root=str(catalogue), model_path=str(model)
    )
    return run_locally(request)


def read_back(catalogue: Path) -> dict[str, dict[str, Any]]:
    """Per video file name: ``dominant_label``, ``segments`` [(start_s, end_s, label)] and
    window ``labels``, from the catalogue's tables."""
    from catalog import Catalog

    store = Catalog(catalogue)
    videos = store.open_table("videos").to_table().to_pandas()
    profiles = store.open_table("profiles").to_table().to_pandas()
    segments = store.open_table("segments").to_table().to_pandas().sort_values("start_s")
    windows = store.open_table("windows").to_table().to_pandas().sort_values("start_s")
    out: dict[str, dict[str, Any]] = {}
    for video_id, path in zip(videos["video_id"], videos["path"], strict=True):
        name = Path(str(path)).name
        profile = profiles[(profiles["video_id"] == video_id) & (profiles["track_index"] == 0)]
        own_segments = segments[(segments["video_id"] == video_id) & (segments["track_index"] == 0)]
        own_windows = windows[(windows["video_id"] == video_id) & (windows["track_index"] == 0)]
        out[name] = {
            "dominant_label": str(profile["dominant_label"].iloc[0]) if len(profile) else "(not tagged)",
            "segments": [
                (float(s), float(e), str(label))
                for s, e, label in zip(
                    own_segments["start_s"], own_segments["end_s"], own_segments["label"], strict=True
                )
            ],
            "labels": [str(label) for label in own_windows["label"]],
        }
    return out


def score(
    plans: Sequence[VideoPlan], truth: dict[str, list[SpeechSpan]], tags: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Every figure of the benchmark from the plans, their truth and the read-back tags."""
    results: dict[str, Any] = {}
    singles = [p for p in plans if p.kind == "single"]

    def dominant(selected: Sequence[VideoPlan]) -> dict[str, Any]:
        return dominant_scores(
            [p.truth_label for p in selected], [tags[_file(p)]["dominant_label"] for p in selected]
        )

    groups: dict[str, dict[str, Any]] = {"all": dominant(singles)}
    for corpus in sorted({p.corpus for p in singles}):
        groups[f"corpus {corpus}"] = dominant([p for p in singles if p.corpus == corpus])
    for condition in ("clean", "noise", "music"):
        groups[f"condition {condition}"] = dominant([p for p in singles if p.condition == condition])
        for corpus in sorted({p.corpus for p in singles}):
            groups[f"{corpus} {condition}"] = dominant(
                [p for p in singles if p.condition == condition and p.corpus == corpus]
            )
    for name in dict.fromkeys(p.container.name for p in plans):
        groups[f"container {name}"] = dominant([p for p in singles if p.container.name == name])
    results["dominant_emotion"] = groups
    results["confusion"] = {
        corpus: pd.crosstab(
            pd.Series([p.truth_label for p in singles if p.corpus == corpus], name="truth"),
            pd.Series(
                [tags[_file(p)]["dominant_label"] for p in singles if p.corpus == corpus], name="predicted"
            ),
        ).to_dict()
        for corpus in sorted({p.corpus for p in singles})
    }

    speech_videos = [p for p in plans if p.kind != "negative"]
    onsets: dict[str, list[BoundaryMatch]] = {}
    offsets: dict[str, list[BoundaryMatch]] = {}
    by_pause: dict[str, list[bool]] = {}
    for plan in speech_videos:
        true_on, true_off = true_speech_boundaries([(s.start_s, s.end_s) for s in truth[plan.name]])
        predicted_on, predicted_off = predicted_speech_boundaries(tags[_file(plan)]["segments"])
        on, off = match_boundaries(true_on, predicted_on), match_boundaries(true_off, predicted_off)
        for key in ("all", f"condition {plan.condition}", f"container {plan.container.name}"):
            onsets.setdefault(key, []).append(on)
            offsets.setdefault(key, []).append(off)
        # An onset follows pause i, an offset precedes pause i + 1 (pause 0 is the lead-in).
        flags = zip((*plan.pauses_s[:-1], *plan.pauses_s[1:]), (*on.matched, *off.matched), strict=True)
        for pause_s, hit in flags:
            by_pause.setdefault(_pause_bucket(pause_s), []).append(hit)
    results["speech_boundaries"] = {
        key: {
            "onsets": boundary_summary(onsets[key]),
            "offsets": boundary_summary(offsets[key]),
            "both": boundary_summary(onsets[key] + offsets[key]),
        }
        for key in onsets
    }
    results["speech_boundary_recall_by_pause"] = {
        bucket: {"recall": float(np.mean(by_pause[bucket])), "n": len(by_pause[bucket])}
        for bucket in sorted(by_pause)
    }

    results["emotion_change"] = _change_scores([p for p in plans if p.kind == "change"], truth, tags)

    negatives = [p for p in plans if p.kind == "negative"]
    results["negatives"] = {
        condition: window_shares(
            [label for p in negatives if p.condition == condition for label in tags[_file(p)]["labels"]]
        )
        | {
            "videos_with_emotion_dominant": sum(
                tags[_file(p)]["dominant_label"] in EMOTIONS for p in negatives if p.condition == condition
            ),
            "n_videos": sum(p.condition == condition for p in negatives),
        }
        for condition in sorted({p.condition for p in negatives})
    }
    results["speech_videos_windows"] = {
        key: window_shares(
            [label for p in speech_videos if selector(p) for label in tags[_file(p)]["labels"]]
        )
        for key, selector in (
            ("all", lambda p: True),
            ("clean", lambda p: p.condition == "clean"),
            ("noise", lambda p: p.condition == "noise"),
            ("music", lambda p: p.condition == "music"),
        )
    }
    return results


def _change_scores(
    plans: Sequence[VideoPlan], truth: dict[str, list[SpeechSpan]], tags: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Emotion-change error of the two-emotion videos: the true change is the middle of the
    pause between the last clip of emotion A and the first of B."""
    videos: list[dict[str, Any]] = []
    errors: list[float | None] = []
    for plan in plans:
        spans = truth[plan.name]
        k = next(i for i in range(1, len(spans)) if spans[i].emotion != spans[0].emotion)
        true_change = 0.5 * (spans[k - 1].end_s + spans[k].start_s)
        found = emotion_change_s(tags[_file(plan)]["segments"])
        error = None if found is None else round(found[0] - true_change, 3)
        errors.append(error)
        videos.append(
            {
                "video": plan.name,
                "true_s": round(true_change, 3),
                "true_labels": [spans[0].emotion, spans[k].emotion],
                "predicted_s": None if found is None else round(found[0], 3),
                "predicted_labels": None if found is None else [found[1], found[2]],
                "error_s": error,
            }
        )
    found_errors = np.abs(np.array([e for e in errors if e is not None], dtype=np.float64))
    return {
        "n": len(videos),
        "detected": int(found_errors.size),
        "within_1s": float(np.mean([e is not None and abs(e) <= 1.0 for e in errors]))
        if errors
        else math.nan,
        "median_abs_error_s": float(np.median(found_errors)) if found_errors.size else math.nan,
        "labels_right": sum(v["predicted_labels"] == v["true_labels"] for v in videos),
        "videos": videos,
    }


def _card_training(model: Path) -> str:
    """What the model card says the model was trained on: the shipped model saw every
    RAVDESS actor, so its RAVDESS figures here are not on unseen speakers."""
    try:
        training = read_card(card_path_for(model)).get("training", {})
    except Exception as exc:  # a model without a readable card is still benchmarked
        return f"(no card: {exc})"
    if isinstance(training, dict):
        return str(training.get("dataset") or training.get("actors") or training)
    return str(training)


def _pause_bucket(pause_s: float) -> str:
    """The pause next to a boundary, binned: ``pause 1.0-2.0 s``, ``2.0-3.0 s``, ``3.0-4.0 s``."""
    low = min(3, max(1, int(pause_s)))
    return f"pause {low:.1f}-{low + 1:.1f} s"


def _file(plan: VideoPlan) -> str:
    return f"{plan.name}{plan.container.suffix}"


def _pct(value: Any) -> str:
    return (
        "  n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{100 * value:5.1f}"
    )


def print_table(results: dict[str, Any]) -> None:
    """The figures as a readable listing."""
    print("\nDominant emotion per single-emotion video (profiles.dominant_label)")
    print(f"  {'group':28s} {'n':>4s} {'acc %':>6s} {'UAR %':>6s}")
    for key, figures in results["dominant_emotion"].items():
        if figures["n"]:
            print(f"  {key:28s} {figures['n']:4d} {_pct(figures['accuracy']):>6s} {_pct(figures['uar']):>6s}")
    print("\nSpeech boundaries (speech <-> no_speech segments), within 1 s")
    print(
        f"  {'group':28s} {'n true':>6s} {'n pred':>6s} {'recall %':>8s} {'prec %':>7s}"
        f" {'median |err| s':>15s} {'median err s':>13s}"
    )
    for key, kinds in results["speech_boundaries"].items():
        for kind in ("onsets", "offsets", "both"):
            f = kinds[kind]
            if kind != "both" and key != "all":
                continue
            label = f"{key} ({kind})"
            median = f["median_abs_error_s"]
            print(
                f"  {label:28s} {f['n_true']:6d} {f['n_predicted']:6d} {_pct(f['recall']):>8s}"
                f" {_pct(f['precision']):>7s} {median:15.2f} {f['median_error_s']:13.2f}"
            )
    print(
        "  recall by the pause next to the boundary: "
        + ", ".join(
            f"{bucket} {_pct(f['recall']).strip()} % (n {f['n']})"
            for bucket, f in results["speech_boundary_recall_by_pause"].items()
        )
    )
    change = results["emotion_change"]
    print(
        f"\nEmotion change (two-emotion videos): {change['detected']}/{change['n']} detected, "
        f"{_pct(change['within_1s'])} % within 1 s, median |error| {change['median_abs_error_s']:.2f} s, "
        f"both labels right in {change['labels_right']}"
    )
    print("\nNegative videos (no speech in them): share of windows")
    for condition, f in results["negatives"].items():
        print(
            f"  {condition:8s} emotion {_pct(f['emotion'])} %  uncertain {_pct(f['uncertain'])} %  "
            f"no_speech {_pct(f['no_speech'])} %  videos with an emotion as dominant: "
            f"{f['videos_with_emotion_dominant']}/{f['n_videos']}"
        )
    print("\nSpeech videos: share of windows")
    for key, f in results["speech_videos_windows"].items():
        print(
            f"  {key:8s} uncertain {_pct(f['uncertain'])} % of all, {_pct(f['uncertain_of_speech'])} % of "
            f"speech windows; no_speech {_pct(f['no_speech'])} %  (n {f['n']})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.video_level", description=__doc__)
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--out", type=Path, default=Path("bench/video_level"))
    parser.add_argument("--json", type=Path, help="default: OUT/results.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="about a dozen videos")
    parser.add_argument("--fold", type=int, default=HELD_OUT_FOLD, help="held-out speaker fold")
    parser.add_argument("--song", default=HELD_OUT_SONG, help="held-out song (music manifest path)")
    parser.add_argument("--noise-split", default=HELD_OUT_NOISE_SPLIT, choices=("heldout", "train"))
    args = parser.parse_args(argv)

    clips_by_speaker = {
        name: held_out_clips(args.corpora / name, fold=args.fold)
        for name in SPEECH_CORPORA
        if (args.corpora / name / "folds.tsv").is_file()
    }
    if not clips_by_speaker:
        print(f"no corpus with folds.tsv under {args.corpora}", file=sys.stderr)
        return 2
    speakers = {corpus: sorted(by, key=lambda s: (len(s), s)) for corpus, by in clips_by_speaker.items()}
    print(f"held-out fold {args.fold} (never in the next model's training): speakers {speakers}")
    print(f"background: song {args.song}, noise split {args.noise_split!r} (UrbanSound8K fold10)")
    plans = plan_videos(clips_by_speaker, seed=args.seed, quick=args.quick)

    videos = args.out / "videos"
    catalogue = args.out / "catalog"
    for folder in (videos, catalogue):
        if folder.exists():
            shutil.rmtree(folder)
    videos.mkdir(parents=True)
    material = Material(args.corpora, song=args.song, noise_split=args.noise_split)
    started = time.perf_counter()
    truth: dict[str, list[SpeechSpan]] = {}
    loudness: list[float] = []
    decoded: list[float] = []
    for plan in plans:
        path, spans, lufs = build_video(plan, corpora=args.corpora, material=material, folder=videos)
        truth[plan.name] = spans
        loudness.append(lufs)
        decoded.append(decoded_loudness(path))
    size_mb = sum(p.stat().st_size for p in videos.iterdir()) / 1e6
    build_s = time.perf_counter() - started
    print(f"built {len(plans)} videos ({size_mb:.1f} MB) in {build_s:.0f} s into {videos}")
    (args.out / "truth.json").write_text(
        json.dumps(
            [asdict(p) | {"file": _file(p), "spans": [asdict(s) for s in truth[p.name]]} for p in plans],
            indent=1,
        ),
        encoding="utf-8",
    )

    started = time.perf_counter()
    summary = tag_into_catalogue(videos, catalogue, model=args.model)
    tag_s = time.perf_counter() - started
    print(
        f"tagged into {catalogue} in {tag_s:.0f} s: "
        f"{summary['n_tagged']} tagged, {summary['n_failed']} failed"
    )
    tags = read_back(catalogue)
    missing = [p.name for p in plans if _file(p) not in tags]
    if missing:
        print(f"not in the catalogue: {missing}", file=sys.stderr)
        return 1
    trained_on = _card_training(args.model)
    print(f"model card, training data: {trained_on}")
    results: dict[str, Any] = {
        "model": summary["model_version"],
        "model_training": trained_on,
        "model_path": str(args.model),
        "held_out": {
            "fold": args.fold,
            "speakers": speakers,
            "song": args.song,
            "noise_split": args.noise_split,
        },
        "seed": args.seed,
        "quick": args.quick,
        "n_videos": len(plans),
        "n_by_kind": {k: sum(p.kind == k for p in plans) for k in ("single", "change", "negative")},
        "size_mb": round(size_mb, 2),
        "programme_lufs": {"min": min(loudness), "max": max(loudness)},
        "decoded_lufs": {"min": min(decoded), "max": max(decoded), "target": TARGET_LUFS},
        "build_s": round(build_s, 1),
        "tag_s": round(tag_s, 1),
        "audio_s": summary["audio_s"],
        **score(plans, truth, tags),
    }
    print(
        f"model {results['model']}; {len(plans)} videos {results['n_by_kind']}; "
        f"programme loudness {min(loudness):.2f}..{max(loudness):.2f} LUFS, "
        f"decoded {min(decoded):.2f}..{max(decoded):.2f} LUFS"
    )
    print_table(results)
    json_path = args.json or args.out / "results.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"\nJSON: {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
