"""Machine learning in SQL (schema ``ml``): train, evaluate, predict, explain and deploy
scikit-learn models from any client; docs/ml.md. scikit-learn is imported on first use,
so loading the extension costs nothing."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.ext import Context, ExtensionError, requires, scalar, table

# Checked, not imported: without them the extension is skipped with one log line.
requires("sklearn", "pandas")

from . import data, evaluation, fitting, models, worker  # noqa: E402
from .registry import META_FILE, MODEL_FILE, Registry, check_name  # noqa: E402

_HERE = Path(__file__).parent
# OpenMP's default busy-waiting makes scikit-learn's threaded estimators (gradient boosting)
# 20-60x slower on a machine whose cores are busy with DuckDB's threads or other work
# (measured: 21 s instead of 1 s for 1,600 rows). Read once, when scikit-learn first loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _code_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(_HERE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _versions() -> dict[str, str]:
    import numpy
    import pandas
    import sklearn

    return {"scikit-learn": sklearn.__version__, "numpy": numpy.__version__,
            "pandas": pandas.__version__, "pyarrow": pa.__version__,
            "python": platform.python_version()}


def _registry(ctx: Context) -> Registry:
    return Registry(ctx.storage)


def _progress(ctx: Context, project: str, registry: Registry, run_id: str | None) -> Any:
    last = [0.0]

    def report(done: float, total: float, what: str) -> None:
        ctx.progress(done, total or None, f"ml.train {project}: {what}")
        now = time.monotonic()
        if run_id is not None and now - last[0] > 1.0:  # the runs view, at most once a second
            last[0] = now
            registry.update_run(run_id, {"progress": f"{what} {done:g}/{total:g}" if total
                                         else f"{what} {done:g}"})

    return report


# -- loaded models, cached by file ----------------------------------------------------------
_cache: dict[str, tuple[tuple[int, int, int], Any]] = {}
_cache_lock = threading.Lock()


def _cached(path: Path, read: Any) -> Any:
    """``read(path)``, again only when the file changed (predict calls this per batch)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return read(path)  # raises the caller's error
    stamp = (stat.st_mtime_ns, stat.st_ino, stat.st_size)
    key = str(path)
    with _cache_lock:
        found = _cache.get(key)
    if found is not None and found[0] == stamp:
        return found[1]
    value = read(path)
    with _cache_lock:
        _cache[key] = (stamp, value)
        while len(_cache) > 64:
            _cache.pop(next(iter(_cache)))
    return value


def _load(registry: Registry, project: str, model_id: int | None) -> tuple[dict[str, Any], Any]:
    """The record and fitted pipeline of ``model_id`` (default: the deployed model)."""
    if model_id is None:
        record = _cached(registry.project_dir(project) / "project.json",
                         lambda _: registry.project(project))
        model_id = record.get("deployed")
        if model_id is None:
            raise ExtensionError(f'project "{project}" has no deployed model', "55000",
                                 hint="SELECT ml.deploy(project, ...)")
    directory = registry.model_dir(project, model_id)
    meta = _cached(directory / META_FILE, lambda _: registry.model(project, model_id))

    def read(path: Path) -> Any:
        import joblib

        return joblib.load(path)

    return meta, _cached(directory / MODEL_FILE, read)



# -- train ----------------------------------------------------------------------------------
TRAIN_COLUMNS = {"project": "VARCHAR", "model_id": "BIGINT", "algorithm": "VARCHAR",
                 "metric": "VARCHAR", "value": "DOUBLE", "deployed": "BOOLEAN"}


