"""Sources (@source) as live table functions and the shipped http_json, through a real
server reading a JSON API on loopback: arguments, secrets, errors that keep secrets out,
and who may reach which host."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from http_api import TOKEN, Api, running_api
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

REPO = Path(__file__).resolve().parents[2]
SOURCES = '''
from forge_sql.ext import Bearer, Context, source


@source(columns={"id": "BIGINT", "name": "VARCHAR", "updated_at": "BIGINT"},
        primary_key="id", cursor="updated_at", secret="api_token", rate_limit=200)
def items(since: int = 0, *, ctx: Context):
    """The API's items changed since a cursor value."""
    ctx.http.auth = Bearer(ctx.secret("api_token"))
    yield from ctx.http.paginate(ctx.settings["base_url"] + "/pages",
                                 params={"since": since, "per_page": 10},
                                 paginator="page", records="data")


@source(columns=[("id", "BIGINT")], secret="absent")
def needs_absent_secret(*, ctx: Context):
    yield {"id": 1}
'''
USERS = "".join(
    f'[users.{name}]\npassword = "{make_verifier("pw")}"\nsuperuser = {str(admin).lower()}\n'
    for name, admin in (("alice", True), ("bob", False))
)


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with running_api() as running:
        running.set_items(25)
        running.token_required = True
        yield running


def project(root: Path) -> Path:
    (root / "extensions").mkdir()
    (root / "extensions" / "api_sources.py").write_text(textwrap.dedent(SOURCES))
    return root


@pytest.fixture(scope="module")
def lake(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = project(tmp_path_factory.mktemp("sources"))
    config = USERS + textwrap.dedent(f'''
        [secrets]
        api_token = "{TOKEN}"
        [extension_settings.api_sources]
        base_url = "{api.base}"
        http_retries = 2
        [extension_settings.http_json]
        allowed_hosts = ["127.0.0.1:{api.port}"]
    ''')
    running = start_server(root / "data", config=config, cwd=root)
    yield running
    running.stop()


def connect(lake: RunningServer, user: str) -> psycopg.Connection:
    return psycopg.connect(lake.dsn(user=user, password="pw"), autocommit=True)


def test_a_source_is_a_live_table_function(lake: RunningServer, api: Api) -> None:
    with connect(lake, "bob") as bob:
        rows = bob.execute("SELECT id, name FROM items() WHERE id > 22 ORDER BY id").fetchall()
        assert rows == [(23, "item 23"), (24, "item 24"), (25, "item 25")]
        assert bob.execute("SELECT count(*) FROM items(since => 20)").fetchone() == (6,)
        cursor = bob.execute("SELECT * FROM items(%s) LIMIT 0", (24,), prepare=True)
        assert [(c.name, c.type_code) for c in cursor.description or ()] == [
            ("id", 20), ("name", 1043), ("updated_at", 20)
        ]


def test_a_source_missing_its_secret_fails_before_any_request(
    lake: RunningServer, api: Api
) -> None:
    before = sum(api.hits.values())
    with connect(lake, "bob") as bob:
        with pytest.raises(psycopg.errors.UndefinedObject, match='secret "absent"'):
            bob.execute("SELECT * FROM needs_absent_secret()")
        assert bob.execute("SELECT 1").fetchone() == (1,)
    assert sum(api.hits.values()) == before


def test_a_failing_api_is_an_error_without_secrets(lake: RunningServer, api: Api) -> None:
    api.failing("/pages", *[(500, {"Retry-After": "0"})] * 3)
    with connect(lake, "bob") as bob:
        with pytest.raises(psycopg.errors.ExternalRoutineException) as caught:
            bob.execute("SELECT * FROM items()")
        error = caught.value.diag
        text = f"{error.message_primary} {error.message_detail} {error.message_hint}"
        assert "HTTP 500" in text and "after 3 attempts" in text
        assert TOKEN not in text
        assert bob.execute("SELECT count(*) FROM items()").fetchone() == (25,)
    assert TOKEN not in lake.log_file.read_text(errors="replace")


def test_http_json_reads_records_as_json(lake: RunningServer, api: Api) -> None:
    with connect(lake, "alice") as alice:
        url = f"{api.base}/bearer"
        # Without the token the API says 401: 28000, the answer's text as DETAIL.
        with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
            alice.execute("SELECT * FROM http_json(%s, records => 'data')", (url,))
        api.token_required = False
        try:
            rows = alice.execute(
                "SELECT value->>'name' FROM http_json(%s, records => 'data', "
                "paginator => 'page') ORDER BY (value->>'id')::int LIMIT 2",
                (f"{api.base}/pages",),
            ).fetchall()
            assert rows == [("item 1",), ("item 2",)]
            typed = alice.execute(
                "SELECT (value->>'id')::BIGINT AS id, value->>'name' AS name "
                "FROM http_json(%s, paginator => 'link') "
                "WHERE (value->>'id')::BIGINT %% 10 = 0 ORDER BY id",
                (f"{api.base}/link",),
            ).fetchall()
            assert typed == [(10, "item 10"), (20, "item 20")]
            with pytest.raises(psycopg.errors.InvalidParameterValue, match="paginator"):
                alice.execute("SELECT * FROM http_json(%s, paginator => 'pages')",
                              (f"{api.base}/link",))
        finally:
            api.token_required = True


def test_http_json_limits_others_to_the_allowed_hosts(lake: RunningServer, api: Api) -> None:
    api.token_required = False
    try:
        with connect(lake, "bob") as bob:
            got = bob.execute("SELECT count(*) FROM http_json(%s, paginator => 'link')",
                              (f"{api.base}/link",)).fetchone()
            assert got == (25,)
            before = api.hits["/link"]
            for url in (f"http://localhost:{api.port}/link", "http://169.254.169.254/"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege,
                                   match="is not allowed"):
                    bob.execute("SELECT * FROM http_json(%s)", (url,))
            assert api.hits["/link"] == before
            # The next page on another host is refused too, before it is requested.
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="localhost"):
                bob.execute("SELECT * FROM http_json(%s, paginator => 'link')",
                            (f"{api.base}/elsewhere",))
            assert api.hits["/link"] == before
        with connect(lake, "alice") as alice:  # superusers read any host
            got = alice.execute("SELECT count(*) FROM http_json(%s, paginator => 'link')",
                                (f"http://localhost:{api.port}/link",)).fetchone()
            assert got == (25,)
    finally:
        api.token_required = True


def test_http_json_is_superuser_only_without_allowed_hosts(
    api: Api, tmp_path: Path
) -> None:
    root = project(tmp_path)
    running = start_server(root / "data", config=USERS, cwd=root)
    try:
        with connect(running, "bob") as bob, pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="permission denied for function http_json"
        ):
            bob.execute("SELECT * FROM http_json(%s)", (f"{api.base}/link",))
    finally:
        running.stop()


def test_syncs_are_for_superusers(lake: RunningServer) -> None:
    with connect(lake, "bob") as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="running syncs is reserved to superusers"):
            bob.execute("CALL forge_sync('anything')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT * FROM forge_meta.sync_runs")
    with connect(lake, "alice") as alice, pytest.raises(psycopg.errors.UndefinedObject):
        alice.execute("CALL forge_sync('anything')")
