"""Estimators by task and algorithm name, the pipeline that carries the preprocessing
(imputation, scaling, category encoding), and the task's metrics, importances and
contributions."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from forge_sql.ext import ExtensionError

TASKS = ("classification", "regression", "clustering")

# algorithm -> (scikit-learn class per task, whether inputs are scaled and one-hot encoded)
ALGORITHMS: dict[str, dict[str, str]] = {
    "linear": {"classification": "sklearn.linear_model.LogisticRegression",
               "regression": "sklearn.linear_model.Ridge"},
    "random_forest": {"classification": "sklearn.ensemble.RandomForestClassifier",
                      "regression": "sklearn.ensemble.RandomForestRegressor"},
    "gradient_boosting": {
        "classification": "sklearn.ensemble.HistGradientBoostingClassifier",
        "regression": "sklearn.ensemble.HistGradientBoostingRegressor",
    },
    "kmeans": {"clustering": "sklearn.cluster.KMeans"},
}
ALIASES = {"logistic": "linear", "logistic_regression": "linear",
           "linear_regression": "linear", "ridge": "linear", "k_means": "kmeans",
           "xgboost": "gradient_boosting", "gbm": "gradient_boosting", "rf": "random_forest"}
DEFAULT_ALGORITHM = {"classification": "gradient_boosting",
                     "regression": "gradient_boosting", "clustering": "kmeans"}
# The metric that decides "better" for a project (higher is better for all three).
KEY_METRIC = {"classification": "f1", "regression": "r2", "clustering": "silhouette"}
SEARCH_FOLDS = 3


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ExtensionError(
            f'unknown task "{task}"', "22023", hint="tasks: " + ", ".join(TASKS)
        )
    return task


def algorithm_name(task: str, algorithm: str | None) -> str:
    name = (algorithm or DEFAULT_ALGORITHM[task]).lower()
    name = ALIASES.get(name, name)
    if name not in ALGORITHMS:
        raise ExtensionError(
            f'unknown algorithm "{algorithm}"', "42704",
            hint="algorithms: " + ", ".join(sorted(ALGORITHMS)),
        )
    if task not in ALGORITHMS[name]:
        raise ExtensionError(
            f'algorithm "{name}" does not do {task}', "22023",
            hint=f"for {task}: " + ", ".join(a for a, t in ALGORITHMS.items() if task in t),
        )
    return name


def _class(path: str) -> Any:
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def hyperparameters(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError as exc:
        raise ExtensionError(f"hyperparams is not JSON: {exc}", "22P02") from None
    if not isinstance(value, dict):
        raise ExtensionError("hyperparams must be a JSON object", "22023")
    return value


def estimator(task: str, algorithm: str, params: Mapping[str, Any], seed: int) -> Any:
    cls = _class(ALGORITHMS[algorithm][task])
    accepted = cls().get_params()
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ExtensionError(
            f'unknown hyperparameter "{unknown[0]}" for {algorithm}', "22023",
            hint="accepted: " + ", ".join(sorted(accepted)),
        )
    fixed: dict[str, Any] = {}
    if "random_state" in accepted:
        fixed["random_state"] = seed
    if algorithm == "kmeans" and "n_init" in accepted:
        fixed["n_init"] = 3
    return cls(**{**fixed, **params})


def pipeline(task: str, algorithm: str, model: Any, numeric: Sequence[str],
             categorical: Sequence[str]) -> Any:
    """The preprocessing and the estimator in one scikit-learn Pipeline (stored together,
    so predict applies exactly the training's steps)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    trees = algorithm in ("random_forest", "gradient_boosting")
    steps = []
    if numeric:
        numbers: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median",
                                                                    keep_empty_features=True))]
        if not trees:
            numbers.append(("scale", StandardScaler()))
        steps.append(("numeric", Pipeline(numbers), list(numeric)))
    if categorical:
        encode = (
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                           encoded_missing_value=-1)
            if trees else
            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=64,
                          sparse_output=False)
        )
        steps.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value="<NULL>",
                                     keep_empty_features=True)),
            ("encode", encode),
        ]), list(categorical)))
    return Pipeline([("prepare", ColumnTransformer(steps)), ("model", model)])