@table(schema="ml", columns=TRAIN_COLUMNS)
def train(
    project: str,
    task: str,
    relation: str,
    target: str | None = None,
    algorithm: str | None = None,
    hyperparams: str = "{}",
    search: str | None = None,
    test_size: float = 0.2,
    seed: int = 42,
    max_rows: int | None = None,
    deploy: str = "if_better",
    *,
    ctx: Context,
) -> list[dict[str, Any]]:
    """Train a model of project on a relation or query; the run's metrics as rows."""
    check_name(project)
    models.check_task(task)
    name = models.algorithm_name(task, algorithm)
    params = models.hyperparameters(hyperparams)
    if deploy not in ("if_better", "always", "never"):
        raise ExtensionError(f'unknown deploy "{deploy}"', "22023",
                             hint="deploy: if_better, always, never")
    if not 0.0 < test_size < 1.0:
        raise ExtensionError("test_size must be between 0 and 1", "22023")
    cap = int(max_rows or ctx.settings.get("max_training_rows", data.DEFAULT_MAX_ROWS))
    if cap < 10:
        raise ExtensionError("max_rows must be at least 10", "22023")
    supervised = task != "clustering"
    if supervised and not target:
        raise ExtensionError(f"{task} needs a target column", "22023")
    registry = _registry(ctx)
    with registry.locked():
        try:
            existing: dict[str, Any] | None = registry.project(project)
        except ExtensionError:
            existing = None
    if existing is not None and existing["task"] != task:
        raise ExtensionError(
            f'project "{project}" is a {existing["task"]} project, not {task}', "22023")

    query = data.source_query(relation)
    schema = data.columns_of(ctx, query)
    kinds = dict(schema)
    if supervised:
        assert target is not None
        if target not in kinds:
            raise ExtensionError(
                f'column "{target}" does not exist', "42703",
                detail="columns: " + ", ".join(kinds),
            )
        kind = kinds[target]
        if task == "regression" and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                         or pa.types.is_decimal(kind)):
            raise ExtensionError(
                f'regression target "{target}" is not numeric (type {kind})', "42804",
                hint="use classification for categories, or cast the target to a number",
            )
    features = data.feature_spec(schema, target if supervised else None)
    snapshot = _snapshot(ctx)
    run_id = registry.start_run({"project": project, "task": task, "algorithm": name,
                                 "user": ctx.user, "query": query})
    report = _progress(ctx, project, registry, run_id)
    staged: Path | None = None
    job: Path | None = None
    process = worker.take()  # starts while the data is read
    try:
        table_, total = data.read_sample(ctx, query, target if supervised else None,
                                         task == "classification", cap, seed, report)
        staged = registry.staging()
        job = Path(tempfile.mkdtemp(prefix="forge-ml-"))
        with pa.OSFile(str(job / fitting.SAMPLE_FILE), "wb") as sink, \
                pa.ipc.new_file(sink, table_.schema) as writer:
            writer.write_table(table_)
        del table_
        (job / fitting.JOB_FILE).write_text(json.dumps({
            "task": task, "algorithm": name, "target": target if supervised else None,
            "features": features, "hyperparams": params, "search": search, "seed": seed,
            "test_size": test_size, "model_file": str(staged / MODEL_FILE),
        }))
        process.run(job, ctx, report)
        outcome = json.loads((job / fitting.RESULT_FILE).read_text())
        if "error" in outcome:
            error = outcome["error"]
            raise ExtensionError(error["message"], error["sqlstate"], detail=error["detail"],
                                 hint=error["hint"])
        fit = outcome["ok"]
        scores = fit["metrics"]
        ctx.check_cancel()
        meta: dict[str, Any] = {
            "project": project, "task": task, "algorithm": name,
            "estimator": fit["estimator"], "hyperparams": fit["hyperparams"],
            "search": search, "target": target,
            "features": features, "classes": fit["classes"],
            "metrics": scores, "key_metric": models.KEY_METRIC[task],
            "importance": fit["importance"], "query": query, "relation": relation,
            "snapshot": snapshot, "seed": seed, "test_size": test_size,
            "rows_read": total, "rows_trained": fit["rows_trained"],
            "rows_tested": fit["rows_tested"],
            "max_rows": cap, "versions": _versions(), "code_hash": _code_hash(),
            "user": ctx.user, "created": time.time(), "run_id": run_id,
        }
        with registry.locked():
            model_id = registry.next_model_id()
            meta["model_id"] = model_id
            (staged / META_FILE).write_text(json.dumps(meta, indent=1, default=str))
            record = existing_or_new(registry, project, task)
            deployed_now = _deploy_after_training(registry, project, record, model_id,
                                                  scores, task, deploy)
            registry.publish(staged, project, model_id)
            staged = None
            record.setdefault("models", []).append(model_id)
            registry.save_project(project, record)
        registry.update_run(run_id, {"state": "succeeded", "finished": time.time(),
                                     "model_id": model_id, "progress": "done"})
    except BaseException as exc:
        state = ("canceled" if isinstance(exc, ExtensionError) and exc.sqlstate == "57014"
                 else "failed")
        registry.update_run(run_id, {"state": state, "finished": time.time(),
                                     "error": getattr(exc, "message", str(exc))})
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        worker.give_back(process)  # unless it was killed (cancel) or ended
        if job is not None:
            shutil.rmtree(job, ignore_errors=True)
    return [
        {"project": project, "model_id": model_id, "algorithm": name, "metric": metric,
         "value": value, "deployed": deployed_now}
        for metric, value in scores.items()
    ]


