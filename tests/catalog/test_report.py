"""The library report: every section, numbers that its own SQL gives back, nothing
fetched from elsewhere, hostile names shown as text, an empty catalogue, determinism;
and (slow) the page as a real browser draws it."""

from __future__ import annotations

import base64
import dataclasses
import html
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from catalog import SCHEMAS, Catalog, query
from catalog.errors import CatalogError
from catalog.report import SECTION_IDS, build_report, report_sections, write_report
from catalog.report_html import format_value
from catalog.rows import video_row
from catalog.schema import EMOTIONS
from catalog.testing import make_unit
from catalog.units import UnitRows

OLD, NEW = "m-000000000001", "m-000000000002"
T0 = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
AT = datetime(2024, 3, 2, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)<img src=x onerror=alert(2)>.mp4"
PATHS = {  # video index -> path; the library root is /srv/lib
    0: "/srv/lib/news/morning.mp4",
    1: "/srv/lib/news/deep/evening.mp4",
    2: f"/srv/lib/<i>film$x$/{HOSTILE}",
    3: "/srv/lib/loose.mp4",
    4: "/srv/lib/film2/a.mkv",
}
N_WINDOWS = {0: 900, 1: 700, 2: 800, 3: 40, 4: 600}


def unit(index: int, *, model_version: str = OLD, affect: bool = True) -> UnitRows:
    """``make_unit`` with seeded, uneven emotion shares (its own are all 1/8)."""
    base = make_unit(index, n_windows=N_WINDOWS[index], model_version=model_version)
    rng = np.random.default_rng(100 + index + (50 if model_version == NEW else 0))
    shares = rng.dirichlet(np.full(len(EMOTIONS), 0.4)).astype(np.float32)
    profile = base.profile
    for name, share in zip(EMOTIONS, shares, strict=True):
        column = profile.schema.get_field_index(f"share_{name}")
        profile = profile.set_column(column, f"share_{name}", pa.array([share], pa.float32()))
    dominant = profile.schema.get_field_index("dominant_label")
    profile = profile.set_column(dominant, "dominant_label", pa.array([EMOTIONS[int(shares.argmax())]]))
    if not affect:
        for name in ("mean_arousal", "mean_valence"):
            column = profile.schema.get_field_index(name)
            profile = profile.set_column(column, name, pa.nulls(1, pa.float32()))
    return dataclasses.replace(base, profile=profile)


def record_videos(catalog: Catalog, paths: dict[int, str], *, failed: str | None = None) -> None:
    rows = [
        video_row(video_id=f"video-{i:06d}", path=p, size_bytes=1, mtime=0, status="ok", seen_at=T0)
        for i, p in paths.items()
    ]
    if failed is not None:
        rows.append(
            video_row(
                video_id="broken",
                path="/srv/lib/news/broken.mp4",
                size_bytes=0,
                mtime=0,
                status="failed",
                error=failed,
                seen_at=T0 + timedelta(hours=1),
            )
        )
    catalog.record_videos(pa.Table.from_pylist(rows, schema=SCHEMAS["videos"]))


