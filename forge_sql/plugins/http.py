"""The HTTP toolkit functions get as ``ctx.http`` (forge_sql.ext.Http), on httpx: timeouts,
retries with jittered exponential backoff honouring Retry-After, a token bucket and a
concurrency limit per source, paginators, auth, and counts for sync history.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from forge_sql.ext import (
    PAGINATORS,
    ApiKey,
    Auth,
    Basic,
    Bearer,
    Cursor,
    ExtensionError,
    LinkHeader,
    OAuth2ClientCredentials,
    Offset,
    PageNumber,
    Paginator,
)

if TYPE_CHECKING:
    # Imported where a request is sent: httpx (and the rich console its command line
    # pulls in) would otherwise load at every server start and every CLI command.
    import httpx

log = logging.getLogger("forge_sql.http")
# httpx logs every request's full URL at INFO: an API key sent as a query parameter would
# reach the server log. Our own log lines name scheme, host and path only.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
INVALID_JSON = "22032"  # invalid_json_text
HTTP_FAILED = "38000"  # external_routine_exception: the remote end failed
NOT_ALLOWED = "42501"
CANCELED = "57014"  # query_canceled: a cancel or statement_timeout ended a wait
STOP_POLL = 0.05  # seconds between looks at cancel during a wait


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved; ``take`` waits for one."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._at = clock()
        self._lock = threading.Lock()

    def take(self, sleep: Callable[[float], None] | None = None) -> float:
        """Take a token, waiting as long as needed (with ``sleep``, if given); returns the
        seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            (sleep or self._sleep)(wait)
        return wait


@dataclass
class Limits:
    """What every call of one source shares: its rate, its concurrency, its pool."""

    bucket: TokenBucket | None
    slots: threading.BoundedSemaphore
    client: httpx.Client


_limits: dict[tuple[str, float | None, int, float], Limits] = {}
_limits_lock = threading.Lock()


def limits(name: str, rate_limit: float | None, concurrency: int, timeout: float) -> Limits:
    """The shared limits of the source ``name`` (process-wide, across sessions)."""
    key = (name, rate_limit, concurrency, timeout)
    import httpx

    with _limits_lock:
        found = _limits.get(key)
        if found is None:
            found = _limits[key] = Limits(
                TokenBucket(rate_limit) if rate_limit else None,
                threading.BoundedSemaphore(concurrency),
                httpx.Client(
                    timeout=httpx.Timeout(timeout),
                    limits=httpx.Limits(max_connections=concurrency),
                    follow_redirects=False,
                ),
            )
        return found