def _snapshot(ctx: Context) -> int | None:
    """The lake snapshot the training data is read at."""
    reader = ctx.query(
        "SELECT max(snapshot_id) AS s FROM ducklake_snapshots(current_database())"
    )
    value = reader.read_all().column(0)[0].as_py()
    return None if value is None else int(value)


def existing_or_new(registry: Registry, project: str, task: str) -> dict[str, Any]:
    try:
        return registry.project(project)
    except ExtensionError:
        return {"project": project, "task": task, "created": time.time(), "models": [],
                "deployed": None, "deployments": []}


def _better(new: float, old: float | None) -> bool:
    if old is None or (isinstance(old, float) and math.isnan(old)):
        return True
    return not math.isnan(new) and new >= old


def _deploy_after_training(registry: Registry, project: str, record: dict[str, Any],
                           model_id: int, scores: dict[str, float], task: str,
                           policy: str) -> bool:
    key = models.KEY_METRIC[task]
    current = record.get("deployed")
    if policy == "never" and current is not None:
        return False
    if policy == "if_better" and current is not None:
        old = registry.model(project, current)["metrics"].get(key)
        if not _better(scores.get(key, math.nan), old):
            return False
    _set_deployed(record, model_id, f"train ({policy})")
    return True


def _set_deployed(record: dict[str, Any], model_id: int, why: str) -> None:
    record["deployed"] = model_id
    record.setdefault("deployments", []).append(
        {"model_id": model_id, "at": time.time(), "why": why})


# -- deploy, drop ------------------------------------------------------------------------
@scalar(schema="ml", volatility="volatile", null_handling="called")
def deploy(project: str, strategy: str = "best_score", model_id: int | None = None, *,
           ctx: Context) -> int:
    """Choose the deployed model of a project: most_recent, best_score, rollback (the one
    deployed before) or a given model_id; returns the deployed model's id."""
    registry = _registry(ctx)
    with registry.locked():
        record = registry.project(check_name(project))
        ids = list(record.get("models", []))
        if not ids:
            raise ExtensionError(f'project "{project}" has no models', "55000")
        if model_id is not None:
            if model_id not in ids:
                raise ExtensionError(
                    f'model {model_id} of project "{project}" does not exist', "42704")
            chosen, why = model_id, "model_id"
        elif strategy == "most_recent":
            chosen, why = max(ids), strategy
        elif strategy == "best_score":
            key = models.KEY_METRIC[record["task"]]
            scored = [(registry.model(project, i)["metrics"].get(key, math.nan), i) for i in ids]
            scored = [(s, i) for s, i in scored if s is not None and not math.isnan(s)]
            chosen = max(scored)[1] if scored else max(ids)
            why = strategy
        elif strategy == "rollback":
            history = [d["model_id"] for d in record.get("deployments", [])]
            current = record.get("deployed")
            earlier = [i for i in reversed(history) if i != current and i in ids]
            if not earlier:
                raise ExtensionError(f'project "{project}" has no earlier deployment', "55000")
            chosen, why = earlier[0], strategy
        else:
            raise ExtensionError(
                f'unknown strategy "{strategy}"', "22023",
                hint="strategy: most_recent, best_score, rollback (or model_id => n)",
            )
        _set_deployed(record, chosen, why)
        registry.save_project(project, record)
        return int(chosen)


