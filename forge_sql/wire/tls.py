"""TLS for client connections: the server context, and who must use it.

PostgreSQL protocol section 53.2.10 (SSL Session Encryption): the client sends SSLRequest,
the server answers ``S`` and the TLS handshake follows on the same socket.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from forge_sql.errors import ConfigError


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side context for ``cert`` (PEM chain) and ``key``; TLS 1.2 at least."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise ConfigError(f"TLS: cannot read {exc.filename}: no such file") from exc
    except PermissionError as exc:
        raise ConfigError(f"TLS: cannot read {exc.filename}: permission denied") from exc
    except ssl.SSLError as exc:
        raise ConfigError(
            f"TLS: {cert} and {key} are not a PEM certificate and its private key ({exc.reason})"
        ) from exc
    return context


def is_loopback_peer(peername: object) -> bool:
    """Whether the socket's peer (``writer.get_extra_info('peername')``) is this machine."""
    if not isinstance(peername, tuple) or not peername:
        return True  # a Unix socket
    try:
        return ipaddress.ip_address(str(peername[0])).is_loopback
    except ValueError:
        return False
