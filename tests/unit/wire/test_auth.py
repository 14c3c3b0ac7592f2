"""SCRAM-SHA-256: RFC 7677 vectors, a test-side client, libpq's verifiers, real drivers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forge_sql.errors import FatalError, ForgeError, InvalidPassword, ProtocolViolation
from forge_sql.wire import messages as m
from forge_sql.wire.auth import (
    MECHANISM,
    ScramExchange,
    make_verifier,
    parse_sasl_initial_response,
    parse_verifier,
    saslprep,
)
from forge_sql.wire.codec import ConnectionClosed, read_message, read_startup

# RFC 7677 section 3.
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def client_final(password: str, client_first: bytes, server_first: bytes) -> tuple[bytes, str]:
    """A test-side SCRAM client: (client-final-message, expected server signature)."""
    attrs = dict(item.split("=", 1) for item in server_first.decode().split(","))
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"])
    )
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    gs2, bare = client_first[:3], client_first[3:]
    without_proof = f"c={base64.b64encode(gs2).decode()},r={attrs['r']}"
    auth_message = b",".join([bare, server_first, without_proof.encode()])
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    server_signature = hmac.digest(
        hmac.digest(salted, b"Server Key", "sha256"), auth_message, "sha256"
    )
    final = f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
    return final, "v=" + base64.b64encode(server_signature).decode()


def rfc_exchange() -> ScramExchange:
    verifier = parse_verifier(make_verifier("pencil", 4096, RFC_SALT))
    return ScramExchange("user", verifier, server_nonce=RFC_SERVER_NONCE)


def test_rfc7677_vector() -> None:
    exchange = rfc_exchange()
    client_first = f"n,,n=user,r={RFC_CLIENT_NONCE}".encode()
    server_first = exchange.handle_initial(client_first)
    assert server_first == (
        f"r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".encode()
    )
    final, expected = client_final("pencil", client_first, server_first)
    assert final == f"c=biws,r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},p={RFC_PROOF}".encode()
    assert expected == "v=" + RFC_SIGNATURE
    assert exchange.handle_final(final) == expected.encode()


@pytest.mark.parametrize("gs2", ["n,,", "y,,"])
def test_random_nonce_and_gs2_flags(gs2: str) -> None:
    exchange = ScramExchange("bob", parse_verifier(make_verifier("sécret")))
    client_first = f"{gs2}n=,r=abc".encode()
    server_first = exchange.handle_initial(client_first)
    final, expected = client_final(saslprep("sécret"), client_first, server_first)
    assert exchange.handle_final(final) == expected.encode()


def test_wrong_password() -> None:
    exchange = rfc_exchange()
    client_first = b"n,,n=user,r=abc"
    final, _ = client_final("pencil2", client_first, exchange.handle_initial(client_first))
    with pytest.raises(InvalidPassword, match='password authentication failed for user "user"'):
        exchange.handle_final(final)


def test_unknown_user_looks_like_a_known_one_until_the_end() -> None:
    def first(user: str) -> dict[str, str]:
        exchange = ScramExchange(user, None, mock_secret=b"k")
        reply = exchange.handle_initial(b"n,,n=,r=abc").decode()
        return dict(item.split("=", 1) for item in reply.split(","))

    assert first("ghost")["s"] == first("ghost")["s"] != first("other")["s"]
    assert first("ghost")["i"] == "4096"
    assert len(base64.b64decode(first("ghost")["s"])) == 16
    exchange = ScramExchange("ghost", None)
    client_first = b"n,,n=,r=abc"
    final, _ = client_final("anything", client_first, exchange.handle_initial(client_first))
    with pytest.raises(InvalidPassword, match='"ghost"'):
        exchange.handle_final(final)


@pytest.mark.parametrize(
    "client_first",
    [
        b"p=tls-server-end-point,,n=,r=abc",
        b"n,a=admin,n=,r=abc",
        b"n,,m=ext,n=,r=abc",
        b"x,,n=,r=abc",
        b"n,,n=,r=",
        b"n,,n=,r=a\x01b",
        b"n,,r=abc",
        b"n,,n=\xff,r=abc",
        b"",
    ],
)
def test_malformed_client_first(client_first: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        rfc_exchange().handle_initial(client_first)


@pytest.mark.parametrize(
    "client_final_message",
    [
        b"c=eSws,r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=" + RFC_PROOF.encode(),  # 'y' binding
        b"c=biws,r=abc,p=" + RFC_PROOF.encode(),  # nonce
        b"c=biws,r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=!!!",
        b"c=biws,r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=YWJj",  # proof too short
        b"c=biws,r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        b"r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,p=" + RFC_PROOF.encode(),
    ],
)
def test_malformed_client_final(client_final_message: bytes) -> None:
    exchange = rfc_exchange()
    exchange.handle_initial(b"n,,n=,r=abc")
    with pytest.raises(ProtocolViolation):
        exchange.handle_final(client_final_message)


def test_messages_out_of_order() -> None:
    exchange = rfc_exchange()
    with pytest.raises(ProtocolViolation):
        exchange.handle_final(b"c=biws,r=x,p=" + RFC_PROOF.encode())
    exchange = rfc_exchange()
    exchange.handle_initial(b"n,,n=,r=abc")
    with pytest.raises(ProtocolViolation):
        exchange.handle_initial(b"n,,n=,r=abc")


@given(st.binary(max_size=80), st.binary(max_size=120))
def test_fuzz_exchange(first: bytes, final: bytes) -> None:
    exchange = rfc_exchange()
    try:
        exchange.handle_initial(first)
        exchange.handle_final(final)
    except FatalError:
        pass


# --- verifiers and SASLInitialResponse --------------------------------------------------


def test_verifier_round_trip() -> None:
    text = make_verifier("pencil", 4096, RFC_SALT)
    verifier = parse_verifier(text)
    assert text.startswith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    assert (verifier.iterations, verifier.salt) == (4096, RFC_SALT)
    assert make_verifier("pencil") != make_verifier("pencil")  # random salts


@pytest.mark.parametrize(
    "text",
    [
        "md5abc",
        "SCRAM-SHA-256$0:AAAA$" + "A" * 43 + "=:" + "A" * 43 + "=",
        "SCRAM-SHA-256$4096:AAAA$" + "A" * 43 + "=:AAAA",
        "SCRAM-SHA-256$4096:A!AA$" + "A" * 43 + "=:" + "A" * 43 + "=",
    ],
)
def test_parse_verifier_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_verifier(text)


@pytest.mark.parametrize(
    "password",
    [
        "pencil",
        "pässwörd",
        "I\u00adX",
        "\u2168",
        "a\u200bb",
        "\uff46\uff55\uff4c\uff4c",
        "\u00ad",
        "\u0627\u0031",
        "x\u3000y",
        "\ufe15",
        "",
    ],
)
def test_verifier_matches_libpq(password: str) -> None:
    conn = psycopg.pq.PGconn.connect_start(b"host=/nonexistent")
    try:
        theirs = conn.encrypt_password(password.encode(), b"u", b"scram-sha-256").decode()
    finally:
        conn.finish()
    ours = parse_verifier(theirs)
    assert make_verifier(password, ours.iterations, ours.salt) == theirs


def test_parse_sasl_initial_response() -> None:
    body = b"SCRAM-SHA-256\x00\x00\x00\x00\x03abc"
    assert parse_sasl_initial_response(body) == ("SCRAM-SHA-256", b"abc")
    assert parse_sasl_initial_response(b"X\x00\xff\xff\xff\xff") == ("X", None)
    for bad in (
        b"SCRAM-SHA-256",
        b"S\x00\x00\x00\x00\x04abc",
        b"S\x00\x00\x00",
        b"S\x00" + b"\xff\xff\xff\xfeab",
    ):
        with pytest.raises(ProtocolViolation):
            parse_sasl_initial_response(bad)


# --- real drivers against a minimal authenticating listener -----------------------------


async def authenticate(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, verifiers: dict[str, str]
) -> None:
    """Startup and SCRAM as a server does them, then idle until Terminate."""
    try:
        startup = m.decode_startup(await read_startup(reader))
        if isinstance(startup, m.SSLRequest | m.GSSENCRequest):
            writer.write(m.ssl_refused())
            startup = m.decode_startup(await read_startup(reader))
        assert isinstance(startup, m.StartupMessage)
        user = startup.parameters["user"]
        stored = verifiers.get(user)
        exchange = ScramExchange(user, parse_verifier(stored) if stored else None)
        writer.write(m.authentication_sasl([MECHANISM]))
        msg = m.decode_frontend(*await read_message(reader))
        assert isinstance(msg, m.PasswordMessage)
        mechanism, data = parse_sasl_initial_response(msg.data)
        assert mechanism == MECHANISM and data is not None
        writer.write(m.authentication_sasl_continue(exchange.handle_initial(data)))
        msg = m.decode_frontend(*await read_message(reader))
        assert isinstance(msg, m.PasswordMessage)
        writer.write(m.authentication_sasl_final(exchange.handle_final(msg.data)))
        writer.write(m.authentication_ok())
        for name, value in {
            "server_version": "16.0",
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY",
            "integer_datetimes": "on",
            "standard_conforming_strings": "on",
        }.items():
            writer.write(m.parameter_status(name, value))
        writer.write(m.backend_key_data(1234, b"abcd") + m.ready_for_query("I"))
        while m.decode_frontend(*await read_message(reader)) != m.Terminate():
            pass
    except ForgeError as exc:
        writer.write(m.error_response(m.error_fields(exc)))
    except ConnectionClosed:
        pass
    finally:
        writer.close()


@asynccontextmanager
async def listener(verifiers: dict[str, str]) -> AsyncIterator[int]:
    server = await asyncio.start_server(lambda r, w: authenticate(r, w, verifiers), "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


VERIFIERS = {"alice": make_verifier("s3cret"), "bob": make_verifier("pässwörd")}


@pytest.mark.parametrize(("user", "password"), [("alice", "s3cret"), ("bob", "pässwörd")])
def test_drivers_authenticate(user: str, password: str) -> None:
    async def main() -> None:
        async with listener(VERIFIERS) as port:
            conn = await asyncpg.connect(
                host="127.0.0.1", port=port, user=user, password=password, database="db"
            )
            await conn.close()
            aconn = await psycopg.AsyncConnection.connect(
                host="127.0.0.1", port=port, user=user, password=password, dbname="db"
            )
            assert aconn.info.backend_pid == 1234
            await aconn.close()

    asyncio.run(main())


@pytest.mark.parametrize(("user", "password"), [("alice", "wrong"), ("nobody", "s3cret")])
def test_drivers_refused(user: str, password: str) -> None:
    async def main() -> None:
        async with listener(VERIFIERS) as port:
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(
                    host="127.0.0.1",
                    port=port,
                    user=user,
                    password=password,
                    database="db",
                    ssl=False,
                )
            with pytest.raises(psycopg.OperationalError, match="password authentication"):
                await psycopg.AsyncConnection.connect(
                    host="127.0.0.1", port=port, user=user, password=password, dbname="db"
                )

    asyncio.run(main())
