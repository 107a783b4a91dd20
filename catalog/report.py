"""The library report: one self-contained HTML file of what the catalogue holds.

A report is a list of sections; each chart or table in it comes from one SQL query
(:mod:`catalog.report_sql`) run through :func:`catalog.query`, and shows that SQL under
it, so every number can be checked and the query reused. Images are PNGs inside the
file; nothing is fetched from elsewhere. Only :func:`write_report` touches a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Final

import pyarrow as pa

from catalog import report_sql
from catalog.errors import CatalogError
from catalog.query import query
from catalog.report_charts import affect_scatter, content_bar, mix_bars
from catalog.report_html import block_html, format_value, page_html, section_html
from catalog.schema import EMOTIONS
from catalog.store import Catalog

__all__ = ["SECTION_IDS", "Block", "Section", "build_report", "report_sections", "write_report"]

_SHARES: Final = tuple(f"share_{e}" for e in EMOTIONS)


@dataclass(frozen=True)
class Block:
    """One chart and/or table: ``sql`` gives its rows; ``chart`` turns them into a PNG
    ``data:`` URI (None: no chart); ``columns`` are the ones tabled (default all);
    ``vertical`` tables a one-row result as measure/value pairs; ``empty`` is said when
    the query gives no rows."""

    title: str
    sql: str
    chart: Callable[[pa.Table], str | None] | None = None
    columns: tuple[str, ...] | None = None
    max_rows: int = 50
    note: str = ""
    empty: str = "Nothing tagged yet."
    vertical: bool = False


@dataclass(frozen=True)
class Section:
    """A part of the report: ``section_id`` is the HTML ``id`` (stable, for links and
    tests), then a title, an introduction and its blocks."""

    section_id: str
    title: str
    intro: str
    blocks: tuple[Block, ...]


SECTION_IDS: Final[tuple[str, ...]] = ("overview", "emotion-mix", "by-folder", "dominated", "affect", "runs")


def mix_bars_by(label_column: str) -> Callable[[pa.Table], str | None]:
    """A chart function: stacked emotion-mix bars labelled by ``label_column``."""
    return partial(mix_bars, label_column=label_column)


def report_sections(*, top: int = 10, min_speech_s: float = 60.0) -> tuple[Section, ...]:
    """The report's sections, in order (ids :data:`SECTION_IDS`). ``top``: videos per
    emotion, runs and failures listed; ``min_speech_s``: seconds of speech a video needs
    to be ranked among those most dominated by an emotion."""
    if top < 1:
        raise CatalogError(f"top must be at least 1, got {top}")
    if not min_speech_s >= 0:
        raise CatalogError(f"min_speech_s must be >= 0 seconds, got {min_speech_s}")
    return (
        Section(
            "overview",
            "The library at a glance",
            "Videos by status (each video once, at its newest path), the audio tagged and how much "
            "of it is speech, music or other. Counts use the newest model version of each track.",
            (
                Block(
                    "Videos, hours and content",
                    report_sql.overview_sql(),
                    chart=content_bar,
                    vertical=True,
                    note="audio_hours: the tracks' tagged length; speech_hours: their speech; "
                    "shares of windows (one every hop) by content class, unknown: rows from before "
                    "catalogue schema 3.",
                ),
            ),
        ),
        Section(
            "emotion-mix",
            "Emotion mix",
            "Share of speech time per emotion: each track's probability-weighted shares, weighted by "
            "its seconds of speech. The first bar is the library (newest model per track), then each "
            "model version over every track it tagged.",
            (
                Block(
                    "Overall and per model version", report_sql.emotion_mix_sql(), chart=mix_bars_by("scope")
                ),
                Block(
                    "Drift between model versions",
                    report_sql.model_shift_sql(),
                    note="Each model version against the one that first wrote before it, on the tracks "
                    "both tagged with speech. mix_shift_pp: half the summed absolute differences of the "
                    "eight shares, in percentage points (0: the same mix; 100: nothing in common).",
                    empty="Fewer than two model versions have tagged the same tracks.",
                ),
            ),
        ),
        Section(
            "by-folder",
            "Emotion mix per folder",
            "Per top-level folder below the library root (the deepest folder holding every present "
            "video), newest model per track; videos right in the root count as (library root).",
            (
                Block(
                    "Per top-level folder",
                    report_sql.by_folder_sql(),
                    chart=mix_bars_by("folder"),
                    columns=("folder", "videos", "speech_hours", *_SHARES),
                    note="Folders with the most speech first.",
                ),
            ),
        ),
        Section(
            "dominated",
            "Videos most dominated by each emotion",
            f"For each emotion, the {top} videos whose speech (over their tracks, newest model) is most "
            f"in that emotion, among videos with at least {min_speech_s:g} s of speech.",
            (
                Block(
                    f"Top {top} per emotion",
                    report_sql.dominated_sql(top=top, min_speech_s=min_speech_s),
                    max_rows=top * len(EMOTIONS),
                    empty=f"No video has {min_speech_s:g} s of speech yet.",
                ),
            ),
        ),
        Section(
            "affect",
            "Arousal and valence",
            "Mean arousal and valence of each track's speech (newest model): the probability-weighted "
            "places of the emotions on Russell's circumplex, in [-1, 1].",
            (
                Block(
                    "Per track",
                    report_sql.affect_sql(),
                    chart=affect_scatter,
                    max_rows=top,
                    note=f"The table lists the {top} most aroused tracks.",
                    empty="The model gives no arousal/valence (or no speech is tagged yet).",
                ),
            ),
        ),
        Section(
            "runs",
            "Recent runs, failures and drift",
            "The last runs with what they saw, tagged, skipped and failed; the speech each run tagged "
            "and how its emotion mix moved from the run before; then the videos that failed.",
            (
                Block(
                    f"The last {top} runs",
                    report_sql.runs_sql(top=top),
                    note="speech_hours: speech in the units the run wrote that are still current. "
                    "mix_shift_pp: drift of that speech's emotion mix from the previous run that tagged "
                    "speech (half the summed absolute share differences, percentage points); large "
                    "values mean different material or a different model.",
                    empty="No runs recorded yet.",
                ),
                Block(
                    "Failures",
                    report_sql.failures_sql(top=top),
                    note=f"The {top} most recently seen videos that failed or were tagged only in part.",
                    empty="No failures.",
                ),
            ),
        ),
    )


def _render_block(catalog: Catalog, block: Block) -> str:
    rows = query(catalog, block.sql)
    image = block.chart(rows) if block.chart is not None and rows.num_rows else None
    if block.vertical and rows.num_rows == 1:
        rows = pa.table(
            {
                "measure": rows.column_names,
                "value": [format_value(name, rows.column(name)[0].as_py()) for name in rows.column_names],
            }
        )
    return block_html(
        title=block.title,
        sql=block.sql,
        rows=rows,
        image=image,
        columns=block.columns,
        max_rows=block.max_rows,
        note=block.note,
        empty=block.empty,
    )


def build_report(
    catalog: Catalog,
    *,
    top: int = 10,
    min_speech_s: float = 60.0,
    generated_at: datetime | None = None,
) -> str:
    """The report of ``catalog`` as one HTML page (text). ``generated_at`` (default: now,
    UTC) is the only thing in it that is not a function of the catalogue's contents.
    Raises CatalogError when the catalogue cannot be read.

    An empty catalogue gives every section, each saying there is nothing yet:

    >>> import tempfile
    >>> page = build_report(Catalog(tempfile.mkdtemp()))
    >>> page.count("<section id="), "Nothing is tagged yet" in page
    (6, True)
    """
    sections = report_sections(top=top, min_speech_s=min_speech_s)
    moment = (generated_at or datetime.now(UTC)).astimezone(UTC)
    tagged = query(catalog, "SELECT count(*) AS n FROM units").column("n")[0].as_py()
    facts = [f"Catalogue {catalog.root} · generated {moment.strftime('%Y-%m-%d %H:%M:%S')} UTC"]
    if not tagged:
        facts.append("Nothing is tagged yet: run emotag tag PATH, then make this report again.")
    rendered = [
        (
            section.section_id,
            section.title,
            section_html(
                section_id=section.section_id,
                title=section.title,
                intro=section.intro,
                blocks=[_render_block(catalog, block) for block in section.blocks],
            ),
        )
        for section in sections
    ]
    return page_html(title="emotag library report", facts=facts, sections=rendered)


def write_report(
    catalog: Catalog,
    out: str | os.PathLike[str],
    *,
    top: int = 10,
    min_speech_s: float = 60.0,
    generated_at: datetime | None = None,
) -> Path:
    """Build the report (see :func:`build_report`) and write it to ``out`` atomically
    (a temporary file beside it, then a rename); returns the path written. Raises
    CatalogError when ``out`` cannot be written."""
    text = build_report(catalog, top=top, min_speech_s=min_speech_s, generated_at=generated_at)
    target = Path(out)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CatalogError(f"cannot write the report to {target}: {exc}") from exc
    return target
