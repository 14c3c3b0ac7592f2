"""The HTTP toolkit (ctx.http) against a JSON API on loopback: every paginator, retries of
429 and 500 honouring Retry-After, timeouts, malformed pages, auth, rate limit, and
secrets kept out of errors."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator

import pytest
from http_api import API_KEY, CLIENT_ID, CLIENT_SECRET, OAUTH_TOKEN, TOKEN, Api, running_api

from forge_sql.ext import (
    ApiKey,
    Basic,
    Bearer,
    Cursor,
    ExtensionError,
    OAuth2ClientCredentials,
    Offset,
    PageNumber,
)
from forge_sql.plugins import http
from forge_sql.plugins.http import HttpClient, TokenBucket, retry_after

_names = iter(range(10**6))


@pytest.fixture(scope="module")
def api_server() -> Iterator[Api]:
    with running_api() as api:
        yield api


@pytest.fixture
def api(api_server: Api) -> Api:
    api_server.set_items(25)
    api_server.fail.clear()
    api_server.delay = 0.0
    api_server.hits.clear()
    return api_server


def client(**options: object) -> tuple[HttpClient, list[float]]:
    slept: list[float] = []
    options.setdefault("sleep", slept.append)
    made = HttpClient(f"test{next(_names)}", **options)  # type: ignore[arg-type]
    return made, slept


def ids(rows: object) -> list[int]:
    return [r["id"] for r in rows]  # type: ignore[attr-defined]


def test_every_paginator_reads_every_record_once(api: Api) -> None:
    expected = list(range(1, 26))
    h, _ = client()
    pages = PageNumber(size_param="per_page", size=10)
    assert ids(h.paginate(f"{api.base}/pages", paginator=pages, records="data")) == expected
    assert h.counts.pages == 4  # 10, 10, 5, then an empty page ends it
    assert ids(h.paginate(f"{api.base}/offset", paginator=Offset(limit=10),
                          records="results")) == expected
    assert ids(h.paginate(f"{api.base}/cursor", paginator=Cursor(path="meta.next"),
                          records="items")) == expected
    assert ids(h.paginate(f"{api.base}/link", paginator="link")) == expected


def test_page_number_and_max_pages(api: Api) -> None:
    h, _ = client()
    got = list(h.paginate(f"{api.base}/pages", paginator="page", records="data",
                          max_pages=2))
    assert ids(got) == list(range(1, 21))
    assert api.hits["/pages"] == 2


def test_429_waits_retry_after_seconds_then_succeeds(api: Api) -> None:
    api.failing("/pages", (429, {"Retry-After": "2"}), (429, {"Retry-After": "1"}))
    h, slept = client()
    assert ids(h.paginate(f"{api.base}/pages", paginator="page", records="data"))[:3] == [1, 2, 3]
    assert slept == [2.0, 1.0]
    assert (h.counts.throttled, h.counts.retries) == (2, 2)


def test_retry_after_as_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    waited = retry_after(when)
    assert waited is not None and 27 <= waited <= 31
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: now
    assert retry_after("soon") is None


def test_500s_back_off_with_jitter_then_fail_without_the_query(api: Api) -> None:
    api.failing("/key", *[(500, {})] * 4)
    h, slept = client(retries=3, backoff_base=1.0, auth=ApiKey("api_key", API_KEY, "query"),
                      secrets=[API_KEY])
    with pytest.raises(ExtensionError) as caught:
        h.get_json(f"{api.base}/key")
    assert "HTTP 500" in caught.value.message and "after 4 attempts" in caught.value.message
    assert API_KEY not in str(caught.value) and "api_key" not in str(caught.value)
    assert len(slept) == 3
    for attempt, delay in enumerate(slept):  # full jitter under base * 2**attempt
        assert 0.0 <= delay <= 2 ** attempt
    assert h.counts.retries == 3


def test_a_long_retry_after_fails_clearly(api: Api) -> None:
    api.failing("/pages", (503, {"Retry-After": "3600"}))
    h, slept = client(max_wait=60)
    with pytest.raises(ExtensionError, match="asks to wait 3600 s"):
        h.get_json(f"{api.base}/pages")
    assert slept == []


def test_a_wait_for_retry_after_ends_when_the_statement_is_cancelled(api: Api) -> None:
    api.failing("/pages", (429, {"Retry-After": "60"}))
    started = time.monotonic()

    def stop() -> str | None:
        return "canceling statement due to user request" if (
            time.monotonic() - started > 1.0) else None

    h = HttpClient(f"test{next(_names)}", stop=stop)
    with pytest.raises(ExtensionError, match="due to user request") as caught:
        h.get_json(f"{api.base}/pages")
    assert caught.value.sqlstate == "57014"
    assert time.monotonic() - started < 2.0  # not the 60 s asked for
    assert h.counts.throttled == 1


def test_slow_answers_time_out_and_are_retried(api: Api) -> None:
    api.delay = 1.0
    h, slept = client(timeout=0.2, retries=1)
    started = time.monotonic()
    with pytest.raises(ExtensionError, match=r"no answer from .* within the timeout"):
        h.get_json(f"{api.base}/pages")
    assert time.monotonic() - started < 5
    assert api.hits["/pages"] == 2 and len(slept) == 1


def test_a_malformed_page_names_the_page(api: Api) -> None:
    h, _ = client()
    rows = h.paginate(f"{api.base}/malformed", paginator="page", records="data")
    got = [next(rows) for _ in range(10)]
    assert ids(got) == list(range(1, 11))
    with pytest.raises(ExtensionError) as caught:
        next(rows)
    assert caught.value.sqlstate == "22032"
    assert "page 2 of" in caught.value.message


def test_a_missing_records_path_says_what_is_there(api: Api) -> None:
    h, _ = client()
    with pytest.raises(ExtensionError) as caught:
        list(h.paginate(f"{api.base}/pages", paginator="page", records="rows"))
    assert caught.value.sqlstate == "22032" and caught.value.detail == "found: data"


def test_auth_kinds(api: Api) -> None:
    for path, auth in (
        ("/bearer", Bearer(TOKEN)),
        ("/basic", Basic("user", TOKEN)),
        ("/key", ApiKey("X-Api-Key", API_KEY)),
        ("/key", ApiKey("api_key", API_KEY, "query")),
        ("/oauth/data", OAuth2ClientCredentials(f"{api.base}/oauth/token", CLIENT_ID,
                                                CLIENT_SECRET)),
    ):
        h, _ = client(auth=auth)
        assert len(h.get_json(f"{api.base}{path}")["data"]) == 25, path
    h, _ = client(auth=Bearer("wrong"))
    with pytest.raises(ExtensionError) as caught:
        h.get_json(f"{api.base}/bearer")
    assert caught.value.sqlstate == "28000"


def test_oauth_token_is_fetched_once_and_never_shown(api: Api) -> None:
    h, _ = client(auth=OAuth2ClientCredentials(f"{api.base}/oauth/token", CLIENT_ID,
                                               CLIENT_SECRET), secrets=[CLIENT_SECRET])
    for _ in range(3):
        h.get_json(f"{api.base}/oauth/data")
    assert api.hits["/oauth/token"] == 1
    assert OAUTH_TOKEN not in repr(h.auth) and CLIENT_SECRET not in repr(h.auth)
    bad, _ = client(auth=OAuth2ClientCredentials(f"{api.base}/oauth/token", CLIENT_ID, "no"))
    with pytest.raises(ExtensionError) as caught:
        bad.get_json(f"{api.base}/oauth/data")
    assert caught.value.sqlstate == "28000"


def test_hosts_outside_the_allowed_list_are_refused(api: Api) -> None:
    h, _ = client(allowed_hosts=["example.org"])
    with pytest.raises(ExtensionError) as caught:
        h.get_json(f"{api.base}/pages")
    assert caught.value.sqlstate == "42501"
    assert api.hits["/pages"] == 0
    ok, _ = client(allowed_hosts=[f"127.0.0.1:{api.port}"])
    assert ok.get_json(f"{api.base}/pages")["data"]
    with pytest.raises(ExtensionError, match="only http and https"):
        ok.get_json("file:///etc/passwd")


def test_token_bucket_spaces_requests() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(rate=5, burst=1, clock=lambda: now[0], sleep=sleep)
    for _ in range(11):
        bucket.take()
    assert now[0] == pytest.approx(2.0)  # the first is free, then 5 a second


def test_rate_limit_and_concurrency_hold_across_threads(api: Api) -> None:
    name = f"shared{next(_names)}"
    api.delay = 0.05
    started = time.monotonic()

    def work() -> None:
        h = HttpClient(name, rate_limit=20, concurrency=2)
        for _ in range(5):
            h.get_json(f"{api.base}/pages")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 20 requests at 20 a second (a burst of 20 saved at most... the bucket starts full):
    # what bounds them here is two in flight at 50 ms each, so at least 0.5 s.
    assert time.monotonic() - started >= 0.45
    assert api.hits["/pages"] == 20
    assert http.limits(name, 20, 2, 30.0).slots._value == 2  # type: ignore[attr-defined]
