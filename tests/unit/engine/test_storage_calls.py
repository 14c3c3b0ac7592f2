"""CALL forge_compact() and friends: parsing, and which statements need a superuser."""

from __future__ import annotations

from datetime import timedelta

import pytest

from forge_sql import errors
from forge_sql.engine import storage_calls
from forge_sql.sql.statements import classify


@pytest.mark.parametrize(
    ("sql", "action", "older_than"),
    [
        ("CALL forge_compact()", "compact", None),
        ("call FORGE_COMPACT ( ) ", "compact", None),
        ("CALL forge_expire('7 days')", "expire", timedelta(days=7)),
        ("CALL forge_cleanup('0s')", "cleanup", timedelta(0)),
        ("CALL forge_cleanup(3600)", "cleanup", timedelta(hours=1)),
        ("CALL forge_maintain()", "all", None),
    ],
)
def test_parse(sql: str, action: str, older_than: timedelta | None) -> None:
    call = storage_calls.parse(classify(sql))
    assert isinstance(call, storage_calls.MaintenanceCall)
    assert (call.action, call.older_than, call.force) == (action, older_than, False)


@pytest.mark.parametrize(
    ("sql", "force"),
    [
        ("CALL forge_cleanup('0s', true)", True),
        ("CALL forge_cleanup('0s', force => TRUE)", True),
        ("CALL forge_cleanup('0s', false)", False),
    ],
)
def test_parse_force(sql: str, force: bool) -> None:
    call = storage_calls.parse(classify(sql))
    assert isinstance(call, storage_calls.MaintenanceCall)
    assert (call.action, call.older_than, call.force) == ("cleanup", timedelta(0), force)


def test_parse_backup() -> None:
    call = storage_calls.parse(classify("CALL forge_backup('/backups/it''s')"))
    assert call == storage_calls.BackupCall("/backups/it's")
    assert storage_calls.needs_superuser(classify("CALL forge_backup('/x')"))


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("CALL forge_compact('1 day')", errors.SyntaxError_),
        ("CALL forge_expire('1 day', '2 days')", errors.SyntaxError_),
        ("CALL forge_expire('someday')", errors.InvalidParameterValue),
        ("CALL forge_cleanup('0s', 'yes')", errors.SyntaxError_),
        ("CALL forge_cleanup('0s', true, true)", errors.SyntaxError_),
        ("CALL forge_cleanup('0s',)", errors.SyntaxError_),
        ("CALL forge_expire('0s', true)", errors.SyntaxError_),
        ("CALL forge_backup()", errors.SyntaxError_),
        ("CALL forge_backup(42)", errors.SyntaxError_),
        ("CALL forge_backup('/a', '/b')", errors.SyntaxError_),
        ("CALL forge_backup(('/a'))", errors.SyntaxError_),
    ],
)
def test_parse_errors(sql: str, error: type[errors.ForgeError]) -> None:
    with pytest.raises(error):
        storage_calls.parse(classify(sql))


def test_other_calls_are_not_maintenance() -> None:
    assert storage_calls.parse(classify("CALL ducklake_merge_adjacent_files('forge')")) is None
    assert storage_calls.parse(classify("SELECT 1")) is None


@pytest.mark.parametrize(
    "sql",
    [
        "CALL forge_compact()",
        "CHECKPOINT",
        "FORCE CHECKPOINT",
        "CALL ducklake_expire_snapshots('forge', older_than => now())",
        "SELECT * FROM ducklake_cleanup_old_files('forge', cleanup_all => true)",
        "SELECT * FROM \"ducklake_delete_orphaned_files\"('forge')",
        "CALL ducklake_set_option('forge', 'expire_older_than', '1 day')",
        "CALL ducklake_add_data_files('forge', 't', '/x.parquet')",
        # The record the server opens its file sandbox from (forge_meta.external_datasets).
        "INSERT INTO forge_meta.external_datasets VALUES ('public', 'x', '/etc/x', '', '')",
        'UPDATE forge.forge_meta."EXTERNAL_DATASETS" SET path = \'/\'',
        "WITH p AS (SELECT '/etc' AS d) UPDATE forge_meta.external_datasets SET path = p.d "
        "FROM p",
        "ALTER TABLE forge_meta.other RENAME TO external_datasets",
        "EXPLAIN ANALYZE DELETE FROM forge_meta.external_datasets",
        "COPY forge_meta.external_datasets FROM STDIN",
    ],
)
def test_needs_superuser(sql: str) -> None:
    assert storage_calls.needs_superuser(classify(sql))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM forge_snapshots()",
        "SELECT * FROM ducklake_snapshots('forge')",
        "SELECT * FROM t AT (VERSION => 3)",
        "SELECT 'forge_compact' AS name",
        "SELECT path FROM forge_meta.external_datasets",
        "INSERT INTO t SELECT 'external_datasets'",
    ],
)
def test_reads_need_no_superuser(sql: str) -> None:
    assert not storage_calls.needs_superuser(classify(sql))
