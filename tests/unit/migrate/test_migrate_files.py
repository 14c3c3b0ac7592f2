"""Discovery of migration files: names, version order, checksums."""

from __future__ import annotations

from pathlib import Path

import pytest

from forge_sql.migrate import files
from forge_sql.migrate.errors import MigrationError


def _touch(directory: Path, *names: str) -> None:
    for name in names:
        (directory / name).write_text(f"-- {name}\n")


def test_versions_compare_as_numbers_and_repeatables_come_last(tmp_path: Path) -> None:
    _touch(tmp_path, "V10__ten.sql", "V2__two.yaml", "R__views.sql", "V1.10__c.py",
           "V1.2__b.sql", "R__a_macro.sql", "README.md", "V3__three.yml")
    (tmp_path / "__pycache__").mkdir()
    found = files.discover(tmp_path)
    assert [f.script for f in found] == [
        "V1.2__b.sql", "V1.10__c.py", "V2__two.yaml", "V3__three.yml", "V10__ten.sql",
        "R__a_macro.sql", "R__views.sql",
    ]
    assert [f.kind for f in found] == ["sql", "py", "yaml", "yaml", "sql", "sql", "sql"]
    assert found[-1].repeatable and found[-1].label == "R__views"
    assert found[0].version == files.Version("1.2") and str(found[0].version) == "1.2"


def test_timestamp_versions(tmp_path: Path) -> None:
    _touch(tmp_path, "V20250102080000__b.sql", "V20241231235959__a.sql")
    assert [f.name for f in files.discover(tmp_path)] == ["a", "b"]


def test_two_files_with_one_version_are_refused(tmp_path: Path) -> None:
    _touch(tmp_path, "V1__a.sql", "V01__b.yaml")
    with pytest.raises(MigrationError, match="two migrations have version 1"):
        files.discover(tmp_path)


@pytest.mark.parametrize("name", ["V1_missing_underscore.sql", "V1__x.txt", "Vx__y.sql",
                                  "R1__view.sql"])
def test_misnamed_migrations_are_refused_not_skipped(tmp_path: Path, name: str) -> None:
    _touch(tmp_path, name)
    with pytest.raises(MigrationError, match="not a valid migration name"):
        files.discover(tmp_path)


def test_checksum_is_sha256_ignoring_line_endings(tmp_path: Path) -> None:
    (tmp_path / "V1__a.sql").write_bytes(b"SELECT 1;\r\nSELECT 2;\r\n")
    (tmp_path / "V2__b.sql").write_bytes(b"SELECT 1;\nSELECT 2;\n")
    (tmp_path / "V3__c.sql").write_bytes(b"SELECT 1;\nSELECT 3;\n")
    a, b, c = files.discover(tmp_path)
    assert a.checksum == b.checksum != c.checksum
    assert a.checksum == "82efb67f3010c6eb7ead02e4f6d9550633dbc1407f99aa487468e7b2567aebbc"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        files.discover(tmp_path / "nope")


def test_parse_version() -> None:
    assert files.parse_version("003").key == (3,)
    with pytest.raises(MigrationError, match="invalid version"):
        files.parse_version("v3")