def searched(task: str, pipe: Any, grid: Mapping[str, Sequence[Any]], how: str, seed: int) -> Any:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    scoring = {"classification": "f1_weighted", "regression": "r2"}.get(task)
    param_grid = {f"model__{k}": list(v) if isinstance(v, list) else [v] for k, v in grid.items()}
    if how == "grid":
        return GridSearchCV(pipe, param_grid, cv=SEARCH_FOLDS, scoring=scoring)
    if how == "random":
        return RandomizedSearchCV(pipe, param_grid, n_iter=10, cv=SEARCH_FOLDS,
                                  scoring=scoring, random_state=seed)
    raise ExtensionError(f'unknown search "{how}"', "22023", hint="search: grid, random")


# -- metrics ---------------------------------------------------------------------------
def metrics(task: str, model: Any, x: Any, y: Any) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as m

    if task == "regression":
        predicted = model.predict(x)
        return {
            "r2": float(m.r2_score(y, predicted)) if len(y) > 1 else math.nan,
            "mae": float(m.mean_absolute_error(y, predicted)),
            "rmse": float(math.sqrt(m.mean_squared_error(y, predicted))),
        }
    if task == "clustering":
        labels = model.predict(x)
        found: dict[str, float] = {"inertia": float(getattr(model[-1], "inertia_", math.nan))}
        prepared = model[:-1].transform(x)
        n = min(len(labels), 10_000)
        found["silhouette"] = (
            float(m.silhouette_score(prepared[:n], labels[:n]))
            if 1 < len(set(labels[:n].tolist())) < n else math.nan
        )
        return found
    classes = list(model.classes_)
    probabilities = model.predict_proba(x) if hasattr(model, "predict_proba") else None
    # The estimators' predict is the class of highest probability: one pass, not two.
    predicted = (np.asarray(model.classes_)[probabilities.argmax(axis=1)]
                 if probabilities is not None else model.predict(x))
    binary = len(classes) == 2
    average = "binary" if binary else "weighted"
    positive = classes[-1] if binary else 1
    precision, recall, f1, _ = m.precision_recall_fscore_support(
        y, predicted, average=average, pos_label=positive, zero_division=0)
    found = {
        "accuracy": float(m.accuracy_score(y, predicted)),
        "precision": float(precision), "recall": float(recall), "f1": float(f1),
    }
    if probabilities is not None:
        try:
            found["roc_auc"] = float(
                m.roc_auc_score(y, probabilities[:, 1]) if binary
                else m.roc_auc_score(y, probabilities, multi_class="ovr", labels=classes)
            ) if len(np.unique(np.asarray(y))) > 1 else math.nan
        except ValueError:
            found["roc_auc"] = math.nan
        found["log_loss"] = float(m.log_loss(y, probabilities, labels=classes))
    return found


def importance(task: str, model: Any, x: Any, y: Any, seed: int,
               features: Sequence[str]) -> dict[str, float]:
    """Global importance of each feature column, by permutation on (a sample of) the
    held-out rows: the drop of the task's score when the column is shuffled."""
    import numpy as np
    from sklearn.inspection import permutation_importance

    n = min(len(x), 2000)
    if n < 2:
        return {}
    sample_x = x.iloc[:n]
    if task == "clustering":
        return {}
    result = permutation_importance(model, sample_x, np.asarray(y)[:n], n_repeats=3,
                                    random_state=seed)
    scores = dict(zip(sample_x.columns, result.importances_mean.tolist(), strict=True))
    totals: dict[str, float] = {}
    for name in features:  # a date's parts count for the date column
        totals[name] = sum(v for k, v in scores.items() if k == name or k.startswith(name + "__"))
    return totals


def contributions(model: Any, x: Any) -> list[dict[str, float]] | None:
    """Per-row contributions of each prepared feature for linear models: coefficient x
    (value - training mean), which sum to the decision value minus the intercept and the
    mean's share; None for models that do not decompose that way."""
    import numpy as np

    last = model[-1]
    coef = getattr(last, "coef_", None)
    if coef is None:
        return None
    prepared = model[:-1].transform(x)
    names = model[:-1].get_feature_names_out()
    weights = np.asarray(coef)
    weights = weights[-1] if weights.ndim > 1 else weights  # binary: the positive class
    values = np.asarray(prepared, dtype="float64") * weights
    rows = []
    for row in values:
        rows.append({str(n).split("__", 1)[-1]: float(v) for n, v in zip(names, row, strict=True)})
    return rows
