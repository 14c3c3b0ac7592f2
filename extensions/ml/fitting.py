"""One training job, as the training process runs it (extensions/ml/worker.py): the
sampled rows (an Arrow file) prepared into the stored frame, split, fitted (or searched),
scored, explained and saved into the staging directory; the outcome as a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from forge_sql.ext import ExtensionError

from . import data, models

SAMPLE_FILE = "sample.arrow"
JOB_FILE = "job.json"
RESULT_FILE = "result.json"


def run(directory: Path) -> None:
    """The job in ``directory``; its result (or its error) in RESULT_FILE."""
    try:
        result: dict[str, Any] = {"ok": train(directory)}
    except ExtensionError as exc:
        result = {"error": {"message": exc.message, "sqlstate": exc.sqlstate,
                            "detail": exc.detail, "hint": exc.hint}}
    except Exception as exc:  # the estimator's own error: the statement's error
        result = {"error": {"message": f"fitting failed: {type(exc).__name__}: {exc}",
                            "sqlstate": "22023", "detail": None, "hint": None}}
    aside = directory / f".{RESULT_FILE}"
    aside.write_text(json.dumps(result, default=str))
    aside.replace(directory / RESULT_FILE)


def train(directory: Path) -> dict[str, Any]:
    job = json.loads((directory / JOB_FILE).read_text())
    task, name, target, seed = job["task"], job["algorithm"], job["target"], job["seed"]
    features = job["features"]
    with pa.memory_map(str(directory / SAMPLE_FILE)) as source:
        table = pa.ipc.open_file(source).read_all()
    x = data.frame({n: table.column(n) for n in table.column_names}, features, table.num_rows)
    y = None
    if target is not None:
        y = table.column(target).to_pandas()
        if task == "classification":
            y = y.astype(str) if y.dtype == object else y
            if y.nunique() < 2:
                raise ExtensionError(
                    f'classification target "{target}" has one class only '
                    f"({y.iloc[0]!r})", "22023",
                    hint="a classifier needs at least two classes in the training data",
                )
        else:
            y = y.astype("float64")
    del table
    params, search = job["hyperparams"], job["search"]
    numeric, categorical = data.prepared_columns(features)
    fixed = {k: v for k, v in params.items() if not (search and isinstance(v, list))}
    pipe = models.pipeline(task, name, models.estimator(task, name, fixed, seed),
                           numeric, categorical)
    x_train, x_test, y_train, y_test = split(task, x, y, job["test_size"], seed)
    del x, y
    if search:
        fitted_search = models.searched(task, pipe, params, search, seed).fit(x_train, y_train)
        fitted = fitted_search.best_estimator_
        chosen = {k.removeprefix("model__"): v for k, v in fitted_search.best_params_.items()}
    else:
        fitted = pipe.fit(x_train, y_train)
        chosen = params
    scores = models.metrics(task, fitted, x_test, y_test)
    importances = models.importance(task, fitted, x_test, y_test, seed,
                                    [f["name"] for f in features])
    import joblib

    joblib.dump(fitted, Path(job["model_file"]))
    return {
        "metrics": scores, "importance": importances, "hyperparams": chosen,
        "estimator": type(fitted[-1]).__module__ + "." + type(fitted[-1]).__name__,
        "classes": [_plain(c) for c in getattr(fitted, "classes_", [])],
        "rows_trained": len(x_train), "rows_tested": len(x_test),
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def split(task: str, x: Any, y: Any, test_size: float, seed: int) -> tuple[Any, Any, Any, Any]:
    from sklearn.model_selection import train_test_split

    if task == "clustering":
        x_train, x_test = train_test_split(x, test_size=test_size, random_state=seed)
        return x_train, x_test, None, None
    stratify = None
    if task == "classification":
        counts = y.value_counts()
        if counts.min() >= 2 and len(counts) <= len(y) * test_size:
            stratify = y
    return train_test_split(x, y, test_size=test_size, random_state=seed,  # type: ignore[no-any-return]
                            stratify=stratify)
