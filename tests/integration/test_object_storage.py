"""A lake whose data path is on S3: an S3-compatible server (moto) on loopback, the catalog
in a real PostgreSQL, the credentials in a DuckDB secret clients cannot use elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer
from postgres import catalog_dsn, postgres  # noqa: F401
from server import start_server

KEY_ID = "forge-test-key"
SECRET = "forge-test-secret"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """host:port of an S3-compatible server holding buckets ``lake`` and ``other``."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="lake")
    client.create_bucket(Bucket="other")
    client.put_object(Bucket="other", Key="secret.csv", Body=b"a\n1\n")
    yield f"{host}:{port}"
    moto.stop()


def objects(endpoint: str, prefix: str) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{endpoint}",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )
    listing = client.list_objects_v2(Bucket="lake", Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_tables_on_s3_with_the_catalog_in_postgresql(
    tmp_path: Path,
    s3_endpoint: str,
    catalog_dsn: str,  # noqa: F811
) -> None:
    config = (
        f"catalog = '{catalog_dsn}'\n"
        "data_path = 's3://lake/warehouse/'\n"
        f"s3_endpoint = '{s3_endpoint}'\n"
        "s3_region = 'us-east-1'\n"
        "s3_url_style = 'path'\n"
        "s3_use_ssl = false\n"
        f"s3_access_key_id = '{KEY_ID}'\n"
    )
    # The secret comes from the environment, not the file.
    server = start_server(
        tmp_path / "data", config=config, env={"FORGE_SQL_S3_SECRET_ACCESS_KEY": SECRET}
    )
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE readings (id BIGINT, sensor VARCHAR, value DOUBLE)")
            conn.execute(
                "INSERT INTO readings SELECT i, 's' || (i % 7), i / 4 FROM range(5000) t(i)"
            )
            with conn.cursor().copy("COPY readings FROM STDIN") as copy:
                copy.write(
                    "".join(f"{i}\tcopied\t{i}.5\n" for i in range(5000, 35_000)).encode()
                )
            assert conn.execute(
                "SELECT count(*), count(DISTINCT sensor), max(id) FROM readings"
            ).fetchone() == (35_000, 8, 34_999)
            conn.execute("DELETE FROM readings WHERE sensor = 'copied' AND id % 2 = 0")
            assert conn.execute("SELECT count(*) FROM readings").fetchone() == (20_000,)
            # The credentials reach the lake's prefix only.
            for sql in (
                "SELECT * FROM read_csv('s3://other/secret.csv')",
                "SELECT * FROM glob('s3://lake/*')",
                "CREATE SECRET mine (TYPE s3, KEY_ID 'x', SECRET 'y')",
                "DROP SECRET forge_s3",
            ):
                with pytest.raises(psycopg.Error) as refused:
                    conn.execute(sql)
                assert refused.value.sqlstate == "42501", (sql, refused.value)
            secret = conn.execute("SELECT secret_string FROM duckdb_secrets()").fetchone()
            assert secret is not None and SECRET not in secret[0]
        files = objects(s3_endpoint, "warehouse/")
        assert any(key.startswith("warehouse/public/readings/") for key in files), files
        # The COPY's batch was staged under the data path and is part of the table.
        assert any(key.startswith("warehouse/copy/") for key in files), files
        assert not list((tmp_path / "data").rglob("*.parquet"))
    finally:
        log = server.stop()
    assert "Traceback" not in log
