"""The catalogue on a real S3 endpoint (moto): reads, writes, and the commit-safety refusal."""

from __future__ import annotations

import pytest

from catalog import Catalog, CatalogError, query
from catalog.storage import commit_refusal, effective_options, parse_options, redacted
from catalog.testing import make_unit


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({}, "conditional_put=etag"),
        ({"conditional_put": "disabled"}, "conditional_put=etag"),
        ({"AWS_S3_LOCKING_PROVIDER": "dynamodb", "conditional_put": "etag"}, "AWS_S3_LOCKING_PROVIDER"),
        ({"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}, "AWS_S3_ALLOW_UNSAFE_RENAME"),
    ],
)
def test_writing_to_s3_without_safe_commits_is_refused_naming_the_setting(
    options: dict[str, str], setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("EMOTAG_STORAGE_OPTIONS", "AWS_CONDITIONAL_PUT", "AWS_S3_LOCKING_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    catalog = Catalog("s3://nowhere/catalog", storage_options=options)
    for write in (
        catalog.ensure,
        lambda: catalog.write_units([make_unit(1)], run_id="r"),
        catalog.compact,
        catalog.vacuum,
    ):
        with pytest.raises(CatalogError, match=setting) as caught:
            write()
        assert "refusing to write to s3://nowhere/catalog" in str(caught.value)


def test_safe_settings_come_from_options_or_the_environment() -> None:
    root = "s3://b/c"
    assert commit_refusal(root, {"aws_conditional_put": "ETag"}, environ={}) is None
    assert commit_refusal(root, None, environ={"AWS_CONDITIONAL_PUT": "etag"}) is None
    assert commit_refusal("gs://b/c", None, environ={}) is None  # GCS commits are always conditional
    assert commit_refusal("/local/folder", None, environ={}) is None
    env = {"EMOTAG_STORAGE_OPTIONS": '{"conditional_put": "etag", "AWS_REGION": "eu-west-1"}'}
    merged = effective_options(root, {"AWS_REGION": "us-east-1"}, environ=env)
    assert merged == {"conditional_put": "etag", "AWS_REGION": "us-east-1"}
    assert effective_options("/local/folder", {"x": "y"}, environ=env) is None


@pytest.mark.parametrize("text", ["KEY", "=value", '{"a": ', "[1, 2]"])
def test_malformed_storage_options_are_catalog_errors(text: str) -> None:
    with pytest.raises(CatalogError):
        parse_options(text)


def test_secrets_are_redacted() -> None:
    shown = redacted({"AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t", "AWS_REGION": "r"})
    assert shown == {"AWS_SECRET_ACCESS_KEY": "***", "AWS_SESSION_TOKEN": "***", "AWS_REGION": "r"}


def test_units_round_trip_through_s3_with_conditional_puts(s3_catalog: str) -> None:
    catalog = Catalog(s3_catalog)
    assert catalog.storage_options == {"conditional_put": "etag"}
    catalog.ensure()
    written = catalog.write_units([make_unit(i) for i in range(3)], run_id="run-1")
    assert len(written) == 3
    assert catalog.write_units([make_unit(1)], run_id="run-2") == []  # idempotent
    assert (catalog.count("units"), catalog.count("windows")) == (3, 60)
    rows = query(catalog, "SELECT count(DISTINCT video_id) AS n FROM profiles").to_pylist()
    assert rows == [{"n": 3}]
    before = catalog.version()
    catalog.compact()
    assert catalog.vacuum(retention_hours=0)["windows"] >= 0
    assert (catalog.count("units"), catalog.count("windows")) == (3, 60)
    assert catalog.version() >= before


def test_reading_needs_no_write_settings(s3_catalog: str, monkeypatch: pytest.MonkeyPatch) -> None:
    Catalog(s3_catalog).write_units([make_unit(7)], run_id="run-1")
    monkeypatch.delenv("EMOTAG_STORAGE_OPTIONS")
    reader = Catalog(s3_catalog)
    assert reader.count("units") == 1
    with pytest.raises(CatalogError, match="conditional_put=etag"):
        reader.write_units([make_unit(8)], run_id="run-2")