@scalar(schema="ml", volatility="volatile")
def drop_project(project: str, *, ctx: Context) -> int:
    """Remove a project, its models and their files; the number of models removed."""
    return _registry(ctx).drop_project(project)


# -- predict ---------------------------------------------------------------------------
def _rows(values: pa.Array) -> tuple[dict[str, Any], int]:
    """Columns by name from a batch of rows given as JSON objects (DuckDB's cast of the
    row STRUCT), parsed in one pass by Arrow."""
    import pyarrow.json as pj

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    text = "\n".join(values.to_pylist()).encode()
    # One thread: DuckDB's threads already call this in parallel, a batch at a time.
    parsed = pj.read_json(io.BytesIO(text), read_options=pj.ReadOptions(use_threads=False),
                          parse_options=pj.ParseOptions(unexpected_field_behavior="infer"))
    return {n: parsed.column(n) for n in parsed.column_names}, parsed.num_rows


def _per_project(projects: pa.Array, rows: pa.Array, model_ids: pa.Array | None,
                 ctx: Context, answer: Any, kind: pa.DataType) -> pa.Array:
    registry = _registry(ctx)
    if len(pc.unique(projects)) == 1 and (model_ids is None or len(pc.unique(model_ids)) == 1):
        # One model for the whole batch (the usual call): no Python work per row.
        meta, fitted = _load(registry, projects[0].as_py(),
                             None if model_ids is None else model_ids[0].as_py())
        columns, count = _rows(rows)
        return pa.array(answer(meta, fitted, data.frame(columns, meta["features"], count)),
                        kind)
    names = projects.to_pylist()
    ids = model_ids.to_pylist() if model_ids is not None else [None] * len(names)
    out: list[Any] = [None] * len(names)
    groups: dict[tuple[str, int | None], list[int]] = {}
    for index, (name, model_id) in enumerate(zip(names, ids, strict=True)):
        groups.setdefault((name, model_id), []).append(index)
    for (name, model_id), where in groups.items():
        meta, fitted = _load(registry, name, model_id)
        columns, count = _rows(rows.take(pa.array(where)))
        x = data.frame(columns, meta["features"], count)
        for index, value in zip(where, answer(meta, fitted, x), strict=True):
            out[index] = value
    return pa.array(out, kind)


def _predicted(meta: dict[str, Any], fitted: Any, x: Any) -> list[Any]:
    values = fitted.predict(x)
    return values.tolist()  # type: ignore[no-any-return]


def _numeric(meta: dict[str, Any], fitted: Any, x: Any) -> Any:
    values = fitted.predict(x)
    try:
        return values.astype("float64")
    except ValueError:
        raise ExtensionError(
            f'model of project "{meta["project"]}" predicts text labels', "42804",
            hint="use ml.predict_label for text classes",
        ) from None


@scalar(schema="ml", vectorized=True, args=["VARCHAR", "JSON"], returns="DOUBLE",
        volatility="stable", name="predict")
def predict(project: pa.Array, row: pa.Array, *, ctx: Context) -> pa.Array:
    """The deployed model's prediction for a row (SELECT ml.predict('p', t) FROM t): the
    value, the class (numeric classes) or the cluster; features matched by column name."""
    return _per_project(project, row, None, ctx, _numeric, pa.float64())


