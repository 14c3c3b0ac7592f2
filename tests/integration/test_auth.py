"""SCRAM-SHA-256 password authentication with real clients, and the trust-only-on-loopback rule."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest
import rawclient
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

PASSWORDS = {"alice": "correct horse", "bob": "pässwörd ✓"}


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    config = "".join(f'[users.{name}]\npassword = "{make_verifier(password)}"\n\n'
                     for name, password in PASSWORDS.items())
    running = start_server(tmp_path_factory.mktemp("auth") / "data", config=config)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def _no_pass_file(tmp_path: Path) -> str:
    return str(tmp_path / "no-pgpass")


@pytest.mark.parametrize("user", sorted(PASSWORDS))
def test_psycopg_right_password(auth_server: RunningServer, user: str) -> None:
    with psycopg.connect(auth_server.dsn(user=user), password=PASSWORDS[user],
                         autocommit=True) as conn:
        assert conn.execute("SELECT 40 + 2").fetchone() == (42,)
        assert conn.info.parameter_status("session_authorization") == user


def test_asyncpg_right_password(auth_server: RunningServer) -> None:
    async def run() -> int:
        con = await asyncpg.connect(host=auth_server.host, port=auth_server.port, user="alice",
                                    password=PASSWORDS["alice"], database="forge", timeout=10)
        try:
            return int(await con.fetchval("SELECT $1::INTEGER * 2", 21))
        finally:
            await con.close()

    assert asyncio.run(run()) == 42


@pytest.mark.usefixtures("psql_installed")
def test_psql_with_password(auth_server: RunningServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = PASSWORDS["bob"]
    done = subprocess.run(["psql", auth_server.dsn(user="bob"), "-X", "-w", "-A", "-t",
                           "-c", "SELECT 'in'"], capture_output=True, text=True, timeout=60,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "in\n"


@pytest.mark.parametrize(("user", "password"), [
    ("alice", "wrong"), ("alice", PASSWORDS["bob"]), ("alice", ""), ("mallory", "anything"),
])
def test_psycopg_refused(auth_server: RunningServer, tmp_path: Path, user: str,
                         password: str) -> None:
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(auth_server.dsn(user=user), password=password,
                        passfile=_no_pass_file(tmp_path), connect_timeout=10)
    message = str(info.value)
    if password:
        assert f'password authentication failed for user "{user}"' in message
    else:
        assert "password" in message


@pytest.mark.parametrize(("user", "password"), [("alice", "wrong"), ("mallory", "anything")])
def test_asyncpg_refused_with_28p01(auth_server: RunningServer, user: str,
                                    password: str) -> None:
    async def run() -> None:
        await asyncpg.connect(host=auth_server.host, port=auth_server.port, user=user,
                              password=password, database="forge", timeout=10)

    with pytest.raises(asyncpg.InvalidPasswordError) as info:
        asyncio.run(run())
    assert info.value.sqlstate == "28P01"
    assert f'password authentication failed for user "{user}"' in str(info.value)


def test_psycopg_without_password(auth_server: RunningServer, tmp_path: Path) -> None:
    env_password = os.environ.pop("PGPASSWORD", None)
    try:
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(auth_server.dsn(user="alice"), passfile=_no_pass_file(tmp_path),
                            connect_timeout=10)
    finally:
        if env_password is not None:
            os.environ["PGPASSWORD"] = env_password
    assert "no password supplied" in str(info.value)


def test_server_asks_for_scram(auth_server: RunningServer) -> None:
    with rawclient.connect(auth_server.host, auth_server.port) as raw:
        raw.send(rawclient.startup_packet(user="alice"))
        message = raw.read_message()
        assert message == (b"R", struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0")  # AuthenticationSASL
        raw.send(rawclient.query("SELECT 1"))  # not a SASLInitialResponse
        errors = rawclient.errors_in(raw.read_to_close())
    assert [(e["S"], e["C"]) for e in errors] == [("FATAL", "08P01")]


def test_raw_garbage_sasl_response(auth_server: RunningServer) -> None:
    with rawclient.connect(auth_server.host, auth_server.port) as raw:
        raw.send(rawclient.startup_packet(user="alice"))
        assert raw.read_message() is not None
        raw.send(rawclient.message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", 5) + b"junk!"))
        errors = rawclient.errors_in(raw.read_to_close())
    assert len(errors) == 1 and errors[0]["S"] == "FATAL"
    assert errors[0]["C"] in ("08P01", "28P01")


def test_unknown_mechanism(auth_server: RunningServer) -> None:
    with rawclient.connect(auth_server.host, auth_server.port) as raw:
        raw.send(rawclient.startup_packet(user="alice"))
        assert raw.read_message() is not None
        raw.send(rawclient.message(b"p", b"PLAIN\0" + struct.pack("!i", -1)))
        errors = rawclient.errors_in(raw.read_to_close())
    assert [(e["S"], e["C"]) for e in errors] == [("FATAL", "08P01")]


def test_no_session_without_authentication(auth_server: RunningServer) -> None:
    """Leaving in the middle of SCRAM leaves the server answering the next client."""
    for _ in range(3):
        with rawclient.connect(auth_server.host, auth_server.port) as raw:
            raw.send(rawclient.startup_packet(user="alice"))
            assert raw.read_message() is not None
    with psycopg.connect(auth_server.dsn(user="alice"), password=PASSWORDS["alice"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _serve(tmp_path: Path, *args: str, config: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "forge_sql", "serve", "--port", "0",
               "--data-dir", str(tmp_path / "data"), *args]
    if config is not None:
        (tmp_path / "forge.toml").write_text(config)
        command += ["--config", str(tmp_path / "forge.toml")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"the server started instead of refusing: {stdout}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_refuses_public_address_without_users(tmp_path: Path) -> None:
    done = _serve(tmp_path, "--host", "0.0.0.0")
    assert done.returncode != 0
    assert "listening on" not in done.stdout
    assert "refusing to listen on 0.0.0.0 without users" in done.stderr
    assert "hash-password" in done.stderr


def test_refuses_clear_text_password(tmp_path: Path) -> None:
    done = _serve(tmp_path, config='[users.alice]\npassword = "secret"\n')
    assert done.returncode != 0
    assert "listening on" not in done.stdout
    assert "users.alice.password" in done.stderr
    assert "verifier" in done.stderr


def test_public_address_with_users_starts(tmp_path: Path) -> None:
    config = f'[users.alice]\npassword = "{make_verifier("pw")}"\n'
    running = start_server(tmp_path / "data", "--host", "0.0.0.0", config=config)
    try:
        assert running.host == "0.0.0.0"
        with psycopg.connect(running.dsn(user="alice", password="pw").replace(
                "host=0.0.0.0", "host=127.0.0.1")) as conn:
            assert conn.execute("SELECT 'public'").fetchone() == ("public",)
    finally:
        log = running.stop()
    assert "Traceback" not in log
