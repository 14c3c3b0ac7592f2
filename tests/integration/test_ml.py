"""The shipped ML extension (extensions/ml) through a real server and psycopg: training
returns metrics equal to scikit-learn in process, predict (scalar and table forms),
evaluate, explain, deploy and rollback, reproducibility, sampling, progress, cancel, and
bad input with SQLSTATEs leaving nothing registered."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import psycopg
import pytest
from process_stats import cpu_seconds, memory_kb
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

# As the server's training process does (extensions/ml): OpenMP's busy-waiting makes the
# in-process reference fits here take minutes instead of a second on a loaded machine.
# Read when OpenMP loads, so before scikit-learn is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
pytest.importorskip("sklearn")

EXTENSIONS = Path(__file__).resolve().parents[2] / "extensions"
CONFIG = (
    f"extensions = [{str(EXTENSIONS)!r}]\n"
    "[maintenance]\ninterval = 0\nat_startup = false\n"
    # The cap of training samples and of evaluate's ROC AUC sample: the memory test's
    # three million rows are well over it; the other tests' tables well under.
    "[extension_settings.ml]\nmax_training_rows = 100000\n"
    + "".join(
        f'[users.{name}]\npassword = "{make_verifier("pw")}"\nsuperuser = {str(admin).lower()}\n'
        for name, admin in (("alice", True), ("bob", False))
    )
)
# Deterministic data: the label depends on x1, x2 and the plan; a NULL and a date column.
CUSTOMERS = """
CREATE TABLE customers AS
SELECT i AS id,
       ((i * 7919) % 1000) / 100.0 AS x1,
       ((i * 104729) % 997) / 99.7 AS x2,
       CASE WHEN i % 11 = 0 THEN NULL ELSE ((i * 31) % 50)::DOUBLE END AS x3,
       CASE i % 3 WHEN 0 THEN 'basic' WHEN 1 THEN 'plus' ELSE 'pro' END AS plan,
       DATE '2024-01-01' + (i % 365)::INT AS signed_up,
       (((i * 7919) % 1000) / 100.0 + ((i * 104729) % 997) / 99.7
        + CASE i % 3 WHEN 2 THEN 3 ELSE 0 END) > 11 AS churned,
       2.5 * ((i * 7919) % 1000) / 100.0 - ((i * 104729) % 997) / 99.7 + (i % 3) AS spend