@scalar(schema="ml", vectorized=True, args=["VARCHAR", "JSON", "BIGINT"], returns="DOUBLE",
        volatility="stable", name="predict")
def predict_with(project: pa.Array, row: pa.Array, model_id: pa.Array, *,
                 ctx: Context) -> pa.Array:
    """A given model's prediction for a row."""
    return _per_project(project, row, model_id, ctx, _numeric, pa.float64())


@scalar(schema="ml", vectorized=True, args=["VARCHAR", "JSON"], returns="VARCHAR",
        volatility="stable")
def predict_label(project: pa.Array, row: pa.Array, *, ctx: Context) -> pa.Array:
    """The deployed model's predicted class as text."""
    return _per_project(project, row, None, ctx,
                        lambda m, f, x: [str(v) for v in _predicted(m, f, x)], pa.string())


@scalar(schema="ml", vectorized=True, args=["VARCHAR", "JSON"], returns="VARCHAR",
        volatility="stable")
def predict_proba(project: pa.Array, row: pa.Array, *, ctx: Context) -> pa.Array:
    """Class probabilities of a row, as a JSON object {class: probability}."""

    def answer(meta: dict[str, Any], fitted: Any, x: Any) -> list[str]:
        if not hasattr(fitted, "predict_proba"):
            raise ExtensionError(
                f'model of project "{meta["project"]}" gives no probabilities', "42809")
        classes = [str(c) for c in fitted.classes_]
        return [json.dumps(dict(zip(classes, p, strict=True)))
                for p in fitted.predict_proba(x).tolist()]

    return _per_project(project, row, None, ctx, answer, pa.string())


def _relation_batches(ctx: Context, relation: str) -> Iterator[pa.RecordBatch]:
    reader = ctx.query(data.source_query(relation))
    for batch in reader:
        ctx.check_cancel()
        yield batch


PREDICTIONS = {"row_number": "BIGINT", "key": "VARCHAR", "prediction": "DOUBLE",
               "label": "VARCHAR", "probability": "DOUBLE"}


@table(schema="ml", columns=PREDICTIONS)
def predictions(project: str, relation: str, key: str | None = None,
                model_id: int | None = None, *, ctx: Context) -> Iterator[pa.RecordBatch]:
    """Predictions for every row of a relation or query, a batch per model call: the row
    number, the ``key`` column's value, the prediction (numeric), the label and the
    probability of the predicted class."""
    meta, fitted = _load(_registry(ctx), check_name(project), model_id)
    # The relation is read (ctx.query) before the first row is returned: the predictions
    # go batch by batch to a file of their own, read back batch by batch as DuckDB asks.
    handle, path = tempfile.mkstemp(prefix="forge-ml-predictions-")
    os.close(handle)
    try:
        writer: Any = None
        first = 1
        with pa.OSFile(path, "wb") as sink:
            for batch in _relation_batches(ctx, relation):
                columns = {n: batch.column(n) for n in batch.schema.names}
                if key is not None and key not in columns:
                    raise ExtensionError(f'column "{key}" does not exist', "42703")
                x = data.frame(columns, meta["features"], batch.num_rows)
                out = _predicted_batch(fitted, x, batch.column(key) if key else None, first)
                first += batch.num_rows
                if writer is None:
                    writer = pa.ipc.new_stream(sink, out.schema)
                writer.write_batch(out)
            if writer is not None:
                writer.close()
        source = None if writer is None else pa.OSFile(path, "rb")
    finally:
        os.unlink(path)  # the open file stays readable
    return iter(()) if source is None else _read_back(source)


