"""SCRAM-SHA-256 password authentication (RFC 5802, RFC 7677), without I/O.

Follows the PostgreSQL docs "53.3 SASL Authentication" and PostgreSQL's stored verifier format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct

from forge_sql.errors import InvalidPassword, ProtocolViolation
from forge_sql.scram import (  # re-exported: verifiers live beside the engine's roles
    DEFAULT_ITERATIONS,
    MECHANISM,
    ScramVerifier,
    make_verifier,
    parse_verifier,
    saslprep,
)

__all__ = [
    "DEFAULT_ITERATIONS",
    "MECHANISM",
    "ScramExchange",
    "ScramVerifier",
    "make_verifier",
    "parse_sasl_initial_response",
    "parse_verifier",
    "saslprep",
]

_SALT_BYTES = 16  # PostgreSQL's SCRAM_DEFAULT_SALT_LEN
_NONCE_BYTES = 18  # PostgreSQL's SCRAM_RAW_NONCE_LEN
# Fake salts for unknown users derive from this, so they are stable for the process
# (PostgreSQL keeps its mock_auth_nonce per cluster).
_MOCK_SECRET = secrets.token_bytes(32)
_NONCE = re.compile(r"[!-+\--~]+")  # printable ASCII except ',' (RFC 5802 section 7)
_I32 = struct.Struct("!i")


def parse_sasl_initial_response(body: bytes) -> tuple[str, bytes | None]:
    """SASLInitialResponse: mechanism, then the data (None when the length is -1)."""
    end = body.find(b"\x00")
    if end < 0 or len(body) < end + 5:
        raise ProtocolViolation("invalid SASLInitialResponse message")
    mechanism = body[:end].decode("utf-8", "replace")
    (size,) = _I32.unpack_from(body, end + 1)
    data = body[end + 5 :]
    if size == -1 and not data:
        return mechanism, None
    if size != len(data):
        raise ProtocolViolation("invalid SASLInitialResponse message: wrong data length")
    return mechanism, data


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _malformed(detail: str) -> ProtocolViolation:
    return ProtocolViolation("malformed SCRAM message", detail=detail)


def _attributes(data: bytes) -> list[tuple[str, str]]:
    """``k=value`` pairs of a SCRAM message (values never hold a raw ',': RFC 5802 7)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("The message is not valid UTF-8.") from None
    pairs = []
    for item in text.split(","):
        if len(item) < 2 or item[1] != "=" or not item[0].isascii() or not item[0].isalpha():
            raise _malformed(f"Expected an attribute, found {item[:20]!r}.")
        pairs.append((item[0], item[2:]))
    return pairs


class ScramExchange:
    """The server side of one SCRAM-SHA-256 exchange.

    With ``verifier`` None (unknown user) the exchange runs on a fake, per-user stable salt
    and fails only at the end, so the answers do not reveal whether the user exists.
    """

    def __init__(
        self,
        user: str,
        verifier: ScramVerifier | None,
        *,
        server_nonce: str | None = None,
        mock_secret: bytes | None = None,
    ) -> None:
        self.user = user
        self._doomed = verifier is None
        if verifier is None:
            seed = hashlib.sha256((mock_secret or _MOCK_SECRET) + user.encode()).digest()
            fake_key = secrets.token_bytes(32)
            verifier = ScramVerifier(DEFAULT_ITERATIONS, seed[:_SALT_BYTES], fake_key, fake_key)
        self._verifier = verifier
        self._server_nonce = server_nonce or _b64(secrets.token_bytes(_NONCE_BYTES))
        self._state = "initial"
        self._gs2_header = b""
        self._nonce = ""
        self._first_bare_and_server_first = ""

    def handle_initial(self, data: bytes) -> bytes:
        """Take client-first-message, return server-first-message."""
        self._start("initial")
        # gs2-header: 'n' (no channel binding) or 'y' (client could, thinks we cannot).
        flag, _, rest = data.partition(b",")
        if flag == b"p" or flag.startswith(b"p="):
            raise _malformed(
                "The client selected SCRAM-SHA-256 without channel binding, "
                "but the SCRAM message includes channel binding data."
            )
        if flag not in (b"n", b"y"):
            raise _malformed(f"Unexpected channel-binding flag {flag[:10]!r}.")
        authzid, _, bare = rest.partition(b",")
        if authzid:
            raise _malformed("Authorization identities are not supported.")
        self._gs2_header = data[: len(data) - len(bare)]
        attrs = _attributes(bare)
        if len(attrs) < 2 or attrs[0][0] != "n" or attrs[1][0] != "r":
            if attrs[0][0] == "m":
                raise _malformed("The client requires an unsupported SCRAM extension.")
            raise _malformed("Expected the user name and nonce attributes.")
        # The n= user name is ignored: the user is the one of the StartupMessage.
        client_nonce = attrs[1][1]
        if not _NONCE.fullmatch(client_nonce):
            raise _malformed("The client nonce is empty or not printable ASCII.")
        self._nonce = client_nonce + self._server_nonce
        v = self._verifier
        server_first = f"r={self._nonce},s={_b64(v.salt)},i={v.iterations}"
        self._first_bare_and_server_first = bare.decode() + "," + server_first
        self._state = "final"
        return server_first.encode()

    def handle_final(self, data: bytes) -> bytes:
        """Take client-final-message, return server-final-message or raise InvalidPassword."""
        self._start("final")
        attrs = _attributes(data)
        if len(attrs) < 3 or attrs[0][0] != "c" or attrs[1][0] != "r" or attrs[-1][0] != "p":
            raise _malformed("Expected the channel binding, nonce and proof attributes.")
        if _b64decode(attrs[0][1]) != self._gs2_header:
            raise _malformed("SCRAM channel binding check failed.")
        if attrs[1][1] != self._nonce:
            raise _malformed("Nonce does not match.")
        proof = _b64decode(attrs[-1][1])
        if len(proof) != 32:
            raise _malformed("Malformed proof in client-final-message.")
        without_proof = data[: data.rindex(b",p=")].decode()
        auth_message = f"{self._first_bare_and_server_first},{without_proof}".encode()
        v = self._verifier
        signature = _hmac(v.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        matches = hmac.compare_digest(hashlib.sha256(client_key).digest(), v.stored_key)
        if not matches or self._doomed:
            raise InvalidPassword(f'password authentication failed for user "{self.user}"')
        return f"v={_b64(_hmac(v.server_key, auth_message))}".encode()

    def _start(self, expected: str) -> None:
        if self._state != expected:
            raise ProtocolViolation(f"unexpected SCRAM message in state {self._state}")
        self._state = "done"  # until the step succeeds: a failed exchange is not retried


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise _malformed("Invalid base64 in SCRAM message.") from None
