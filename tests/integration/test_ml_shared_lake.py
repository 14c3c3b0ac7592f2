"""Two servers over one lake (DuckLake catalog in a real PostgreSQL, one data path): a
model trained on one predicts on the other, and dropping its project on the other
removes the files both see."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from postgres import PostgresServer, catalog_dsn, postgres  # noqa: F401
from server import start_server

pytest.importorskip("sklearn")

EXTENSIONS = Path(__file__).resolve().parents[2] / "extensions"


@pytest.mark.slow  # two servers over a PostgreSQL catalog: about 70 s on a loaded machine
def test_a_second_server_predicts_with_the_model(
    tmp_path: Path, catalog_dsn: str,  # noqa: F811
) -> None:
    config = (f"catalog = '{catalog_dsn}'\ndata_path = '{tmp_path / 'lake'}'\n"
              f"extensions = [{str(EXTENSIONS)!r}]\n"
              "[maintenance]\ninterval = 0\nat_startup = false\n")
    first = start_server(tmp_path / "a", config=config)
    try:
        second = start_server(tmp_path / "b", config=config)
    except BaseException:
        first.stop()
        raise
    try:
        with psycopg.connect(first.dsn(), autocommit=True) as a, \
                psycopg.connect(second.dsn(), autocommit=True) as b:
            a.execute("CREATE TABLE points AS SELECT i::DOUBLE AS x, i % 4 AS g, "
                      "3.0 * i + 1 AS y FROM range(200) t(i)")
            a.execute("SELECT * FROM ml.train('line', 'regression', 'points', 'y', "
                      "algorithm => 'linear')").fetchall()
            on_a = a.execute("SELECT ml.predict('line', p) FROM points p ORDER BY x").fetchall()
            on_b = b.execute("SELECT ml.predict('line', p) FROM points p ORDER BY x").fetchall()
            assert on_b == on_a and len(on_b) == 200
            assert b.execute("SELECT project, deployed FROM ml.models()").fetchall() == [
                ("line", True)]
            # Both servers keep the one view (the second found it made, as it would make it).
            assert b.execute("SELECT project, deployed FROM ml.models").fetchall() == [
                ("line", True)]
            files = tmp_path / "lake" / "_forge_extensions" / "ml" / "projects" / "line"
            assert (files / "models").is_dir()
            assert b.execute("SELECT ml.drop_project('line')").fetchone() == (1,)
            assert not files.exists()
            with pytest.raises(psycopg.errors.UndefinedObject):
                a.execute("SELECT ml.predict('line', p) FROM points p").fetchall()
    finally:
        second.stop()
        first.stop()