def _predicted_batch(fitted: Any, x: Any, keys: pa.Array | None, first: int) -> pa.RecordBatch:
    if hasattr(fitted, "predict_proba"):
        probabilities = fitted.predict_proba(x)
        # predict is the class of highest probability: one pass of the model, not two
        labels = numpy_take(fitted.classes_, probabilities.argmax(axis=1))
        probability = pa.array(probabilities.max(axis=1))
    else:
        labels = fitted.predict(x)
        probability = pa.nulls(len(labels), pa.float64())
    try:
        numbers = pa.array(labels.astype("float64"))
    except (TypeError, ValueError):
        numbers = pa.nulls(len(labels), pa.float64())
    return pa.record_batch({
        "row_number": pa.array(range(first, first + len(labels)), pa.int64()),
        "key": keys.cast(pa.string()) if keys is not None else pa.nulls(len(labels),
                                                                         pa.string()),
        "prediction": numbers,
        "label": pa.array(labels.astype(str), pa.string()),
        "probability": probability,
    })


def numpy_take(values: Any, index: Any) -> Any:
    import numpy

    return numpy.asarray(values)[index]


def _read_back(source: Any) -> Iterator[pa.RecordBatch]:
    with source:
        yield from pa.ipc.open_stream(source)


# -- evaluate, explain, models, runs ------------------------------------------------------
@table(schema="ml", columns={"project": "VARCHAR", "model_id": "BIGINT", "metric": "VARCHAR",
                             "value": "DOUBLE"})
def evaluate(project: str, relation: str, model_id: int | None = None, *,
             ctx: Context) -> list[dict[str, Any]]:
    """The task's metrics of the deployed (or given) model on another relation or query,
    read batch by batch (docs/ml.md: which metrics are exact, which from a sample)."""
    meta, fitted = _load(_registry(ctx), check_name(project), model_id)
    query = data.source_query(relation)
    target = meta["target"]
    names = [n for n, _ in data.columns_of(ctx, query)]
    if target is not None and target not in names:
        raise ExtensionError(f'column "{target}" does not exist', "42703",
                             hint="evaluation needs the target column")
    where = "" if target is None else f"WHERE q.{data.quote(target)} IS NOT NULL"
    key = "__forge_ml_key"
    reader = ctx.query(f"SELECT q.*, hash(q) AS {key} FROM ({query}) AS q {where}")
    cap = int(ctx.settings.get("max_training_rows", data.DEFAULT_MAX_ROWS))
    scores = evaluation.KINDS[meta["task"]](fitted, cap)
    rows = 0
    for batch in reader:
        ctx.check_cancel()
        if not batch.num_rows:
            continue
        columns = {n: batch.column(n) for n in batch.schema.names}
        x = data.frame(columns, meta["features"], batch.num_rows)
        y = None
        if target is not None:
            y = batch.column(target).to_pandas()
            if meta["task"] == "classification" and y.dtype == object:
                y = y.astype(str)
        scores.add(x, y, batch.column(key).to_numpy())
        rows += batch.num_rows
    if rows == 0:
        raise ExtensionError("the evaluation data has no rows", "22023")
    return [{"project": project, "model_id": meta["model_id"], "metric": k, "value": v}
            for k, v in scores.result().items()]


@table(schema="ml", columns={"project": "VARCHAR", "model_id": "BIGINT",
                             "feature": "VARCHAR", "importance": "DOUBLE"})
def explain(project: str, model_id: int | None = None, *, ctx: Context) -> list[dict[str, Any]]:
    """Global importance of each feature column (permutation importance on the held-out
    rows, recorded at training), most important first."""
    meta, _ = _load(_registry(ctx), check_name(project), model_id)
    ranked = sorted(meta.get("importance", {}).items(), key=lambda kv: -kv[1])
    return [{"project": project, "model_id": meta["model_id"], "feature": f, "importance": v}
            for f, v in ranked]


@scalar(schema="ml", vectorized=True, args=["VARCHAR", "JSON"], returns="VARCHAR",
        volatility="stable")
