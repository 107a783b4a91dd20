"""Read-only SQL over the catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog import Catalog, CatalogError, query
from catalog.testing import make_unit


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    store = Catalog(tmp_path / "catalog")
    store.ensure()
    store.write_units([make_unit(i) for i in range(3)], run_id="r1")
    return store


def test_queries_see_every_table(catalog: Catalog) -> None:
    result = query(catalog, "SELECT video_id, count(*) AS n FROM windows GROUP BY video_id ORDER BY video_id")
    assert result.to_pylist() == [{"video_id": f"video-{i:06d}", "n": 20} for i in range(3)]
    joined = query(
        catalog,
        "SELECT p.dominant_label, count(*) AS n FROM profiles p "
        "JOIN units u USING (video_id, track_index, model_version) GROUP BY 1",
    )
    assert joined.to_pylist() == [{"dominant_label": "happy", "n": 3}]


def test_probabilities_in_rows_sum_to_one(catalog: Catalog) -> None:
    sums = query(
        catalog,
        "SELECT max(abs(p_neutral + p_calm + p_happy + p_sad + p_angry + p_fearful"
        " + p_disgust + p_surprised - 1)) AS err FROM windows",
    )
    assert sums.column("err")[0].as_py() < 1e-5


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT * FROM windows) TO '/tmp/stolen.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH '/tmp/other.duckdb' AS other",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "INSERT INTO windows SELECT * FROM windows",
        "DELETE FROM units",
    ],
)
def test_writes_and_file_access_are_refused(catalog: Catalog, sql: str) -> None:
    with pytest.raises(CatalogError, match="refused or failed"):
        query(catalog, sql)
    assert catalog.count("windows") == 60
    assert not Path("/tmp/stolen.csv").exists()


def test_bad_sql_is_a_catalog_error(catalog: Catalog) -> None:
    with pytest.raises(CatalogError):
        query(catalog, "SELEC nonsense")


def test_catalogue_and_tagger_agree_on_the_emotions() -> None:
    from catalog.schema import EMOTIONS as CATALOG_EMOTIONS
    from tagger.constants import EMOTIONS

    assert CATALOG_EMOTIONS == EMOTIONS
