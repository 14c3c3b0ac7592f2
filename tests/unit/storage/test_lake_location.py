"""Where the lake's catalog and files go, the S3 secret, and retries after conflicts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from forge_sql.config import Settings
from forge_sql.storage import catalogs, conflicts, objectstore


def test_the_embedded_default_lives_in_the_data_directory(tmp_path: Path) -> None:
    lake = catalogs.locate(Settings(), tmp_path)
    assert lake == catalogs.Lake(str(tmp_path / "catalog.ducklake"), f"{tmp_path}/lake/", False)
    assert lake.extensions == ()
    assert lake.staging_path == f"{tmp_path}/lake/copy/"
    assert lake.local_data == tmp_path / "lake"


def test_a_postgresql_catalog_with_data_on_s3(tmp_path: Path) -> None:
    settings = Settings(catalog="host=pg dbname=lake", data_path="s3://bucket/prefix")
    lake = catalogs.locate(settings, tmp_path)
    assert lake.catalog == "postgres:host=pg dbname=lake"
    assert lake.data_path == "s3://bucket/prefix/"
    assert lake.shared and lake.local_data is None
    assert lake.extensions == ("postgres_scanner", "httpfs")
    assert lake.staging_path == "s3://bucket/prefix/copy/"


def test_a_relative_data_path_is_taken_from_the_data_directory(tmp_path: Path) -> None:
    lake = catalogs.locate(Settings(data_path="files"), tmp_path)
    assert lake.data_path == f"{tmp_path}/files/"


def test_no_s3_settings_no_secret() -> None:
    assert objectstore.secret_sql(Settings()) is None


def test_the_secret_quotes_its_values() -> None:
    settings = Settings(
        s3_access_key_id="key",
        s3_secret_access_key="it's",
        s3_endpoint="127.0.0.1:9000",
        s3_url_style="path",
        s3_use_ssl=False,
    )
    sql = objectstore.secret_sql(settings)
    assert sql == (
        "CREATE OR REPLACE TEMPORARY SECRET forge_s3 (TYPE s3, KEY_ID 'key', "
        "SECRET 'it''s', ENDPOINT '127.0.0.1:9000', URL_STYLE 'path', USE_SSL false)"
    )
    assert "it''s" not in repr(settings)  # the secret is not shown in logs


def test_url_style_is_checked() -> None:
    with pytest.raises(ValueError, match="url_style"):
        Settings(s3_url_style="virtual")


def test_conflicts_are_retried_a_bounded_number_of_times() -> None:
    calls: list[int] = []

    def clash() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise duckdb.TransactionException("Transaction conflict - another transaction")
        return "done"

    assert conflicts.retry(clash, attempts=5) == "done"
    assert len(calls) == 3

    def always() -> None:
        calls.append(1)
        raise duckdb.TransactionException("Transaction conflict - another transaction")

    calls.clear()
    with pytest.raises(duckdb.TransactionException):
        conflicts.retry(always, attempts=2)
    assert len(calls) == 3


def test_duckdb_giving_up_its_own_retries_is_a_conflict() -> None:
    assert conflicts.is_conflict(
        duckdb.TransactionException(
            "Failed to commit DuckLake transaction. Exceeded the maximum retry count of 10 "
            'set by the ducklake_max_retry_count setting. Duplicate key "snapshot_id: 138"'
        )
    )
    assert not conflicts.is_conflict(duckdb.TransactionException("cannot rollback"))


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise duckdb.CatalogException("Table with name x does not exist")

    with pytest.raises(duckdb.CatalogException):
        conflicts.retry(broken, attempts=5)
    assert calls == [1]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("host=pg password=s3cr3t dbname=lake", "host=pg password=*** dbname=lake"),
        ("host=pg password='a b\\' c' dbname=lake", "host=pg password=*** dbname=lake"),
        ("postgresql://forge:s3cr3t@pg:5432/lake", "postgresql://forge:***@pg:5432/lake"),
        ('at "host=pg PASSWORD = s3cr3t": refused', 'at "host=pg PASSWORD = ***": refused'),
        ("host=pg dbname=lake", "host=pg dbname=lake"),
    ],
)
def test_passwords_are_masked_in_messages(text: str, shown: str) -> None:
    assert catalogs.redact(text) == shown