def explain_row(project: pa.Array, row: pa.Array, *, ctx: Context) -> pa.Array:
    """Per-row contributions {feature: contribution} of a linear model's features."""

    def answer(meta: dict[str, Any], fitted: Any, x: Any) -> list[str]:
        found = models.contributions(fitted, x)
        if found is None:
            raise ExtensionError(
                f'per-row contributions need a linear model; project "{meta["project"]}" '
                f'deploys {meta["algorithm"]}', "0A000",
                hint="ml.explain gives global importance for every model",
            )
        return [json.dumps(r) for r in found]

    return _per_project(project, row, None, ctx, answer, pa.string())


MODEL_COLUMNS = {
    "project": "VARCHAR", "task": "VARCHAR", "model_id": "BIGINT", "algorithm": "VARCHAR",
    "deployed": "BOOLEAN", "key_metric": "VARCHAR", "score": "DOUBLE", "metrics": "VARCHAR",
    "hyperparams": "VARCHAR", "relation": "VARCHAR", "snapshot": "BIGINT", "seed": "BIGINT",
    "rows_read": "BIGINT", "rows_trained": "BIGINT", "versions": "VARCHAR",
    "code_hash": "VARCHAR", "created": "TIMESTAMP WITH TIME ZONE", "run_id": "VARCHAR",
}


@table(schema="ml", name="models", columns=MODEL_COLUMNS, volatility="stable", view=True)
def models_(*, ctx: Context) -> list[dict[str, Any]]:
    """Every project's models, their metrics, provenance and which one is deployed; also
    the view ml.models. Every user sees every model (any user may predict with one)."""
    import datetime as dt

    registry = _registry(ctx)
    rows = []
    for project in registry.projects():
        record = registry.project(project)
        for model_id in record.get("models", []):
            try:
                meta = registry.model(project, model_id)
            except ExtensionError:
                continue
            key = meta["key_metric"]
            rows.append({
                "project": project, "task": meta["task"], "model_id": model_id,
                "algorithm": meta["algorithm"], "deployed": record.get("deployed") == model_id,
                "key_metric": key, "score": meta["metrics"].get(key),
                "metrics": json.dumps(meta["metrics"]),
                "hyperparams": json.dumps(meta["hyperparams"]), "relation": meta["relation"],
                "snapshot": meta["snapshot"], "seed": meta["seed"],
                "rows_read": meta["rows_read"], "rows_trained": meta["rows_trained"],
                "versions": json.dumps(meta["versions"]), "code_hash": meta["code_hash"],
                "created": dt.datetime.fromtimestamp(meta["created"], dt.UTC),
                "run_id": meta.get("run_id"),
            })
    return rows


@table(schema="ml", columns={"run_id": "VARCHAR", "project": "VARCHAR", "state": "VARCHAR",
                             "progress": "VARCHAR", "algorithm": "VARCHAR", "user": "VARCHAR",
                             "started": "TIMESTAMP WITH TIME ZONE",
                             "finished": "TIMESTAMP WITH TIME ZONE", "model_id": "BIGINT",
                             "error": "VARCHAR"}, volatility="stable", view=True)
def runs(*, ctx: Context) -> list[dict[str, Any]]:
    """Training runs: running (with progress), succeeded, failed or canceled; also the
    view ml.runs. A superuser sees every run, other users their own (a run's query and
    error are its user's, as pg_stat_activity keeps other users' queries)."""
    import datetime as dt

    def stamp(value: float | None) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)

    return [
        {"run_id": r.get("run_id"), "project": r.get("project"), "state": r.get("state"),
         "progress": r.get("progress"), "algorithm": r.get("algorithm"), "user": r.get("user"),
         "started": stamp(r.get("started")), "finished": stamp(r.get("finished")),
         "model_id": r.get("model_id"), "error": r.get("error")}
        for r in _registry(ctx).runs()
        if ctx.superuser or r.get("user") == ctx.user
    ]