def write_run(catalog: Catalog, run_id: str, started_at: datetime, **counts: int) -> None:
    catalog.write_run(
        {
            "run_id": run_id,
            "flow": "tag-paths",
            "model_version": OLD,
            "status": "completed",
            "started_at": started_at,
            "finished_at": started_at + timedelta(minutes=5),
            **counts,
        }
    )


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Five videos under /srv/lib tagged by OLD (run r1), two of them again by NEW
    (run r2, later), one failed video, two runs."""
    catalog = Catalog(tmp_path_factory.mktemp("report") / "catalog")
    catalog.ensure()
    old = [unit(i) for i in PATHS]
    new = [unit(i, model_version=NEW) for i in (0, 2)]
    catalog.write_units(old, run_id="r1")
    catalog.write_units(new, run_id="r2")
    record_videos(catalog, PATHS, failed="decode failed: <b>boom</b>")
    write_run(catalog, "r1", T0, n_seen=6, n_tagged=5, n_skipped=0, n_failed=1)
    write_run(catalog, "r2", T0 + timedelta(hours=3), n_seen=6, n_tagged=2, n_skipped=4, n_failed=0)
    latest = {u.video_id: u for u in old} | {u.video_id: u for u in new}
    page = build_report(catalog, top=3, min_speech_s=60, generated_at=AT)
    return {"catalog": catalog, "page": page, "latest": latest, "old": old, "new": new}


def sections(page: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', page, flags=re.S))


def blocks(section: str) -> list[str]:
    return re.findall(r'<div class="block">(.*?)</div>', section, flags=re.S)


def shown_sql(block: str) -> str:
    found = re.search(r'<pre class="sql"><code>(.*?)</code></pre>', block, flags=re.S)
    assert found is not None
    return html.unescape(found.group(1))


def cells(block: str) -> tuple[list[str], list[str]]:
    heads = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", block)]
    values = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", block)]
    return heads, values


def percent(text: str) -> float:
    assert text.endswith(" %"), text
    return float(text[:-2]) / 100


def mix(units: list[UnitRows]) -> dict[str, float]:
    """Share of speech time per emotion over ``units``, computed here from the rows."""
    speech = np.array([u.profile.column("speech_s")[0].as_py() for u in units])
    return {
        e: float(
            sum(u.profile.column(f"share_{e}")[0].as_py() * s for u, s in zip(units, speech, strict=True))
        )
        / float(speech.sum())
        for e in EMOTIONS
    }


def test_every_section_is_there_with_a_heading(library: dict[str, Any]) -> None:
    page = library["page"]
    assert page.startswith("<!DOCTYPE html>")
    found = sections(page)
    assert list(found) == list(SECTION_IDS)
    for section_id, body in found.items():
        assert body.startswith("<h2>"), section_id
        assert f'href="#{section_id}"' in page
        assert blocks(body), section_id


def test_each_table_is_what_its_sql_gives(library: dict[str, Any]) -> None:
    catalog = library["catalog"]
    checked = 0
    for body in sections(library["page"]).values():
        for block in blocks(body):
            heads, values = cells(block)
            if not heads:
                continue
            result = query(catalog, shown_sql(block))
            if heads == ["measure", "value"]:  # a one-row result tabled vertically
                expected = [x for name in result.column_names for x in (name, "")]
                expected[1::2] = [format_value(n, result.column(n)[0].as_py()) for n in result.column_names]
            else:
                rows = result.to_pylist()[: len(values) // len(heads)]
                expected = [format_value(name, row[name]) for row in rows for name in heads]
            assert values == expected
            checked += 1
    assert checked >= 7


def test_hours_and_mix_match_the_rows_written(library: dict[str, Any]) -> None:
    latest = list(library["latest"].values())
    heads, values = cells(blocks(sections(library["page"])["overview"])[0])
    shown = dict(zip(values[0::2], values[1::2], strict=True))
    # segments tile each track: make_unit's end at n_windows + 2 s
    audio_s = sum(N_WINDOWS[int(u.video_id[-6:])] + 2.0 for u in latest)
    speech_s = sum(u.profile.column("speech_s")[0].as_py() for u in latest)
    assert shown["audio_hours"] == f"{audio_s / 3600:,.2f}"
    assert shown["speech_hours"] == f"{speech_s / 3600:,.2f}"
    assert (shown["videos"], shown["videos_tagged"], shown["videos_failed"]) == ("6", "5", "1")
    assert sum(percent(shown[f"share_{k}"]) for k in ("speech", "music", "other", "unknown")) == (
        pytest.approx(1, abs=0.003)
    )

    heads, values = cells(blocks(sections(library["page"])["emotion-mix"])[0])
    first = dict(zip(heads, values[: len(heads)], strict=True))
    assert first["scope"].startswith("library")
    for emotion, share in mix(latest).items():  # the newer model's rows where it tagged
        assert percent(first[f"share_{emotion}"]) == pytest.approx(share, abs=0.0006)


def test_folders_are_relative_to_the_common_root(library: dict[str, Any]) -> None:
    body = sections(library["page"])["by-folder"]
    heads, values = cells(blocks(body)[0])
    folders = values[heads.index("folder") :: len(heads)]
    assert sorted(folders) == sorted(["news", "<i>film$x$", "(library root)", "film2"])
    assert "&lt;i&gt;film$x$" in body
    assert "<img" in body and 'src="data:image/png' in body


def test_the_most_dominated_videos_come_first(library: dict[str, Any]) -> None:
    latest = library["latest"]
    heads, values = cells(blocks(sections(library["page"])["dominated"])[0])
    rows = [
        dict(zip(heads, values[i : i + len(heads)], strict=True)) for i in range(0, len(values), len(heads))
    ]
    speech = {v: u.profile.column("speech_s")[0].as_py() for v, u in latest.items()}
    eligible = [v for v, s in speech.items() if s >= 60]  # video 3 has too little speech
    assert "video-000003" not in eligible and "/srv/lib/loose.mp4" not in values
    for emotion in EMOTIONS:
        ranked = sorted(eligible, key=lambda v: -latest[v].profile.column(f"share_{emotion}")[0].as_py())
        shown = [r["path"] for r in rows if r["emotion"] == emotion]
        assert shown == [PATHS[int(v[-6:])] for v in ranked[:3]]


def test_drift_between_runs_and_model_versions(library: dict[str, Any]) -> None:
    runs = sections(library["page"])["runs"]
    heads, values = cells(blocks(runs)[0])
    rows = [
        dict(zip(heads, values[i : i + len(heads)], strict=True)) for i in range(0, len(values), len(heads))
    ]
    assert [r["run_id"] for r in rows] == ["r2", "r1"]
    before, after = mix(library["old"]), mix(library["new"])
    shift = 50 * sum(abs(after[e] - before[e]) for e in EMOTIONS)
    assert float(rows[0]["mix_shift_pp"]) == pytest.approx(shift, abs=0.051)
    assert rows[1]["mix_shift_pp"] == "—"  # no run before the first
    assert "decode failed: &lt;b&gt;boom&lt;/b&gt;" in blocks(runs)[1]

    heads, values = cells(blocks(sections(library["page"])["emotion-mix"])[1])
    shared = [u for u in library["old"] if u.video_id in {n.video_id for n in library["new"]}]
    before = mix(shared)
    expected = 50 * sum(abs(after[e] - before[e]) for e in EMOTIONS)
    row = dict(zip(heads, values, strict=True))
    assert (row["old_version"], row["new_version"], row["tracks"]) == (OLD, NEW, "2")
    assert float(row["mix_shift_pp"]) == pytest.approx(expected, abs=0.051)


class _Nesting(HTMLParser):
    """Checks that every element is closed, in order (void elements need no end tag)."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.errors.append(tag)


