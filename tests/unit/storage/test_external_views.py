"""View SQL for external datasets, and the directories the sandbox must open for them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from forge_sql.config import load
from forge_sql.errors import ConfigError
from forge_sql.storage.external import readable_directory, view_sql


def test_parquet_view_with_hive_partitioning() -> None:
    sql = view_sql("events", "/data/events/**/*.parquet", "parquet", hive_partitioning=True)
    assert sql == (
        'CREATE OR REPLACE VIEW "public"."events" AS SELECT * FROM '
        "read_parquet('/data/events/**/*.parquet', hive_partitioning = true)"
    )


def test_csv_and_json_views_with_options() -> None:
    sql = view_sql(
        "sales",
        ["/a/x.csv", "/b/it's.csv"],
        "csv",
        options={"delim": ";", "header": True, "columns": {"id": "INTEGER", "name": "VARCHAR"}},
        schema="raw",
        catalog="forge",
        replace=False,
    )
    assert sql == (
        'CREATE VIEW "forge"."raw"."sales" AS SELECT * FROM read_csv('
        "['/a/x.csv', '/b/it''s.csv'], delim = ';', header = true, "
        "columns = {'id': 'INTEGER', 'name': 'VARCHAR'})"
    )
    assert "read_json('/j/*.json', maximum_depth = 2)" in view_sql(
        "j", "/j/*.json", "json", options={"maximum_depth": 2}
    )


def test_view_sql_runs_in_duckdb(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT range AS id, range % 2 AS part FROM range(10)) TO '{tmp_path}/ds' "
        "(FORMAT parquet, PARTITION_BY (part))"
    )
    con.execute(
        view_sql("ds", f"{tmp_path}/ds/**/*.parquet", hive_partitioning=True, schema="main")
    )
    assert con.execute("SELECT part, count(*) FROM ds GROUP BY part ORDER BY part").fetchall() == [
        (0, 5),
        (1, 5),
    ]


@pytest.mark.parametrize("name", ["x; DROP TABLE t", "a b", "1abc", ""])
def test_option_names_are_checked(name: str) -> None:
    with pytest.raises(ValueError, match="invalid reader option name"):
        view_sql("v", "/x.parquet", options={name: 1})


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        view_sql("v", "/x.avro", "avro")


def test_readable_directory(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "one.parquet").write_bytes(b"")
    assert readable_directory(f"{tmp_path}/ds/**/*.parquet") == f"{tmp_path}/ds/"
    assert readable_directory(f"{tmp_path}/ds") == f"{tmp_path}/ds/"
    assert readable_directory(f"{tmp_path}/one.parquet") == f"{tmp_path}/"
    assert readable_directory(f"{tmp_path}/ds/year=*/x.parquet") == f"{tmp_path}/ds/"


def test_external_datasets_in_config(tmp_path: Path) -> None:
    config = tmp_path / "forge.toml"
    config.write_text(
        '[external.events]\npath = "data/events/**/*.parquet"\nhive_partitioning = true\n'
        '[external.rates]\npath = "/srv/rates.csv"\nformat = "csv"\noptions = { header = true }\n'
    )
    settings = load(config)
    events = settings.external["events"]
    assert Path(events.path).is_absolute() and events.path.endswith("data/events/**/*.parquet")
    assert events.hive_partitioning and events.format == "parquet"
    assert settings.external["rates"].options == {"header": True}
    config.write_text('[external.bad]\npath = "s3://bucket/x.parquet"\n')
    with pytest.raises(ConfigError, match="only local paths"):
        load(config)
    config.write_text('[external.bad]\npath = "/x.avro"\nformat = "avro"\n')
    with pytest.raises(ConfigError, match=r"external\.bad\.format"):
        load(config)
