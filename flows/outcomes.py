"""Turn what the workers produced into catalogue rows and write them: a ``videos`` row
for every video whatever its status, ``tracks`` rows and one unit per tagged track."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from catalog import SCHEMAS, Catalog, UnitRows, display_path, text_of, unit_rows, video_row
from flows.worker_pool import VideoOutcome
from tagger.pipeline import TrackTags

__all__ = ["BatchReport", "write_outcomes"]


@dataclass
class BatchReport:
    """Counts of a written batch and the label distribution of its speech windows."""

    n_tagged: int = 0
    n_failed: int = 0
    n_no_audio: int = 0
    n_units: int = 0
    audio_s: float = 0.0
    work_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)

    def add(self, other: BatchReport) -> None:
        for name in ("n_tagged", "n_failed", "n_no_audio", "n_units", "audio_s", "work_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures += other.failures
        for label, count in other.label_counts.items():
            self.label_counts[label] = self.label_counts.get(label, 0) + count


def write_outcomes(
    catalog: Catalog, outcomes: Sequence[VideoOutcome], *, run_id: str, replace: bool
) -> BatchReport:
    """Record every video (whatever its status), its tracks and its tagged units."""
    now = datetime.now(UTC)
    report = BatchReport()
    video_rows: list[dict[str, Any]] = []
    track_rows: list[dict[str, Any]] = []
    units: list[UnitRows] = []
    for outcome in outcomes:
        job, info = outcome.job, outcome.info
        video_rows.append(
            video_row(
                video_id=job.video_id,
                path=job.path,
                size_bytes=job.size_bytes,
                mtime=job.mtime,
                status=outcome.status,
                error=outcome.error,
                duration_s=info.duration_s if info else None,
                container=info.container if info else None,
                n_audio_tracks=info.n_audio_tracks if info else None,
                seen_at=now,
            )
        )
        report.work_s += outcome.elapsed_s
        if outcome.status == "failed":
            report.n_failed += 1
            report.failures.append((display_path(job.path), text_of(outcome.error or "unknown error")))
            continue
        if outcome.status == "no_audio":
            report.n_no_audio += 1
            continue
        report.n_tagged += 1
        report.audio_s += outcome.audio_s
        assert info is not None
        for stream, tags in zip(info.audio_streams, outcome.tracks, strict=True):
            track_rows.append(
                {
                    "video_id": job.video_id,
                    "track_index": stream.track,
                    "codec": stream.codec,
                    "channels": stream.channels,
                    "sample_rate": stream.sample_rate,
                    "language": stream.language,
                    "duration_s": tags.duration_s,
                }
            )
            units.append(_unit(job.video_id, stream.track, tags))
            for label in tags.labels:
                report.label_counts[label] = report.label_counts.get(label, 0) + 1
    catalog.record_videos(pa.Table.from_pylist(video_rows, schema=SCHEMAS["videos"]))
    if track_rows:
        catalog.record_tracks(pa.Table.from_pylist(track_rows, schema=SCHEMAS["tracks"]))
    report.n_units = len(catalog.write_units(units, run_id=run_id, replace=replace))
    return report


def _unit(video_id: str, track: int, tags: TrackTags) -> UnitRows:
    return unit_rows(
        video_id=video_id,
        track_index=track,
        model_version=tags.model_version,
        start_s=tags.start_s,
        end_s=tags.end_s,
        is_speech=tags.is_speech,
        content=[str(c) for c in tags.content],
        labels=tags.labels,
        probs=tags.probs,
        confidence=tags.confidence,
        segments=[dataclasses.asdict(s) for s in tags.segments],
        profile=dataclasses.asdict(tags.profile),
        arousal=tags.arousal,
        valence=tags.valence,
    )