def test_the_page_is_well_nested(library: dict[str, Any]) -> None:
    parser = _Nesting()
    parser.feed(library["page"])
    parser.close()
    assert parser.errors == [] and parser.open == []


def test_images_are_embedded_and_nothing_is_remote(library: dict[str, Any]) -> None:
    page = library["page"]
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert len(sources) >= 4
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert not re.search(r'\b(src|href)="(https?:)?//', page)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "default-src 'none'" in page


def test_a_hostile_path_is_shown_as_text(library: dict[str, Any]) -> None:
    page = library["page"]
    assert HOSTILE not in page
    assert html.escape(HOSTILE) in page
    assert "<img src=x" not in page and "<i>" not in page


def test_the_same_catalogue_gives_the_same_report(library: dict[str, Any]) -> None:
    catalog = library["catalog"]
    again = build_report(catalog, top=3, min_speech_s=60, generated_at=AT)
    assert again == library["page"]
    later = build_report(catalog, top=3, min_speech_s=60, generated_at=AT + timedelta(days=1))
    differ = [(a, b) for a, b in zip(again.splitlines(), later.splitlines(), strict=True) if a != b]
    assert len(differ) == 1 and "generated 2024-03-02" in differ[0][0]


def test_without_arousal_the_report_says_so(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    catalog.write_units([unit(i, affect=False) for i in (0, 1)], run_id="r1")
    record_videos(catalog, {i: PATHS[i] for i in (0, 1)})
    affect = sections(build_report(catalog, generated_at=AT))["affect"]
    assert "The model gives no arousal/valence" in affect
    assert "<img" not in affect and "<table" not in affect


def test_one_folder_for_everything_goes_one_level_deeper(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog")
    catalog.write_units([unit(i) for i in (0, 1)], run_id="r1")
    record_videos(catalog, {0: "/a/lib/news/x.mp4", 1: "/a/lib/news/sport/y.mp4"})
    rows = query(catalog, report_sections()[2].blocks[0].sql).to_pylist()
    assert sorted((r["library_root"], r["folder"]) for r in rows) == [
        ("/a/lib/news", "(library root)"),
        ("/a/lib/news", "sport"),
    ]


@pytest.mark.parametrize("make", [False, True])
def test_an_empty_catalogue_gives_a_report_that_says_so(tmp_path: Path, make: bool) -> None:
    catalog = Catalog(tmp_path / "catalog")
    if make:
        catalog.ensure()
    page = build_report(catalog, generated_at=AT)
    assert list(sections(page)) == list(SECTION_IDS)
    assert "Nothing is tagged yet" in page
    assert "<img" not in page


def test_write_report_replaces_the_file_whole(library: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("old")
    written = write_report(library["catalog"], out, top=3, min_speech_s=60, generated_at=AT)
    assert written == out
    assert out.read_text(encoding="utf-8") == library["page"]
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(CatalogError):
        write_report(library["catalog"], tmp_path / "absent" / "report.html")


@pytest.mark.parametrize("options", [{"top": 0}, {"min_speech_s": -1.0}, {"min_speech_s": float("nan")}])
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(CatalogError):
        report_sections(**options)


@pytest.fixture
def browser() -> str:
    """A headless-capable Chromium on PATH, or a skip saying there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium, chromium-browser or google-chrome on PATH (Debian: apt install chromium)")


@pytest.mark.slow
def test_a_browser_draws_every_section(browser: str, library: dict[str, Any], tmp_path: Path) -> None:
    out = write_report(library["catalog"], tmp_path / "report.html", top=3, min_speech_s=60, generated_at=AT)
    flags = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",  # a closed network: no update or sync lookups
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,4000",
    ]
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", out.as_uri()], check=True, capture_output=True, timeout=120
    )
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    colours = np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # text, tables and charts, not a blank page
    dom = subprocess.run(
        [*flags, "--dump-dom", out.as_uri()], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    for section_id in SECTION_IDS:
        assert f'id="{section_id}"' in dom
