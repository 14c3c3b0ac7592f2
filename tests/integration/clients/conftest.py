"""Fixtures shared by the client tests: a SQLAlchemy engine per PostgreSQL dialect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from server import RunningServer

DIALECTS = ["psycopg", "psycopg2"]


@pytest.fixture(params=DIALECTS)
def engine(request: pytest.FixtureRequest, server: RunningServer) -> Iterator[sa.Engine]:
    url = sa.URL.create(f"postgresql+{request.param}", username="forge", host=server.host,
                        port=server.port, database=server.database)
    created = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        yield created
    finally:
        created.dispose()
