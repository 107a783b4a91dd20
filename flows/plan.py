"""Decide what a run must do: diff the files found against the catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from catalog import SCHEMAS, Catalog, display_path, video_seen_again
from flows.library import Candidate, fingerprint
from flows.worker_pool import VideoJob

__all__ = ["Plan", "make_plan", "model_version_of"]


def model_version_of(model_path: str | None) -> str:
    """``<name>-<sha12>`` from the model card, without loading TensorFlow."""
    from tagger.model import DEFAULT_MODEL_PATH, card_path_for, read_card

    card = read_card(card_path_for(model_path or DEFAULT_MODEL_PATH))
    return str(card["version"])


@dataclass
class Plan:
    """``todo``: videos to tag; the rest were seen and are only recorded as seen."""

    todo: list[VideoJob] = field(default_factory=list)
    seen_rows: list[dict[str, Any]] = field(default_factory=list)
    seen_paths: set[str] = field(default_factory=set)
    n_skipped: int = 0
    n_moved: int = 0
    n_unreadable: int = 0
    copies: list[tuple[Candidate, str]] = field(default_factory=list)

    def record_seen(self, catalog: Catalog) -> None:
        if self.seen_rows:
            catalog.record_videos(pa.Table.from_pylist(self.seen_rows, schema=SCHEMAS["videos"]))

    def record_copies(self, catalog: Catalog) -> None:
        """After tagging: a path row for each further copy of content tagged in this run."""
        if not self.copies:
            return
        known = _known_videos(catalog)
        now = datetime.now(UTC)
        rows = []
        for candidate, video_id in self.copies:
            if video_id in known:
                latest = max(known[video_id], key=lambda r: r["last_seen_at"])
                rows.append(
                    video_seen_again(
                        latest,
                        path=candidate.path,
                        size_bytes=candidate.size_bytes,
                        mtime=candidate.mtime,
                        seen_at=now,
                    )
                )
        if rows:
            catalog.record_videos(pa.Table.from_pylist(rows, schema=SCHEMAS["videos"]))


def make_plan(
    catalog: Catalog,
    candidates: Sequence[Candidate],
    *,
    model_version: str,
    force: bool,
    retry_failed: bool,
) -> Plan:
    """New or edited content (new ``video_id``) is tagged; content already done for
    ``model_version`` is skipped (a new path for it is recorded as a move); content
    known to have no audio is skipped; content that failed is retried only with
    ``retry_failed``; ``force`` tags everything found. Copies of one content found
    under several paths are tagged once."""
    now = datetime.now(UTC)
    known = _known_videos(catalog)
    done = catalog.done_units(model_version)
    done_videos: dict[str, set[int]] = {}
    for video_id, track in done:
        done_videos.setdefault(video_id, set()).add(track)
    plan = Plan()
    queued: set[str] = set()
    for candidate in candidates:
        plan.seen_paths.add(candidate.path)
        try:
            video_id = fingerprint(candidate.path)
        except OSError:
            plan.n_unreadable += 1
            plan.todo.append(
                VideoJob(candidate.path, _unreadable_id(candidate), candidate.size_bytes, candidate.mtime)
            )
            continue
        rows = known.get(video_id, [])
        latest = max(rows, key=lambda r: r["last_seen_at"]) if rows else None
        finished = latest is not None and (
            latest["status"] == "no_audio"
            or (latest["status"] == "failed" and not retry_failed)
            or (
                latest["status"] in ("ok", "partial", "missing")
                and latest["n_audio_tracks"]
                and done_videos.get(video_id, set()) >= set(range(latest["n_audio_tracks"]))
            )
        )
        if video_id in queued:
            plan.n_skipped += 1
            plan.copies.append((candidate, video_id))
            continue
        if finished and not force:
            plan.n_skipped += 1
            if latest is not None:
                if display_path(candidate.path) not in {r["path"] for r in rows}:
                    plan.n_moved += 1
                plan.seen_rows.append(
                    video_seen_again(
                        latest,
                        path=candidate.path,
                        size_bytes=candidate.size_bytes,
                        mtime=candidate.mtime,
                        seen_at=now,
                        status="ok" if latest["status"] == "missing" else latest["status"],
                    )
                )
            continue
        queued.add(video_id)
        plan.todo.append(VideoJob(candidate.path, video_id, candidate.size_bytes, candidate.mtime))
    return plan


def _known_videos(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    rows = catalog.open_table("videos").to_table().to_pylist()
    known: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        known.setdefault(row["video_id"], []).append(row)
    return known


def _unreadable_id(candidate: Candidate) -> str:
    """A stand-in id for a file that cannot be read (it is recorded as failed)."""
    import hashlib

    return "unreadable-" + hashlib.sha256(candidate.path.encode("utf-8", "surrogateescape")).hexdigest()[:32]
