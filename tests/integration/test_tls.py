"""TLS: SSLRequest answered S and the handshake on the same socket; tls_required off loopback."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest
import trustme
from rawclient import RawConnection, error_fields, startup_packet
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("tls")
    issued = ca.issue_cert("127.0.0.1", "localhost", _outward_address())
    files = {"cert": directory / "server.crt", "key": directory / "server.key",
             "ca": directory / "ca.crt"}
    issued.cert_chain_pems[0].write_to_path(str(files["cert"]))
    issued.private_key_pem.write_to_path(str(files["key"]))
    ca.cert_pem.write_to_path(str(files["ca"]))
    return files


@pytest.fixture(scope="module")
def tls_server(
    tls_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    config = f'tls_cert = "{tls_files["cert"]}"\ntls_key = "{tls_files["key"]}"\n'
    running = start_server(tmp_path_factory.mktemp("tls-server") / "data", config=config)
    yield running
    assert "Traceback" not in running.stop()


def test_psycopg_over_tls(tls_server: RunningServer, tls_files: dict[str, Path]) -> None:
    dsn = tls_server.dsn(sslmode="verify-full", sslrootcert=str(tls_files["ca"]))
    with psycopg.connect(dsn.replace("host=127.0.0.1", "host=localhost")) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 40 + 2").fetchone() == (42,)
        rows = conn.execute("SELECT i, repeat('x', 1000) FROM range(5000) t(i)").fetchall()
        assert len(rows) == 5000 and rows[-1][0] == 4999


def test_plain_connections_still_work(tls_server: RunningServer) -> None:
    with psycopg.connect(tls_server.dsn(sslmode="disable")) as conn:
        assert not conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_wrong_ca_is_refused_by_the_client(tls_server: RunningServer) -> None:
    other = trustme.CA()
    with other.cert_pem.tempfile() as ca_file, pytest.raises(psycopg.OperationalError):
        psycopg.connect(tls_server.dsn(sslmode="verify-ca", sslrootcert=ca_file))


def test_asyncpg_over_tls(tls_server: RunningServer, ca: trustme.CA) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)

    async def query() -> object:
        conn = await asyncpg.connect(host="localhost", port=tls_server.port, user="forge",
                                     database="forge", ssl=context)
        try:
            return await conn.fetchval("SELECT 'secure'")
        finally:
            await conn.close()

    assert asyncio.run(query()) == "secure"


def test_psql_reports_the_tls_connection(tls_server: RunningServer) -> None:
    done = subprocess.run(
        ["psql", tls_server.dsn(sslmode="require"), "-c", r"\conninfo"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "SSL connection (protocol: TLSv1." in done.stdout


def test_data_pipelined_after_ssl_request_is_refused(tls_server: RunningServer) -> None:
    with socket.create_connection((tls_server.host, tls_server.port), timeout=30) as sock:
        raw = RawConnection(sock)
        raw.send(SSL_REQUEST + startup_packet())
        message = raw.read_message()
        assert message is not None and message[0] == b"E"
        assert error_fields(message[1])["C"] == "08P01"
        assert "unencrypted data after SSL request" in error_fields(message[1])["M"]
    with psycopg.connect(tls_server.dsn(sslmode="require")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_server_without_tls_declines(server: RunningServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
        psycopg.connect(server.dsn(sslmode="require"))


def test_tls_required_off_loopback(tls_files: dict[str, Path], tmp_path: Path) -> None:
    address = _outward_address()
    config = (
        f'host = "0.0.0.0"\ntls_cert = "{tls_files["cert"]}"\ntls_key = "{tls_files["key"]}"\n'
        f'tls_required = true\n[users.alice]\npassword = "{make_verifier("pw")}"\n'
    )
    running = start_server(tmp_path / "data", config=config)
    try:
        remote = f"host={address} port={running.port} dbname=forge user=alice password=pw"
        with pytest.raises(psycopg.OperationalError, match="accepts TLS connections only"):
            psycopg.connect(remote + " sslmode=disable")
        with psycopg.connect(remote + " sslmode=require") as conn:
            assert conn.pgconn.ssl_in_use
        local = f"host=127.0.0.1 port={running.port} dbname=forge user=alice password=pw"
        with psycopg.connect(local + " sslmode=disable") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        assert "Traceback" not in running.stop()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('tls_cert = "{cert}"\n', "TLS needs both tls_cert and tls_key"),
        ("tls_required = true\n", "tls_required needs tls_cert and tls_key"),
        ('tls_cert = "{cert}"\ntls_key = "{missing}"\n', "no such file"),
        ('tls_cert = "{key}"\ntls_key = "{key}"\n', "are not a PEM certificate"),
    ],
)
def test_bad_tls_settings_stop_the_start(
    tls_files: dict[str, Path], tmp_path: Path, config: str, message: str
) -> None:
    text = config.format(cert=tls_files["cert"], key=tls_files["key"],
                         missing=tmp_path / "absent.key")
    (tmp_path / "forge.toml").write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "forge_sql", "serve", "--port", "0", "--data-dir",
         str(tmp_path / "data"), "--config", str(tmp_path / "forge.toml")],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def _outward_address() -> str:
    """This machine's address on its network interface (not loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.123", 9))  # TEST-NET: nothing is sent, a route is chosen
        address = str(probe.getsockname()[0])
    assert not address.startswith("127."), "no non-loopback interface to test with"
    return address
