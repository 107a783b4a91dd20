"""The catalogue's tables as pyarrow schemas: the one place they are defined.

Times in rows are seconds from the start of the track (float64); timestamps are UTC.
``write_id`` ties the rows of one unit write to its commit marker in ``units``:
readers only see rows whose ``write_id`` is committed there.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from catalog.errors import CatalogError

__all__ = [
    "CONTENT_CLASSES",
    "EMOTIONS",
    "SCHEMAS",
    "TABLES",
    "UNIT_TABLES",
    "validate",
]

EMOTIONS: Final[tuple[str, ...]] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)

CONTENT_CLASSES: Final[tuple[str, ...]] = ("speech", "music", "other")
"""Values of ``windows.content`` (what a window holds; only speech gets an emotion)."""

_TS = pa.timestamp("us", tz="UTC")
_UNIT_KEY = [
    pa.field("video_id", pa.string(), nullable=False),
    pa.field("track_index", pa.int32(), nullable=False),
    pa.field("model_version", pa.string(), nullable=False),
]
_LINEAGE = [
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("write_id", pa.string(), nullable=False),
    pa.field("tagged_at", _TS, nullable=False),
]

SCHEMAS: Final[dict[str, pa.Schema]] = {
    "videos": pa.schema(
        [
            pa.field("video_id", pa.string(), nullable=False),
            pa.field("path", pa.string(), nullable=False),
            # The name's exact bytes; ``path`` shows bytes that are not UTF-8 as \xNN.
            # Added in catalogue schema 2: null in rows written before it.
            pa.field("path_bytes", pa.binary()),
            pa.field("size_bytes", pa.int64()),
            pa.field("mtime", _TS),
            pa.field("duration_s", pa.float64()),
            pa.field("container", pa.string()),
            pa.field("n_audio_tracks", pa.int32()),
            pa.field("status", pa.string(), nullable=False),
            pa.field("error", pa.string()),
            pa.field("first_seen_at", _TS, nullable=False),
            pa.field("last_seen_at", _TS, nullable=False),
        ]
    ),
    "tracks": pa.schema(
        [
            pa.field("video_id", pa.string(), nullable=False),
            pa.field("track_index", pa.int32(), nullable=False),
            pa.field("codec", pa.string()),
            pa.field("channels", pa.int32()),
            pa.field("sample_rate", pa.int32()),
            pa.field("language", pa.string()),
            pa.field("duration_s", pa.float64()),
        ]
    ),
    "windows": pa.schema(
        [
            *_UNIT_KEY,
            pa.field("start_s", pa.float64(), nullable=False),
            pa.field("end_s", pa.float64(), nullable=False),
            pa.field("is_speech", pa.bool_(), nullable=False),
            # speech / music / other; is_speech is content = 'speech'. Added in
            # catalogue schema 3: null in rows written before it.
            pa.field("content", pa.string()),
            pa.field("label", pa.string(), nullable=False),
            pa.field("confidence", pa.float32(), nullable=False),
            *(pa.field(f"p_{name}", pa.float32(), nullable=False) for name in EMOTIONS),
            # [-1, 1] from the probabilities (tagger.affect); null without speech and in
            # rows written before catalogue schema 4
            pa.field("arousal", pa.float32()),
            pa.field("valence", pa.float32()),
            *_LINEAGE,
        ]
    ),
    "segments": pa.schema(
        [
            *_UNIT_KEY,
            pa.field("start_s", pa.float64(), nullable=False),
            pa.field("end_s", pa.float64(), nullable=False),
            pa.field("label", pa.string(), nullable=False),
            pa.field("mean_confidence", pa.float32(), nullable=False),
            pa.field("n_windows", pa.int32(), nullable=False),
            # over the segment's speech windows; null for no_speech (schema 4)
            pa.field("mean_arousal", pa.float32()),
            pa.field("mean_valence", pa.float32()),
            *_LINEAGE,
        ]
    ),
    "profiles": pa.schema(
        [
            *_UNIT_KEY,
            pa.field("speech_s", pa.float64(), nullable=False),
            *(pa.field(f"share_{name}", pa.float32(), nullable=False) for name in EMOTIONS),
            pa.field("dominant_label", pa.string(), nullable=False),
            # of the speech time's emotion shares; null without speech (schema 4)
            pa.field("mean_arousal", pa.float32()),
            pa.field("mean_valence", pa.float32()),
            *_LINEAGE,
        ]
    ),
    "units": pa.schema(
        [
            *_UNIT_KEY,
            pa.field("write_id", pa.string(), nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("n_windows", pa.int32(), nullable=False),
            pa.field("committed_at", _TS, nullable=False),
        ]
    ),
    "runs": pa.schema(
        [
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("flow", pa.string(), nullable=False),
            pa.field("params", pa.string()),
            pa.field("model_version", pa.string()),
            pa.field("code_version", pa.string()),
            pa.field("status", pa.string(), nullable=False),
            pa.field("started_at", _TS, nullable=False),
            pa.field("finished_at", _TS),
            pa.field("n_seen", pa.int32()),
            pa.field("n_tagged", pa.int32()),
            pa.field("n_skipped", pa.int32()),
            pa.field("n_failed", pa.int32()),
        ]
    ),
}

TABLES: Final[tuple[str, ...]] = tuple(SCHEMAS)
UNIT_TABLES: Final[tuple[str, ...]] = ("windows", "segments", "profiles")
"""Tables whose rows belong to a unit ``(video_id, track_index, model_version)``."""


def validate(name: str, table: pa.Table) -> pa.Table:
    """Return ``table`` with columns in schema order, or raise :class:`CatalogError`.

    Column names must match exactly and types must be equal (an all-null column may
    stand for any type); required (non-nullable) columns must hold no nulls. Nothing
    is converted silently: a float64 where float32 is declared is an error.
    """
    if name not in SCHEMAS:
        raise CatalogError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
    schema = SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in table.column_names]
    extra = [c for c in table.column_names if c not in schema.names]
    if missing or extra:
        raise CatalogError(f"{name}: missing columns {missing}, unexpected columns {extra}")
    columns = []
    for field in schema:
        column = table.column(field.name)
        if column.type != field.type:
            if pa.types.is_null(column.type):
                column = column.cast(field.type)
            else:
                raise CatalogError(f"{name}.{field.name}: type {column.type}, schema says {field.type}")
        if not field.nullable and column.null_count:
            raise CatalogError(f"{name}.{field.name}: {column.null_count} null(s) in a required column")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)
