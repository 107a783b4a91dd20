"""Read one video's tags back from the catalogue and render them (text or PNG)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from catalog import Catalog, query, sql_quote
from catalog.report_charts import COLOURS
from catalog.schema import EMOTIONS
from tagger.segments import owned_spans

__all__ = ["find_video", "load_timeline", "plot_timeline", "render_timeline"]


def find_video(
    catalog_root: str, key: str, *, storage_options: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """The newest ``videos`` row whose id starts with ``key`` or whose path (or file
    name) is ``key``; None when nothing or several different videos match."""
    rows = Catalog(catalog_root, storage_options=storage_options).open_table("videos").to_table().to_pylist()
    absolute = os.path.abspath(key)
    matches = [r for r in rows if r["video_id"].startswith(key) or r["path"] in (key, absolute)]
    if not matches:
        matches = [r for r in rows if Path(r["path"]).name == key]
    if len({r["video_id"] for r in matches}) != 1:
        return None
    newest: dict[str, Any] = max(matches, key=lambda r: r["last_seen_at"])
    return newest


def load_timeline(
    catalog_root: str,
    video_id: str,
    *,
    model_version: str | None = None,
    storage_options: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Tracks of ``video_id`` with windows, segments and profile for one model version
    (default: the most recently committed for this video)."""
    catalog = Catalog(catalog_root, storage_options=storage_options)
    vid = sql_quote(video_id)
    if model_version is None:
        latest = query(
            catalog,
            f"SELECT model_version FROM units WHERE video_id = {vid} ORDER BY committed_at DESC LIMIT 1",
        ).to_pylist()
        model_version = latest[0]["model_version"] if latest else ""
    where = f"video_id = {vid} AND model_version = {sql_quote(model_version)}"
    probs = ", ".join(f"p_{e}" for e in EMOTIONS)
    windows = query(
        catalog,
        f"SELECT track_index, start_s, end_s, is_speech, label, confidence, {probs} "
        f"FROM windows WHERE {where} ORDER BY track_index, start_s",
    ).to_pylist()
    segments = query(
        catalog,
        "SELECT track_index, start_s, end_s, label, mean_confidence, n_windows "
        f"FROM segments WHERE {where} ORDER BY track_index, start_s",
    ).to_pylist()
    profiles = query(catalog, f"SELECT * FROM profiles WHERE {where} ORDER BY track_index").to_pylist()
    tracks = sorted({w["track_index"] for w in windows} | {p["track_index"] for p in profiles})
    return {
        "model_version": model_version,
        "tracks": [
            {
                "track_index": t,
                "windows": [w for w in windows if w["track_index"] == t],
                "segments": [s for s in segments if s["track_index"] == t],
                "profile": next((p for p in profiles if p["track_index"] == t), None),
            }
            for t in tracks
        ],
    }


def render_timeline(video: dict[str, Any], timeline: dict[str, Any]) -> str:
    lines = [
        f"{video['path']}  ({video['video_id'][:12]}, {video['status']}, model {timeline['model_version']})"
    ]
    if not timeline["tracks"]:
        lines.append("  no tagged audio" + (f": {video['error']}" if video.get("error") else ""))
    for track in timeline["tracks"]:
        profile = track["profile"] or {}
        shares = sorted(((profile.get(f"share_{e}", 0.0), e) for e in EMOTIONS), reverse=True)[:3]
        lines.append(
            f"  track {track['track_index']}: dominant {profile.get('dominant_label', '?')}, speech "
            f"{profile.get('speech_s', 0.0):.1f} s; " + ", ".join(f"{e} {s:.0%}" for s, e in shares)
        )
        lines.append("     start      end  label        confidence  windows")
        for seg in track["segments"]:
            lines.append(
                f"  {_clock(seg['start_s'])} {_clock(seg['end_s'])}  {seg['label']:<11s}"
                f"  {seg['mean_confidence']:10.2f}  {seg['n_windows']:7d}"
            )
    return "\n".join(lines)


def plot_timeline(
    timeline: dict[str, Any], path: str | os.PathLike[str], *, hop_s: float = 1.0, window_s: float = 3.0
) -> None:
    """PNG: per track, stacked class probabilities over time, segments as a coloured band
    on top, no-speech windows greyed out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tracks = timeline["tracks"] or [{"track_index": 0, "windows": [], "segments": []}]
    fig, axes = plt.subplots(len(tracks), 1, figsize=(11, 3.2 * len(tracks)), squeeze=False)
    for ax, track in zip(axes[:, 0], tracks, strict=True):
        windows = track["windows"]
        if windows:
            # Each window drawn over the stretch it owns (its centre hop), as steps.
            spans = owned_spans(
                np.array([w["start_s"] for w in windows]),
                np.array([w["end_s"] for w in windows]),
                hop_s=hop_s,
                window_s=window_s,
            )
            x = spans.reshape(-1)
            stacks = np.array([np.repeat([w[f"p_{e}"] for w in windows], 2) for e in EMOTIONS])
            ax.stackplot(x, stacks, labels=EMOTIONS, colors=[COLOURS[e] for e in EMOTIONS], alpha=0.85)
            for (start, end), w in zip(spans, windows, strict=True):
                if not w["is_speech"]:
                    ax.axvspan(start, end, color="#9e9e9e", alpha=0.9, lw=0, hatch="//", fill=True)
        for seg in track["segments"]:
            ax.axvspan(
                seg["start_s"],
                seg["end_s"],
                ymin=1.02,
                ymax=1.12,
                color=COLOURS.get(seg["label"], "k"),
                clip_on=False,
            )
            if seg["end_s"] - seg["start_s"] > 1.5:
                ax.text(
                    (seg["start_s"] + seg["end_s"]) / 2,
                    1.07,
                    seg["label"],
                    ha="center",
                    va="center",
                    fontsize=8,
                    transform=ax.get_xaxis_transform(),
                )
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.set_title(f"track {track['track_index']}", loc="left", pad=18, fontsize=9)
        ax.margins(x=0)
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="emotion")
    fig.suptitle(f"emotion timeline · model {timeline['model_version']} · grey = no speech", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes):3d}:{rest:05.2f}"
