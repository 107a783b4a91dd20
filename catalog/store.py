"""The catalogue store: Delta Lake tables under one root, written only through here.

A *unit* ``(video_id, track_index, model_version)`` is written as rows in ``windows``,
``segments`` and ``profiles`` tagged with a fresh ``write_id``, then committed by one
row in ``units`` (a single Delta commit). Readers only see rows whose ``write_id`` is
committed, so a crash between commits leaves invisible orphans, never half a unit;
orphans are purged later. Replacing a unit swaps its marker in one commit.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake import Field as DeltaField
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from catalog.errors import CatalogError
from catalog.paths import display_path
from catalog.schema import SCHEMAS, TABLES, UNIT_TABLES, validate
from catalog.storage import commit_refusal, effective_options
from catalog.units import (
    UnitRows,
    all_write_ids,
    newest_per_unit,
    sql_quote,
    visible_write_ids,
    with_lineage,
)

__all__ = ["Catalog", "UnitRows", "sql_quote"]

T = TypeVar("T")
_RETRIES = 8
_SNAPSHOT_TRIES = 5


class Catalog:
    """Delta Lake catalogue at ``root`` (a folder, or ``s3://``/``gs://``/``az://`` URI with
    ``storage_options`` passed to deltalake, over those of ``EMOTAG_STORAGE_OPTIONS``).

    Every read and write goes through these options. Writes to ``s3://`` are refused
    (:class:`CatalogError`) unless commits are safe for concurrent writers: see
    :func:`catalog.storage.commit_refusal`.

    Units ``(video_id, track_index, model_version)`` are written whole or not at all, and
    writing one again adds nothing:

    >>> import tempfile
    >>> from catalog.testing import make_unit
    >>> catalog = Catalog(tempfile.mkdtemp())
    >>> catalog.write_units([make_unit(1)], run_id="run-1")
    [('video-000001', 0, 'm-000000000001')]
    >>> catalog.write_units([make_unit(1)], run_id="run-2")
    []
    >>> catalog.count("windows"), catalog.count("units")
    (20, 1)
    >>> catalog.open_table("profiles").to_table().column("dominant_label").to_pylist()
    ['happy']
    """

    def __init__(
        self, root: str | os.PathLike[str], *, storage_options: dict[str, str] | None = None
    ) -> None:
        text = os.fspath(root)
        self.is_local = "://" not in text
        self.root = str(Path(text).resolve()) if self.is_local else text.rstrip("/")
        self.storage_options = effective_options(self.root, storage_options)
        self._write_refusal = commit_refusal(self.root, self.storage_options)

    def check_writable(self) -> None:
        """Raise :class:`CatalogError` when this catalogue's configuration makes writes
        unsafe (an ``s3://`` root without conditional puts); reads are always allowed."""
        if self._write_refusal is not None:
            raise CatalogError(self._write_refusal)

    # ------------------------------------------------------------------ setup
    def table_uri(self, name: str) -> str:
        if name not in SCHEMAS:
            raise CatalogError(f"unknown table {name!r}")
        return f"{self.root}/{name}"

    def ensure(self) -> None:
        """Create every missing table (empty, with its schema). Raises
        :class:`CatalogError` at once when the root is not writable."""
        self.check_writable()
        if self.is_local:
            try:
                Path(self.root).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CatalogError(f"cannot create catalogue folder {self.root}: {exc}") from exc
            if not os.access(self.root, os.W_OK):
                raise CatalogError(f"catalogue folder {self.root} is not writable")
        for name in TABLES:
            try:
                DeltaTable.create(
                    self.table_uri(name),
                    schema=SCHEMAS[name],
                    mode="ignore",
                    storage_options=self.storage_options,
                )
            except (DeltaError, OSError) as exc:
                raise CatalogError(f"cannot create table {name}: {exc}") from exc
            self._add_new_columns(name)

    def _add_new_columns(self, name: str) -> None:
        """Bring a table made by an older version up to the schema: columns added since
        are nullable, so old rows read as null and old readers ignore them."""
        table = self._require_existing(name)
        present = {field.name for field in table.schema().fields}
        missing = [field for field in SCHEMAS[name] if field.name not in present]
        if not missing:
            return
        if any(not field.nullable for field in missing):
            raise CatalogError(f"{name}: cannot add required columns to an existing table: {missing}")
        try:
            table.alter.add_columns([DeltaField.from_arrow(field) for field in missing])
        except (DeltaError, OSError) as exc:
            raise CatalogError(f"cannot add columns {[f.name for f in missing]} to {name}: {exc}") from exc

    def _require_existing(self, name: str) -> DeltaTable:
        table = self._table(name)
        if table is None:
            raise CatalogError(f"table {name} vanished from {self.root}")
        return table

    def _table(self, name: str, *, as_of: int | str | datetime | None = None) -> DeltaTable | None:
        try:
            table = DeltaTable(self.table_uri(name), storage_options=self.storage_options)
        except TableNotFoundError:
            return None
        if as_of is not None:
            try:
                table.load_as_version(as_of)
            except (DeltaError, ValueError, OSError):
                return None  # the table did not exist yet at that time
        return table

    def _require(self, name: str) -> DeltaTable:
        table = self._table(name)
        if table is None:
            self.ensure()
            table = self._table(name)
        assert table is not None
        return table

    # ----------------------------------------------------------------- writes
    def write_units(
        self, units: Sequence[UnitRows], *, run_id: str, replace: bool = False
    ) -> list[tuple[str, int, str]]:
        """Write ``units`` and commit them; returns the keys this call committed.

        Without ``replace``, a unit already committed is left alone (skipped, and not in
        the result). With ``replace``, the new rows take the old ones' place atomically.
        Two writers racing on one unit end with exactly one committed copy.
        """
        if not units:
            return []
        self.check_writable()
        keys = [u.key for u in units]
        if len(set(keys)) != len(keys):
            raise CatalogError("the same unit appears twice in one write")
        existing = visible_write_ids(self._marker_rows(), keys)
        todo = [u for u in units if replace or u.key not in existing]
        if not todo:
            return []
        now = datetime.now(UTC)
        write_ids = {u.key: uuid.uuid4().hex for u in todo}
        for name, attribute in (
            ("windows", "windows"),
            ("segments", "segments"),
            ("profiles", "profile"),
        ):
            parts = [with_lineage(getattr(u, attribute), run_id, write_ids[u.key], now) for u in todo]
            rows = validate(name, pa.concat_tables(parts))
            if rows.num_rows:
                self._retry(functools.partial(self._append, name, rows))
        markers = validate(
            "units",
            pa.table(
                {
                    "video_id": [u.video_id for u in todo],
                    "track_index": pa.array([u.track_index for u in todo], pa.int32()),
                    "model_version": [u.model_version for u in todo],
                    "write_id": [write_ids[u.key] for u in todo],
                    "run_id": [run_id] * len(todo),
                    "n_windows": pa.array([u.windows.num_rows for u in todo], pa.int32()),
                    "committed_at": pa.array([now] * len(todo), SCHEMAS["units"].field("committed_at").type),
                }
            ),
        )
        self._retry(functools.partial(self._append, "units", markers))
        # Markers are only ever appended; the newest marker of a unit is the visible one.
        # Racing writers (or a replacement) thus leave several: the winner removes the
        # others' rows and markers, a loser its own. Rows without any marker are left to
        # purge_orphans(): they may belong to a writer still in flight.
        # One snapshot for both views: reading twice would let a marker appended in
        # between make two writers each believe they won and delete the other.
        snapshot = self._marker_rows()
        visible = visible_write_ids(snapshot, [u.key for u in todo])
        every = all_write_ids(snapshot, [u.key for u in todo])
        mine = [k for k in write_ids if visible.get(k) == write_ids[k]]
        doomed = [write_ids[k] for k in write_ids if visible.get(k) != write_ids[k]]
        for key in mine:
            doomed += [w for w in every.get(key, []) if w != write_ids[key]]
        if doomed:
            self._delete_write_ids(sorted(set(doomed)))
        # A racing writer may have committed a newer marker since that snapshot: report
        # only the units whose visible marker is still this write's.
        if mine:
            now_visible = visible_write_ids(self._marker_rows(), mine)
            mine = [k for k in mine if now_visible.get(k) == write_ids[k]]
        return mine

    def record_videos(self, rows: pa.Table) -> None:
        """Upsert ``videos`` rows keyed by ``(video_id, path)``; ``first_seen_at`` of a known
        row is kept, every other column is updated."""
        rows = validate("videos", rows)
        if rows.num_rows == 0:
            return
        keys = list(zip(rows.column("video_id").to_pylist(), rows.column("path").to_pylist(), strict=True))
        predicate = " OR ".join(
            f"(video_id = {sql_quote(v)} AND path = {sql_quote(p)})" for v, p in sorted(set(keys))
        )

        def upsert() -> None:
            known = self.open_table("videos").to_table(
                columns=["video_id", "path", "first_seen_at"],
                filter=pc.field("video_id").isin(sorted({k[0] for k in keys})),
            )
            first_seen = {
                (v, p): t
                for v, p, t in zip(*(known.column(c).to_pylist() for c in known.column_names), strict=True)
            }
            merged = rows.set_column(
                rows.schema.get_field_index("first_seen_at"),
                rows.schema.field("first_seen_at"),
                pa.array(
                    [
                        first_seen.get(k, t)
                        for k, t in zip(keys, rows.column("first_seen_at").to_pylist(), strict=True)
                    ],
                    rows.schema.field("first_seen_at").type,
                ),
            )
            self._replace_where("videos", merged, predicate)

        self._retry(upsert)

    def record_tracks(self, rows: pa.Table) -> None:
        """Replace the ``tracks`` rows of every video in ``rows`` with ``rows``."""
        rows = validate("tracks", rows)
        if rows.num_rows == 0:
            return
        ids = sorted(set(rows.column("video_id").to_pylist()))
        predicate = "video_id IN (" + ", ".join(sql_quote(v) for v in ids) + ")"
        self._retry(functools.partial(self._replace_where, "tracks", rows, predicate))

    def mark_missing(self, *, root: str, seen_paths: Iterable[str]) -> int:
        """Set ``status='missing'`` on videos whose path lies under ``root`` but was not seen
        in this walk; returns how many rows changed."""
        seen = {display_path(p) for p in seen_paths}
        prefix = display_path(root).rstrip("/") + "/"
        videos = self.open_table("videos").to_table()
        paths = videos.column("path").to_pylist()
        statuses = videos.column("status").to_pylist()
        gone = [
            i
            for i, (path, status) in enumerate(zip(paths, statuses, strict=True))
            if path.startswith(prefix) and path not in seen and status != "missing"
        ]
        if not gone:
            return 0
        changed = videos.take(pa.array(gone))
        changed = changed.set_column(
            changed.schema.get_field_index("status"),
            "status",
            pa.array(["missing"] * len(gone), pa.string()),
        )
        self.record_videos(changed)
        return len(gone)

    def write_run(self, row: dict[str, Any]) -> None:
        """Insert or update the ``runs`` row of ``row['run_id']``."""
        schema = SCHEMAS["runs"]
        rows = validate(
            "runs", pa.Table.from_pylist([{f.name: row.get(f.name) for f in schema}], schema=schema)
        )
        predicate = f"run_id = {sql_quote(str(row['run_id']))}"
        self._retry(functools.partial(self._replace_where, "runs", rows, predicate))

    # ------------------------------------------------------------ maintenance
    def purge_orphans(self, *, min_age: timedelta = timedelta(hours=1)) -> int:
        """Delete unit rows whose ``write_id`` was never committed (a crashed or lost
        write) and that are older than ``min_age`` (younger ones may be in flight)."""
        rows = self._marker_rows()
        committed = set(newest_per_unit(rows).column("write_id").to_pylist())
        stale_markers = set(rows.column("write_id").to_pylist()) - committed
        cutoff = datetime.now(UTC) - min_age
        orphans: set[str] = set()
        for name in UNIT_TABLES:
            table = self._table(name)
            if table is None:
                continue
            scanned = self._dataset(table, name).to_table(
                columns=["write_id"],
                filter=pc.field("tagged_at") < pa.scalar(cutoff, SCHEMAS[name].field("tagged_at").type),
            )
            orphans |= set(pc.unique(scanned.column("write_id")).to_pylist()) - committed
        orphans |= stale_markers
        if orphans:
            self._delete_write_ids(sorted(orphans))
        return len(orphans)

    def compact(self) -> dict[str, Any]:
        """Rewrite small files into large ones (``optimize.compact``) in every table."""
        self.check_writable()
        report: dict[str, Any] = {}
        for name in TABLES:
            if self._table(name) is not None:
                report[name] = self._retry(functools.partial(self._compact_one, name))
        return report

    def vacuum(self, *, retention_hours: int = 168) -> dict[str, int]:
        """Delete files no longer referenced and older than ``retention_hours``."""
        self.check_writable()
        removed: dict[str, int] = {}
        for name in TABLES:
            table = self._table(name)
            if table is not None:
                files = table.vacuum(
                    retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False
                )
                removed[name] = len(files)
        return removed

    def export_parquet(self, dest: str | os.PathLike[str]) -> dict[str, int]:
        """Write the visible rows of every table to ``dest/<table>.parquet`` (plain Parquet
        for tools that cannot read Delta); returns row counts."""
        folder = Path(dest)
        folder.mkdir(parents=True, exist_ok=True)
        counts = {}
        for name in TABLES:
            rows = self.open_table(name).to_table()
            pq.write_table(rows, folder / f"{name}.parquet")
            counts[name] = rows.num_rows
        return counts

    # ------------------------------------------------------------------ reads
    def version(self) -> int:
        """Version of the ``units`` table: the catalogue's commit counter for time travel."""
        table = self._table("units")
        return -1 if table is None else int(table.version())

    def open_table(self, name: str, *, as_of: int | str | datetime | None = None) -> ds.Dataset:
        """Dataset of the visible rows of table ``name`` (optionally as of a catalogue
        version or an ISO timestamp / datetime)."""
        moment = self._resolve_as_of(as_of)
        if name not in UNIT_TABLES:
            return self._rows_dataset(name, as_of=moment)
        # Rows and markers are read as one consistent pair: markers first, then rows,
        # then a check that no marker was committed meanwhile (a writer deletes rows only
        # after committing its marker). Otherwise a reader could see a replacement's new
        # marker without its rows: a committed unit with no rows.
        for _ in range(_SNAPSHOT_TRIES):
            units = self._table("units", as_of=moment)
            markers = (
                pa.Table.from_batches([], schema=SCHEMAS["units"])
                if units is None
                else self._dataset(units, "units").to_table()
            )
            dataset = self._rows_dataset(name, as_of=moment)
            if moment is not None or self.version() == (-1 if units is None else units.version()):
                break
        committed = pa.array(newest_per_unit(markers).column("write_id").to_pylist(), pa.string())
        return dataset.filter(pc.field("write_id").isin(committed))

    def _rows_dataset(self, name: str, *, as_of: str | datetime | None) -> ds.Dataset:
        table = self._table(name, as_of=as_of)
        if table is None:
            return ds.dataset(pa.Table.from_batches([], schema=SCHEMAS[name]))
        return self._dataset(table, name)

    def count(self, name: str) -> int:
        return int(self.open_table(name).count_rows())

    def done_units(self, model_version: str) -> set[tuple[str, int]]:
        """``(video_id, track_index)`` of units committed for ``model_version``."""
        markers = self._all_markers().filter(pc.field("model_version") == model_version)
        return set(
            zip(
                markers.column("video_id").to_pylist(),
                markers.column("track_index").to_pylist(),
                strict=True,
            )
        )

    # --------------------------------------------------------------- helpers
    def _resolve_as_of(self, as_of: int | str | datetime | None) -> str | datetime | None:
        if as_of is None or isinstance(as_of, datetime):
            return as_of
        if isinstance(as_of, int):
            units = self._table("units")
            if units is None:
                raise CatalogError("the catalogue is empty: no version to travel to")
            for entry in units.history():
                if int(entry.get("version", -1)) == as_of:
                    return datetime.fromtimestamp(entry["timestamp"] / 1000.0, tz=UTC)
            raise CatalogError(f"no catalogue version {as_of} (latest is {units.version()})")
        try:
            moment = datetime.fromisoformat(as_of)
        except ValueError as exc:
            raise CatalogError(f"as_of must be a version number or an ISO timestamp, got {as_of!r}") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _all_markers(self, *, as_of: str | datetime | None = None) -> pa.Table:
        """Visible commit markers: one per unit, the newest when racing writers left two."""
        return newest_per_unit(self._marker_rows(as_of=as_of))

    def _dataset(self, table: DeltaTable, name: str) -> ds.Dataset:
        """The table's current files as a pyarrow dataset with the catalogue schema.

        Local catalogues read the Parquet files with pyarrow's own file system: the
        deltalake-provided one for pyarrow has been seen to abort the process at exit
        (delta-rs issue 2184). Object stores go through deltalake.
        """
        if self.is_local:
            return ds.dataset(table.file_uris(), schema=SCHEMAS[name], format="parquet")
        return table.to_pyarrow_dataset(schema=SCHEMAS[name])

    def _marker_rows(self, *, as_of: str | datetime | None = None) -> pa.Table:
        """Every row of ``units`` (one snapshot), possibly several per unit."""
        table = self._table("units", as_of=as_of)
        return (
            pa.Table.from_batches([], schema=SCHEMAS["units"])
            if table is None
            else self._dataset(table, "units").to_table()
        )

    def _append(self, name: str, rows: pa.Table) -> None:
        self.check_writable()
        write_deltalake(
            self.table_uri(name),
            rows,
            mode="append",
            storage_options=self.storage_options,
            commit_properties=CommitProperties(max_commit_retries=_RETRIES),
        )

    def _compact_one(self, name: str) -> dict[str, Any]:
        self.check_writable()
        metrics: dict[str, Any] = self._require(name).optimize.compact()
        return metrics

    def _delete_where(self, name: str, predicate: str) -> None:
        empty = pa.Table.from_batches([], schema=SCHEMAS[name])
        self._replace_where(name, empty, predicate)

    def _replace_where(self, name: str, rows: pa.Table, predicate: str) -> None:
        """Delete the rows matching ``predicate`` and add ``rows``, in one commit.

        Used instead of deltalake's ``merge``/``delete``, which (deltalake 1.6) rewrite
        files with Arrow ``string_view`` columns that PyArrow cannot filter on
        (delta-rs issue 4579); ``overwrite`` with a predicate writes plain strings.
        """
        self.check_writable()
        self._require(name)
        write_deltalake(
            self.table_uri(name),
            rows,
            mode="overwrite",
            predicate=predicate,
            storage_options=self.storage_options,
            commit_properties=CommitProperties(max_commit_retries=_RETRIES),
        )

    def _delete_write_ids(self, write_ids: Sequence[str]) -> None:
        for start in range(0, len(write_ids), 500):
            chunk = write_ids[start : start + 500]
            predicate = "write_id IN (" + ", ".join(sql_quote(w) for w in chunk) + ")"
            for name in (*UNIT_TABLES, "units"):
                if self._table(name) is not None:
                    self._retry(functools.partial(self._delete_where, name, predicate))

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``; on a commit conflict with a concurrent writer, back off and
        retry (the action re-reads the table). Storage errors become CatalogError."""
        delay = 0.05
        for attempt in range(_RETRIES + 1):
            try:
                return action()
            except CommitFailedError as exc:
                if attempt == _RETRIES:
                    raise CatalogError(f"commit kept conflicting after {_RETRIES} retries: {exc}") from exc
            except DeltaError as exc:
                if "conflict" not in str(exc).lower() or attempt == _RETRIES:
                    raise CatalogError(f"catalogue write failed: {exc}") from exc
            except OSError as exc:
                raise CatalogError(f"catalogue storage error: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")