FROM range(1, 4001) AS t(i)
"""


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("ml") / "data", config=CONFIG)
    with psycopg.connect(running.dsn(user="alice", password="pw"), autocommit=True) as conn:
        conn.execute(CUSTOMERS)
        conn.execute("CREATE TABLE secret_customers AS SELECT * FROM customers")
        conn.execute("GRANT SELECT ON customers TO bob")
    yield running
    running.stop()


@pytest.fixture
def alice(lake: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lake.dsn(user="alice", password="pw"), autocommit=True) as conn:
        yield conn


@pytest.fixture
def bob(lake: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lake.dsn(user="bob", password="pw"), autocommit=True) as conn:
        yield conn


def metrics(conn: psycopg.Connection, sql: str) -> dict[str, float]:
    return {row[3]: row[4] for row in conn.execute(sql).fetchall()}


def models(conn: psycopg.Connection, project: str) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT model_id, deployed, score FROM ml.models() WHERE project = %s ORDER BY model_id",
        (project,),
    ).fetchall()


def storage(lake: RunningServer) -> Path:
    return lake.data_dir / "lake" / "_forge_extensions" / "ml"


def test_classifier_metrics_equal_scikit_learn_in_process(alice: psycopg.Connection) -> None:
    got = metrics(alice, "SELECT * FROM ml.train('eq_clf', 'classification', "
                         "'SELECT x1, x2, churned FROM customers', 'churned', "
                         "algorithm => 'gradient_boosting', seed => 7)")
    assert set(got) == {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}
    # The same rows, the same order (by the seeded hash of each row), split and estimator.
    from sklearn import metrics as m
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    con = duckdb.connect()
    con.execute(CUSTOMERS)
    rows = con.execute("SELECT x1, x2, churned FROM (SELECT x1, x2, churned FROM customers) q "
                       "ORDER BY hash(q, 7::BIGINT)").fetchnumpy()
    x = np.column_stack([rows["x1"], rows["x2"]])
    y = rows["churned"]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=7,
                                                        stratify=y)
    model = HistGradientBoostingClassifier(random_state=7).fit(x_train, y_train)
    predicted = model.predict(x_test)
    assert got["accuracy"] == pytest.approx(m.accuracy_score(y_test, predicted), abs=1e-12)
    assert got["f1"] == pytest.approx(m.f1_score(y_test, predicted), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(
        m.roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]), abs=1e-12)
    assert got["accuracy"] > 0.8


def test_regression_predict_scalar_and_table_forms_agree(alice: psycopg.Connection) -> None:
    got = metrics(alice, "SELECT * FROM ml.train('spend', 'regression', 'customers', 'spend', "
                         "algorithm => 'linear')")
    assert set(got) == {"r2", "mae", "rmse"} and got["r2"] > 0.95
    scalar = alice.execute(
        "SELECT id, ml.predict('spend', c) FROM customers c ORDER BY id").fetchall()
    table = alice.execute(
        "SELECT key::BIGINT, prediction FROM ml.predictions('spend', 'customers', key => 'id') "
        "ORDER BY 1").fetchall()
    assert len(scalar) == 4000
    assert [(i, pytest.approx(p, abs=1e-9)) for i, p in table] == scalar
    # A model in a view: every client reads predictions as a column.
    alice.execute("CREATE VIEW spend_scores AS SELECT id, ml.predict('spend', c) AS predicted "
                  "FROM customers c")
    assert alice.execute("SELECT count(*) FROM spend_scores WHERE predicted IS NOT NULL"
                         ).fetchone() == (4000,)


def test_categories_nulls_and_dates_are_prepared_as_at_training(
    alice: psycopg.Connection,
) -> None:
    metrics(alice, "SELECT * FROM ml.train('prep', 'classification', 'customers', 'churned', "
                   "algorithm => 'linear')")
    # NULL features and an unseen category are answered, not refused.
    rows = alice.execute(
        "SELECT ml.predict('prep', r), ml.predict_proba('prep', r) FROM (SELECT 1 AS id, "
        "NULL::DOUBLE AS x1, 5.0 AS x2, NULL::DOUBLE AS x3, 'enterprise' AS plan, "
        "DATE '2030-01-01' AS signed_up, 0.0 AS spend) AS r").fetchall()
    prediction, probabilities = rows[0]
    assert prediction in (0.0, 1.0)
    assert set(json.loads(probabilities)) == {"False", "True"}
    contributions = json.loads(alice.execute(
        "SELECT ml.explain_row('prep', c) FROM customers c WHERE id = 5").fetchone()[0])
    assert {"x1", "x2", "plan_pro", "signed_up__epoch_days"} <= set(contributions)


def test_evaluate_explain_and_the_models_view(alice: psycopg.Connection) -> None:
    metrics(alice, "SELECT * FROM ml.train('ev', 'classification', "
                   "'SELECT x1, x2, x3, plan, churned FROM customers', 'churned', "
                   "algorithm => 'random_forest', hyperparams => '{\"n_estimators\": 20}')")
    evaluated = {r[2]: r[3] for r in alice.execute(
        "SELECT * FROM ml.evaluate('ev', 'SELECT * FROM customers WHERE id > 3000')")}
    assert set(evaluated) == {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}
    assert evaluated["accuracy"] > 0.85
    ranked = alice.execute("SELECT feature, importance FROM ml.explain('ev')").fetchall()
    assert {f for f, _ in ranked} == {"x1", "x2", "x3", "plan"}
    assert ranked[0][0] in ("x1", "x2")  # the label is made of them
    row = alice.execute(
        "SELECT algorithm, deployed, key_metric, snapshot IS NOT NULL, seed, rows_trained, "
        "code_hash, versions::JSON->>'scikit-learn' FROM ml.models() WHERE project = 'ev'"
    ).fetchone()
    assert row is not None
    assert row[:6] == ("random_forest", True, "f1", True, 42, 3200)
    assert len(row[6]) == 16 and row[7]


def test_retrain_on_the_same_data_and_seed_gives_the_same_metrics(
    alice: psycopg.Connection,
) -> None:
    sql = ("SELECT * FROM ml.train('repro', 'classification', 'customers', 'churned', "
           "algorithm => 'random_forest', hyperparams => '{\"n_estimators\": 10}', seed => 3)")
    first, second = metrics(alice, sql), metrics(alice, sql)
    assert first == second
    other = metrics(alice, sql.replace("seed => 3", "seed => 4"))
    assert other != first


def test_retrain_on_the_recorded_snapshot_gives_the_same_metrics(
    alice: psycopg.Connection,
) -> None:
    alice.execute("CREATE TABLE snap_src AS SELECT * FROM customers")
    first = metrics(alice, "SELECT * FROM ml.train('snap', 'regression', 'snap_src', "
                           "'spend', algorithm => 'random_forest', "
                           "hyperparams => '{\"n_estimators\": 5}')")
    snapshot, query = alice.execute(
        "SELECT snapshot, relation FROM ml.models() WHERE project = 'snap'").fetchone()
    assert snapshot is not None and query == "snap_src"
    alice.execute("DELETE FROM snap_src WHERE id % 2 = 0")
    changed = metrics(alice, "SELECT * FROM ml.train('snap', 'regression', 'snap_src', "
                             "'spend', algorithm => 'random_forest', "
                             "hyperparams => '{\"n_estimators\": 5}')")
    assert changed != first
    again = metrics(alice, "SELECT * FROM ml.train('snap', 'regression', "
                           f"'SELECT * FROM snap_src AT (VERSION => {snapshot})', 'spend', "
                           "algorithm => 'random_forest', hyperparams => '{\"n_estimators\": 5}')")
    assert again == first


def test_a_worse_retrain_is_not_deployed_unless_asked_and_rollback(
    alice: psycopg.Connection,
) -> None:
    good = "SELECT * FROM ml.train('dep', 'classification', 'customers', 'churned')"
    bad = ("SELECT * FROM ml.train('dep', 'classification', 'customers', 'churned', "
           "algorithm => 'gradient_boosting', hyperparams => '{\"max_iter\": 1, "
           "\"max_depth\": 1}'{deploy})")
    alice.execute(good).fetchall()
    rows = alice.execute(bad.replace("{deploy}", "")).fetchall()
    assert {r[5] for r in rows} == {False}  # not deployed
    listed = models(alice, "dep")
    assert [d for _, d, _ in listed] == [True, False]
    first, worse = listed[0][0], listed[1][0]
    rows = alice.execute(bad.replace("{deploy}", ", deploy => 'always'")).fetchall()
    assert {r[5] for r in rows} == {True}
    forced = rows[0][1]
    assert alice.execute("SELECT ml.deploy('dep', 'rollback')").fetchone() == (first,)
    assert alice.execute("SELECT ml.deploy('dep', model_id => %s)", (worse,)).fetchone() == (
        worse,)
    assert alice.execute("SELECT ml.deploy('dep', 'best_score')").fetchone() == (first,)
    assert alice.execute("SELECT ml.deploy('dep', 'most_recent')").fetchone() == (forced,)
    # predict uses the deployed model unless told otherwise
    one = alice.execute("SELECT ml.predict('dep', c), ml.predict('dep', c, %s) FROM customers c "
                        "WHERE id = 7", (first,)).fetchone()
    assert one is not None and one[0] in (0.0, 1.0) and one[1] in (0.0, 1.0)


def test_hyperparameter_search_records_the_chosen_values(alice: psycopg.Connection) -> None:
    got = metrics(alice, "SELECT * FROM ml.train('searched', 'classification', 'customers', "
                         "'churned', algorithm => 'linear', search => 'grid', "
                         "hyperparams => '{\"C\": [0.01, 10.0], \"max_iter\": 500}')")
    assert got["accuracy"] > 0.8
    chosen = json.loads(alice.execute(
        "SELECT hyperparams FROM ml.models() WHERE project = 'searched'").fetchone()[0])
    assert chosen["C"] in (0.01, 10.0) and chosen["max_iter"] == 500


def test_sampling_caps_rows_stratified(alice: psycopg.Connection) -> None:
    alice.execute("CREATE TABLE skewed AS SELECT i AS id, (i % 50)::DOUBLE AS x, "
                  "i % 20 = 0 AS rare FROM range(20000) t(i)")
    metrics(alice, "SELECT * FROM ml.train('sampled', 'classification', 'skewed', 'rare', "
                   "algorithm => 'linear', max_rows => 2000)")
    rows_read, trained = alice.execute(
        "SELECT rows_read, rows_trained FROM ml.models() WHERE project = 'sampled'").fetchone()
    assert rows_read == 20000
    assert 1500 <= trained <= 1700  # 2000 rows sampled, 80% of them trained on
    runs = alice.execute("SELECT state FROM ml.runs() WHERE project = 'sampled'").fetchall()
    assert runs == [("succeeded",)]


@pytest.mark.parametrize(("sql", "sqlstate", "words"), [
    ("SELECT * FROM ml.train('e1', 'classification', 'customers', 'nope')", "42703",
     'column "nope" does not exist'),
    ("SELECT * FROM ml.train('e1', 'classification', 'customers', 'churned', "
     "algorithm => 'deep_magic')", "42704", 'unknown algorithm "deep_magic"'),
    ("SELECT * FROM ml.train('e1', 'regression', 'customers', 'plan')", "42804",
     'regression target "plan" is not numeric'),
    ("SELECT * FROM ml.train('e1', 'classification', "
     "'SELECT x1, true AS one FROM customers', 'one')", "22023", "has one class only"),
    ("SELECT * FROM ml.train('e1', 'forecasting', 'customers', 'spend')", "22023",
     'unknown task "forecasting"'),
    ("SELECT * FROM ml.train('e1', 'regression', 'customers', 'spend', "
     "hyperparams => '{\"bogus\": 1}')", "22023", 'unknown hyperparameter "bogus"'),
    ("SELECT * FROM ml.train('e 1', 'regression', 'customers', 'spend')", "22023",
     "invalid project name"),
    ("SELECT * FROM ml.train('e1', 'regression', 'no_such_table', 'spend')", "42P01", ""),
    ("SELECT ml.predict('no_project', c) FROM customers c", "42704",
     'project "no_project" does not exist'),
    ("SELECT ml.predict('spend', r) FROM (SELECT 1.0 AS x1) r", "42703",
     "is missing"),
    ("SELECT * FROM ml.evaluate('no_project', 'customers')", "42704", "does not exist"),
])
def test_bad_input_is_refused_and_registers_nothing(
    alice: psycopg.Connection, lake: RunningServer, sql: str, sqlstate: str, words: str,
) -> None:
    if "'spend'" in sql and "predict" in sql:
        alice.execute("SELECT * FROM ml.train('spend', 'regression', 'customers', 'spend', "
                      "algorithm => 'linear')").fetchall()
    before = alice.execute("SELECT count(*) FROM ml.models()").fetchone()
    with pytest.raises(psycopg.Error) as caught:
        alice.execute(sql).fetchall()
    assert caught.value.sqlstate == sqlstate, caught.value
    assert words in str(caught.value)
    assert alice.execute("SELECT count(*) FROM ml.models()").fetchone() == before
    assert not any((storage(lake) / "projects").glob("e1")), "a project was registered"
    staging = storage(lake) / "staging"
    assert not staging.exists() or not any(staging.iterdir())
    assert alice.execute("SELECT 1").fetchone() == (1,)  # the session stays usable


def test_training_reads_as_the_calling_user(bob: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bob.execute("SELECT * FROM ml.train('bob1', 'regression', 'secret_customers', "
                    "'spend', algorithm => 'linear')").fetchall()
    got = metrics(bob, "SELECT * FROM ml.train('bob2', 'regression', 'customers', 'spend', "
                       "algorithm => 'linear')")
    assert got["r2"] > 0.95


def test_progress_is_shown_and_cancel_registers_nothing(
    alice: psycopg.Connection, lake: RunningServer,
) -> None:
    before = alice.execute("SELECT count(*) FROM ml.models()").fetchone()
    seen: list[tuple[object, ...]] = []
    with psycopg.connect(lake.dsn(user="alice", password="pw"), autocommit=True) as trainer:
        pid = trainer.info.backend_pid

        def watch() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                row = alice.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s",
                    (pid,)).fetchone()
                if row and row[0] == "Extension" and "fitting" in str(row[1]):
                    seen.append(row)
                    trainer.cancel()
                    return
                time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            trainer.execute("SELECT * FROM ml.train('slow', 'classification', 'customers', "
                            "'churned', algorithm => 'random_forest', "
                            "hyperparams => '{\"n_estimators\": 1500}')").fetchall()
        watcher.join()
        assert time.monotonic() - started < 60
        # The fit itself stops: the server and its training processes go idle (the fit of
        # 1,500 trees would keep a core busy for a minute).
        assert _idle_within(lake.pid, 5.0), "the canceled fit still uses CPU"
        assert trainer.execute("SELECT 1").fetchone() == (1,)
    assert seen and "ml.train slow" in str(seen[0][1])
    assert alice.execute("SELECT count(*) FROM ml.models()").fetchone() == before
    assert alice.execute("SELECT state FROM ml.runs() WHERE project = 'slow'").fetchall() == [
        ("canceled",)]


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its living descendants (the training processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += cpu_seconds(current)
        except OSError:
            continue
        todo.extend(children.get(current, []))
    return total


def _idle_within(pid: int, seconds: float, window: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        before = _tree_cpu(pid)
        time.sleep(window)
        if _tree_cpu(pid) - before < window * 0.2:
            return True
    return False


def test_dropping_a_project_removes_its_files(alice: psycopg.Connection,
                                             lake: RunningServer) -> None:
    alice.execute("SELECT * FROM ml.train('gone', 'clustering', "
                  "'SELECT x1, x2 FROM customers', hyperparams => '{\"n_clusters\": 3}')"
                  ).fetchall()
    silhouette = alice.execute("SELECT value FROM ml.evaluate('gone', 'customers') "
                               "WHERE metric = 'silhouette'").fetchone()
    assert silhouette is not None and -1 <= silhouette[0] <= 1
    assert (storage(lake) / "projects" / "gone").is_dir()
    assert alice.execute("SELECT ml.drop_project('gone')").fetchone() == (1,)
    assert not (storage(lake) / "projects" / "gone").exists()
    with pytest.raises(psycopg.errors.UndefinedObject):
        alice.execute("SELECT ml.predict('gone', c) FROM customers c").fetchall()


def test_evaluate_metrics_equal_scikit_learn_on_the_predictions(
    alice: psycopg.Connection,
) -> None:
    """Metrics summed batch by batch equal scikit-learn's over all the rows at once."""
    from sklearn import metrics as m

    alice.execute("CREATE TABLE wide AS SELECT c.*, r.k FROM customers c, range(3) AS r(k)")
    metrics(alice, "SELECT * FROM ml.train('evc', 'classification', 'customers', 'churned', "
                   "algorithm => 'linear')")
    metrics(alice, "SELECT * FROM ml.train('evr', 'regression', 'customers', 'spend', "
                   "algorithm => 'random_forest', hyperparams => '{\"n_estimators\": 5}')")
    truth = alice.execute("SELECT churned, spend FROM wide ORDER BY id, k").fetchall()
    assert len(truth) == 12000  # several batches
    got = {r[2]: r[3] for r in alice.execute("SELECT * FROM ml.evaluate('evc', 'wide')")}
    rows = alice.execute("SELECT label, probability FROM ml.predictions('evc', "
                         "'SELECT * FROM wide ORDER BY id, k') ORDER BY row_number").fetchall()
    y = [t[0] for t in truth]
    labels = [label == "True" for label, _ in rows]
    positive = [p if label == "True" else 1.0 - p for label, p in rows]
    assert got["accuracy"] == pytest.approx(m.accuracy_score(y, labels), abs=1e-12)
    assert got["f1"] == pytest.approx(m.f1_score(y, labels), abs=1e-12)
    assert got["precision"] == pytest.approx(m.precision_score(y, labels), abs=1e-12)
    assert got["recall"] == pytest.approx(m.recall_score(y, labels), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(m.roc_auc_score(y, positive), abs=1e-9)
    assert got["log_loss"] == pytest.approx(
        m.log_loss(y, [[1.0 - p, p] for p in positive]), abs=1e-9)
    got = {r[2]: r[3] for r in alice.execute("SELECT * FROM ml.evaluate('evr', 'wide')")}
    predicted = [r[0] for r in alice.execute(
        "SELECT prediction FROM ml.predictions('evr', 'SELECT * FROM wide ORDER BY id, k') "
        "ORDER BY row_number").fetchall()]
    y = [t[1] for t in truth]
    assert got["r2"] == pytest.approx(m.r2_score(y, predicted), abs=1e-9)
    assert got["mae"] == pytest.approx(m.mean_absolute_error(y, predicted), abs=1e-9)
    assert got["rmse"] == pytest.approx(m.root_mean_squared_error(y, predicted), abs=1e-9)


def _peak_growth_mib(pid: int, work: Callable[[], object]) -> float:
    """The most the process's resident memory grew above its level before ``work``."""
    before = memory_kb(pid)
    peak = [before]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak.append(memory_kb(pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        work()
    finally:
        done.set()
        watcher.join()
    return (max(peak) - before) / 1024


@pytest.mark.slow  # three million rows evaluated and predicted: about 30 s, loaded
def test_evaluate_and_predictions_hold_batches_not_the_relation(
    alice: psycopg.Connection, lake: RunningServer,
) -> None:
    features = ", ".join(f"(hash(i, {k}) % 100000) / 100000.0 AS f{k}" for k in range(10))
    alice.execute(f"CREATE TABLE millions AS SELECT {features}, "
                  "(hash(i, 0) % 100000) / 100000.0 + (hash(i, 1) % 100000) / 100000.0 > 1 "
                  "AS y FROM range(3000000) AS r(i)")
    metrics(alice, "SELECT * FROM ml.train('mem', 'classification', 'millions', 'y', "
                   "algorithm => 'linear', max_rows => 20000)")
    pid = lake.pid
    # scikit-learn loaded and the model read before measuring (training runs elsewhere).
    alice.execute("SELECT * FROM ml.evaluate('mem', 'SELECT * FROM millions LIMIT 10')")
    # Held whole, the relation alone is 3M x 11 columns x 8 bytes = 250 MiB (more as
    # pandas frames); streamed, a few batches are, and the ROC AUC sample (100,000 rows).
    grew = _peak_growth_mib(pid, lambda: alice.execute(
        "SELECT * FROM ml.evaluate('mem', 'millions')").fetchall())
    assert grew < 120, f"ml.evaluate grew the server by {grew:.0f} MiB"
    grew = _peak_growth_mib(pid, lambda: alice.execute(
        "SELECT count(*), count(DISTINCT label) FROM ml.predictions('mem', 'millions')"
    ).fetchall())
    assert grew < 120, f"ml.predictions grew the server by {grew:.0f} MiB"


def test_models_and_runs_are_views_each_user_sees_their_runs(
    alice: psycopg.Connection, bob: psycopg.Connection,
) -> None:
    metrics(alice, "SELECT * FROM ml.train('viewed_a', 'regression', 'customers', 'spend', "
                   "algorithm => 'linear')")
    metrics(bob, "SELECT * FROM ml.train('viewed_b', 'regression', 'customers', 'spend', "
                 "algorithm => 'linear')")
    assert alice.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'ml' "
        "ORDER BY 1").fetchall() == [("models",), ("runs",)]
    assert alice.execute(  # what psql's \dv ml.* asks
        "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = 'ml' AND c.relkind = 'v' ORDER BY 1"
    ).fetchall() == [("models",), ("runs",)]
    # The view and the function agree; every user sees every model.
    listed = alice.execute("SELECT * FROM ml.models ORDER BY project, model_id").fetchall()
    assert listed == alice.execute(
        "SELECT * FROM ml.models() ORDER BY project, model_id").fetchall()
    assert {"viewed_a", "viewed_b"} <= {r[0] for r in listed}
    assert bob.execute("SELECT count(*) FROM ml.models").fetchone() == (len(listed),)
    # Runs: a superuser sees everyone's, another user their own only.
    assert {"alice", "bob"} <= {r[0] for r in alice.execute('SELECT "user" FROM ml.runs')}
    assert {r[0] for r in bob.execute('SELECT "user" FROM ml.runs')} == {"bob"}
    assert ("viewed_b",) in bob.execute("SELECT project FROM ml.runs").fetchall()
    # Granted to PUBLIC, as a system view: a superuser may take it back.
    alice.execute("REVOKE SELECT ON ml.models FROM PUBLIC")
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT * FROM ml.models").fetchall()
    finally:
        alice.execute("GRANT SELECT ON ml.models TO PUBLIC")
    assert bob.execute("SELECT count(*) FROM ml.models").fetchone() == (len(listed),)