@dataclass
class Counts:
    """What a sync run records: requests sent, pages read, retries, 429s, waits."""

    requests: int = 0
    pages: int = 0
    retries: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)] (so that many clients
    throttled at once do not come back together)."""
    return random.uniform(0.0, min(cap, base * (2 ** attempt)))


def shown(url: str) -> str:
    """scheme://host/path of a URL: no user info, no query (which may hold a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class HttpClient:
    """forge_sql.ext.Http on httpx, for one call of one function."""

    def __init__(
        self,
        name: str,
        *,
        rate_limit: float | None = None,
        concurrency: int = 4,
        timeout: float = 30.0,
        retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_wait: float = 120.0,
        allowed_hosts: Iterable[str] | None = None,
        secrets: Iterable[str] = (),
        auth: Auth | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stop: Callable[[], str | None] | None = None,
    ) -> None:
        """``stop()``: why the calling statement must stop (a cancel or statement_timeout),
        or None; waits (Retry-After, backoff, the rate limit) end with 57014 when it says
        so."""
        self.name = name
        self.auth = auth
        self.counts = Counts()
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_wait = max_wait
        self.allowed_hosts = (
            None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        )
        self._secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)
        self._limits = limits(name, rate_limit, concurrency, timeout)
        self._sleep = sleep
        self._stop = stop
        self._token: tuple[str, float] | None = None  # OAuth2 access token, expiry

    # -- the public surface --------------------------------------------------------------
    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> Any:
        return self._json(self.request("GET", url, params=params, headers=headers))

    def post_json(self, url: str, body: Any = None, *,
                  params: Mapping[str, Any] | None = None,
                  headers: Mapping[str, str] | None = None) -> Any:
        return self._json(
            self.request("POST", url, params=params, headers=headers, body=body)
        )

    def paginate(self, url: str, *, params: Mapping[str, Any] | None = None,
                 paginator: Paginator | str = "link", records: str | None = None,
                 headers: Mapping[str, str] | None = None,
                 max_pages: int | None = None) -> Iterator[Any]:
        """Every record of every page, page by page (only one page is held at a time)."""
        how = _paginator(paginator)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        page = 0
        next_url: str | None = url
        seen_tokens: set[str] = set()
        number = how.start if isinstance(how, PageNumber) else 0
        offset = 0
        while next_url is not None:
            if max_pages is not None and page >= max_pages:
                return
            sent = dict(query)
            if isinstance(how, PageNumber):
                sent[how.param] = number
                if how.size_param and how.size:
                    sent[how.size_param] = how.size
            elif isinstance(how, Offset):
                sent[how.offset_param] = offset
                sent[how.limit_param] = how.limit
            response = self.request("GET", next_url, params=sent, headers=headers)
            page += 1
            self.counts.pages += 1
            body = self._json(response, page)
            found = _records(body, records, page, shown(next_url))
            yield from found
            if isinstance(how, PageNumber):
                next_url = next_url if found else None
                number += 1
            elif isinstance(how, Offset):
                next_url = next_url if len(found) >= how.limit else None
                offset += len(found)
            elif isinstance(how, Cursor):
                token = _dig(body, how.path)
                if token in (None, "", []):
                    next_url = None
                    continue
                token = str(token)
                if token in seen_tokens:
                    raise ExtensionError(
                        f"page {page} of {shown(url)} repeats an earlier next-page token",
                        HTTP_FAILED, hint="the API's pagination loops",
                    )
                seen_tokens.add(token)
                if token.startswith(("http://", "https://", "/")):
                    next_url = urljoin(str(response.url), token)
                    query = {}
                else:
                    query[how.param] = token
            else:
                link = response.links.get("next", {}).get("url")
                next_url = urljoin(str(response.url), link) if link else None
                query = {}  # the next URL carries its own query

    # -- one request, retried --------------------------------------------------------------
    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, body: Any = None) -> httpx.Response:
        import httpx

        self._check_host(url)
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response = self._send(method, url, params, headers, body)
            except httpx.TimeoutException:
                problem = f"no answer from {shown(url)} within the timeout"
            except httpx.TransportError as exc:
                problem = f"cannot reach {shown(url)}: {type(exc).__name__}"
            else:
                status = response.status_code
                if status == 401 and isinstance(self.auth, OAuth2ClientCredentials) \
                        and self._token is not None and attempt == 0:
                    self._token = None  # expired early: fetch a new one, once
                    attempt += 1
                    continue
                if status not in RETRIED_STATUSES:
                    if status >= 400:
                        raise self._failed(response, url)
                    return response
                if status == 429:
                    self.counts.throttled += 1
                problem = f"HTTP {status} from {shown(url)}"
                wait = retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > self.max_wait:
                    raise ExtensionError(
                        f"{problem}: the server asks to wait {wait:.0f} s",
                        HTTP_FAILED,
                        detail=f"at most {self.max_wait:.0f} s is waited for one retry",
                    )
            if attempt >= self.retries:
                raise ExtensionError(
                    self._redact(f"{problem} (after {attempt + 1} attempts)"), HTTP_FAILED
                )
            delay = wait if wait is not None else backoff(
                attempt, self.backoff_base, self.backoff_cap
            )
            attempt += 1
            self.counts.retries += 1
            self.counts.waited_seconds += delay
            log.info("%s: %s; retry %d in %.2f s", self.name, self._redact(problem),
                     attempt, delay)
            self._wait(delay)

    def _wait(self, seconds: float) -> None:
        """Sleep ``seconds``, in steps that look whether the statement must stop."""
        if self._stop is None:
            self._sleep(seconds)
            return
        end = time.monotonic() + seconds
        while True:
            reason = self._stop()
            if reason:
                raise ExtensionError(reason, CANCELED)
            left = end - time.monotonic()
            if left <= 0:
                return
            self._sleep(min(left, STOP_POLL))

    def _send(self, method: str, url: str, params: Mapping[str, Any] | None,
              headers: Mapping[str, str] | None, body: Any) -> httpx.Response:
        import httpx

        sent_headers = {"Accept": "application/json", **(headers or {})}
        sent_params = dict(params or {})
        auth: httpx.Auth | None = None
        if isinstance(self.auth, Bearer):
            sent_headers["Authorization"] = f"Bearer {self.auth.token}"
        elif isinstance(self.auth, Basic):
            auth = httpx.BasicAuth(self.auth.username, self.auth.password)
        elif isinstance(self.auth, ApiKey):
            if self.auth.where == "query":
                sent_params[self.auth.name] = self.auth.value
            else:
                sent_headers[self.auth.name] = self.auth.value
        elif isinstance(self.auth, OAuth2ClientCredentials):
            sent_headers["Authorization"] = f"Bearer {self._access_token()}"
        limits = self._limits
        if limits.bucket is not None:
            self.counts.waited_seconds += limits.bucket.take(self._wait)
        with limits.slots:
            self.counts.requests += 1
            return limits.client.request(
                method, url, params=sent_params or None, headers=sent_headers,
                json=body if body is not None else None, auth=auth,
            )

    def _access_token(self) -> str:
        assert isinstance(self.auth, OAuth2ClientCredentials)
        if self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        import httpx

        creds = self.auth
        form = {"grant_type": "client_credentials"}
        if creds.scope:
            form["scope"] = creds.scope
        self._check_host(creds.token_url)
        try:
            response = self._limits.client.post(
                creds.token_url, data=form,
                auth=httpx.BasicAuth(creds.client_id, creds.client_secret),
            )
        except httpx.HTTPError as exc:
            raise ExtensionError(
                f"cannot get an OAuth2 token from {shown(creds.token_url)}: "
                f"{type(exc).__name__}", HTTP_FAILED,
            ) from None
        self.counts.requests += 1
        if response.status_code >= 400:
            raise ExtensionError(
                f"OAuth2 token request to {shown(creds.token_url)} failed: "
                f"HTTP {response.status_code}", "28000",
            )
        body = self._json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise ExtensionError(
                f"the OAuth2 answer of {shown(creds.token_url)} has no access_token",
                HTTP_FAILED,
            )
        expires = body.get("expires_in", 3600)
        life = float(expires) if isinstance(expires, int | float) else 3600.0
        self._secrets = sorted({*self._secrets, token}, key=len, reverse=True)
        self._token = (token, time.monotonic() + max(0.0, life - 30.0))
        return token

    # -- checks and errors ---------------------------------------------------------------
    def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ExtensionError(f"{shown(url)}: only http and https URLs are read", "22023")
        if self.allowed_hosts is None:
            return
        host = (parts.hostname or "").lower()
        with_port = f"{host}:{parts.port}" if parts.port else host
        if host not in self.allowed_hosts and with_port not in self.allowed_hosts:
            raise ExtensionError(
                f'host "{with_port}" is not allowed', NOT_ALLOWED,
                hint="a superuser can allow it in allowed_hosts of the extension's settings",
            )

    def _failed(self, response: httpx.Response, url: str) -> ExtensionError:
        status = response.status_code
        sqlstate = "28000" if status in (401, 403) else HTTP_FAILED
        text = response.text[:200] if response.headers.get("content-type", "").startswith(
            ("application/json", "text/")) else ""
        return ExtensionError(
            f"HTTP {status} from {shown(url)}", sqlstate,
            detail=self._redact(text) or None,
        )

    def _json(self, response: httpx.Response, page: int | None = None) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            where = f"page {page} of " if page is not None else ""
            raise ExtensionError(
                f"{where}{shown(str(response.url))} is not valid JSON", INVALID_JSON,
                detail=self._redact(response.text[:80]),
            ) from None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text


