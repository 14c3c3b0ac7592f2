"""SCRAM-SHA-256 verifiers, the form in which passwords are stored (RFC 5802, RFC 7677,
PostgreSQL's format): made, parsed and SASLprepped here for the configuration, the roles
the engine stores and the wire's authentication exchange alike."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import stringprep
import unicodedata
from dataclasses import dataclass

MECHANISM = "SCRAM-SHA-256"
DEFAULT_ITERATIONS = 4096
SALT_BYTES = 16  # PostgreSQL's SCRAM_DEFAULT_SALT_LEN
_VERIFIER = re.compile(r"SCRAM-SHA-256\$([0-9]+):([^$:]+)\$([^$:]+):([^$:]+)")


@dataclass(frozen=True, slots=True)
class ScramVerifier:
    """What the server stores instead of a password."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes


def saslprep(password: str) -> str:
    """SASLprep (RFC 4013) the way PostgreSQL's pg_saslprep applies it to passwords.

    ASCII passes unchanged; a password SASLprep prohibits is used as given, not refused,
    as PostgreSQL and libpq do. Tables are Python's stringprep (Unicode 3.2).
    """
    if password.isascii():
        return password
    # RFC 4013 2.1: C.1.2 spaces become SPACE first (U+200B is in both C.1.2 and B.1).
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in password
        if stringprep.in_table_c12(ch) or not stringprep.in_table_b1(ch)
    )
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)  # stringprep is Unicode 3.2
    if not prepared or any(_prohibited(ch) for ch in prepared):
        return password
    if any(stringprep.in_table_d1(ch) for ch in prepared) and (
        any(stringprep.in_table_d2(ch) for ch in prepared)
        or not stringprep.in_table_d1(prepared[0])
        or not stringprep.in_table_d1(prepared[-1])
    ):
        return password  # RFC 3454 section 6: bidirectional text rules
    return prepared


def _prohibited(ch: str) -> bool:
    return (
        stringprep.in_table_c12(ch)
        or stringprep.in_table_c21_c22(ch)
        or stringprep.in_table_c3(ch)
        or stringprep.in_table_c4(ch)
        or stringprep.in_table_c5(ch)
        or stringprep.in_table_c6(ch)
        or stringprep.in_table_c7(ch)
        or stringprep.in_table_c8(ch)
        or stringprep.in_table_c9(ch)
        or stringprep.in_table_a1(ch)
    )


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_verifier(
    password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``, as PostgreSQL stores it."""
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode(), salt, iterations)
    stored_key = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
    server_key = _hmac(salted, b"Server Key")
    return f"{MECHANISM}${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def parse_verifier(text: str) -> ScramVerifier:
    """Parse a stored verifier; ValueError if it is not one."""
    match = _VERIFIER.fullmatch(text)
    if match is None:
        raise ValueError("not a SCRAM-SHA-256 verifier")
    try:
        salt, stored_key, server_key = (
            base64.b64decode(part, validate=True) for part in match.group(2, 3, 4)
        )
    except binascii.Error as exc:
        raise ValueError(f"invalid base64 in SCRAM verifier: {exc}") from None
    iterations = int(match.group(1))
    if iterations < 1:
        raise ValueError("invalid SCRAM verifier: the iteration count must be positive")
    for name, key in (("StoredKey", stored_key), ("ServerKey", server_key)):
        if len(key) != 32:
            raise ValueError(f"invalid SCRAM verifier: {name} is {len(key)} bytes, not 32")
    return ScramVerifier(iterations, salt, stored_key, server_key)
