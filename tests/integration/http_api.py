"""A JSON API on loopback for the source and HTTP toolkit tests: paginated records (page
number, offset, cursor, Link header), 429 with Retry-After, 500s, slow answers, malformed
pages and auth (bearer, basic, API key, OAuth2 client credentials). Started on port 0.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "t0ken-s3cret-value"
API_KEY = "k3y-s3cret-value"
CLIENT_ID, CLIENT_SECRET = "client", "cl1ent-s3cret"
OAUTH_TOKEN = "oauth-access-t0ken"


@dataclass
class Api:
    """The API's data and its scripted failures; ``hits`` counts requests by path."""

    items: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    delay: float = 0.0
    token_required: bool = False  # every data route wants "Bearer TOKEN"
    hits: Counter[str] = field(default_factory=Counter)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_items(self, count: int, *, updated: int = 0) -> None:
        self.items = [
            {"id": i, "name": f"item {i}", "updated_at": updated + i} for i in range(1, count + 1)
        ]

    def failing(self, path: str, *answers: tuple[int, dict[str, str]]) -> None:
        """The next requests of ``path`` get these statuses and headers, in order (status 0:
        the usual answer)."""
        with self.lock:
            self.fail[path] = list(answers)


def _handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            path = parts.path
            with api.lock:
                api.hits[path] += 1
                api.seen_headers.append(dict(self.headers))
                scripted = api.fail.get(path)
                answer = scripted.pop(0) if scripted else None
            if answer is not None and answer[0] != 0:  # status 0: answer as usual
                status, headers = answer
                self._send(status, {"error": "scripted"}, headers)
                return
            if api.delay:
                time.sleep(api.delay)
            self._route(path, query)

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
                  raw: bytes | None = None) -> None:
            data = raw if raw is not None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _selected(self, query: dict[str, str]) -> list[dict[str, Any]]:
            since = int(query.get("since", "0") or 0)
            return [i for i in api.items if i["updated_at"] >= since]

        def _route(self, path: str, query: dict[str, str]) -> None:
            if api.token_required and not path.startswith(("/oauth", "/bearer")) and \
                    self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error": "unauthorized"})
                return
            items = self._selected(query)
            size = int(query.get("per_page", "10"))
            if path == "/pages":
                page = int(query.get("page", "1"))
                self._send(200, {"data": items[(page - 1) * size : page * size]})
            elif path == "/offset":
                offset, limit = int(query.get("offset", "0")), int(query.get("limit", "10"))
                self._send(200, {"results": items[offset : offset + limit]})
            elif path == "/cursor":
                start = int(query.get("cursor", "0") or 0)
                rest = items[start : start + size]
                token = str(start + size) if start + size < len(items) else None
                self._send(200, {"items": rest, "meta": {"next": token}})
            elif path == "/link":
                page = int(query.get("page", "1"))
                headers = {}
                if page * size < len(items):
                    headers["Link"] = f'</link?page={page + 1}&per_page={size}>; rel="next"'
                self._send(200, items[(page - 1) * size : page * size], headers)
            elif path == "/elsewhere":  # the next page is on another host name
                self._send(200, items[:size],
                           {"Link": f'<http://localhost:{api.port}/link?page=2>; rel="next"'})
            elif path == "/malformed":
                page = int(query.get("page", "1"))
                if page == 2:
                    self._send(200, None, raw=b'{"data": [{"id": 11, "name": ')
                else:
                    self._send(200, {"data": items[(page - 1) * size : page * size]})
            elif path == "/bearer":
                self._auth(self.headers.get("Authorization") == f"Bearer {TOKEN}", items)
            elif path == "/basic":
                good = base64.b64encode(b"user:" + TOKEN.encode()).decode()
                self._auth(self.headers.get("Authorization") == f"Basic {good}", items)
            elif path == "/key":
                self._auth(
                    self.headers.get("X-Api-Key") == API_KEY or query.get("api_key") == API_KEY,
                    items,
                )
            elif path == "/oauth/token":
                good = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {good}":
                    self._send(401, {"error": "invalid_client"})
                    return
                self._send(200, {"access_token": OAUTH_TOKEN, "expires_in": 3600})
            elif path == "/oauth/data":
                self._auth(self.headers.get("Authorization") == f"Bearer {OAUTH_TOKEN}", items)
            else:
                self._send(404, {"error": "not found"})

        def _auth(self, good: bool, items: list[dict[str, Any]]) -> None:
            if good:
                self._send(200, {"data": items})
            else:
                self._send(401, {"error": "unauthorized"})

    return Handler


@contextmanager
def running_api() -> Iterator[Api]:
    api = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