def _paginator(value: Paginator | str) -> Paginator:
    if isinstance(value, str):
        try:
            return PAGINATORS[value]
        except KeyError:
            raise ExtensionError(
                f'unknown paginator "{value}"', "22023",
                hint=f"use one of {', '.join(PAGINATORS)}",
            ) from None
    if isinstance(value, PageNumber | Offset | Cursor | LinkHeader):
        return value
    raise ExtensionError(f"{value!r} is not a paginator", "22023")


def _dig(body: Any, path: str | None) -> Any:
    """The value at a dotted path of a JSON body (None when missing)."""
    if not path:
        return body
    found = body
    for key in path.split("."):
        if isinstance(found, dict):
            found = found.get(key)
        elif isinstance(found, list) and key.isdigit() and int(key) < len(found):
            found = found[int(key)]
        else:
            return None
    return found


def _records(body: Any, path: str | None, page: int, where: str) -> list[Any]:
    found = _dig(body, path)
    if found is None and path:
        keys = ", ".join(sorted(body)[:10]) if isinstance(body, dict) else type(body).__name__
        raise ExtensionError(
            f'page {page} of {where} has no "{path}"', INVALID_JSON,
            detail=f"found: {keys}",
        )
    if isinstance(found, list):
        return found
    if not path and isinstance(found, dict):
        return [found]
    raise ExtensionError(
        f'"{path or "the body"}" of page {page} of {where} is not a list of records',
        INVALID_JSON,
    )


def for_function(spec: object, settings: Mapping[str, Any], secrets: Mapping[str, str],
                 superuser: bool, stop: Callable[[], str | None] | None = None) -> HttpClient:
    """The toolkit of one call of a table function or source. The extension's settings
    may give ``http_timeout`` (seconds), ``http_retries`` and ``allowed_hosts``: the only
    hosts its functions reach for non-superusers. ``stop``: the calling statement's cancel
    and statement_timeout, which end the toolkit's waits."""
    allowed = settings.get("allowed_hosts")
    return HttpClient(
        f"{getattr(spec, 'schema', 'public')}.{getattr(spec, 'name', '?')}",
        rate_limit=getattr(spec, "rate_limit", None),
        concurrency=getattr(spec, "concurrency", 4),
        timeout=float(settings.get("http_timeout", 30.0)),
        retries=int(settings.get("http_retries", 5)),
        allowed_hosts=None if superuser or allowed is None else [str(h) for h in allowed],
        secrets=secrets.values(),
        stop=stop,
    )
