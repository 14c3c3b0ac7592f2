"""A model's metrics over a relation read batch by batch, in bounded memory.

Exact from running sums, whatever the row count: accuracy, precision, recall and F1 (the
counts of each (true, predicted) pair, given to scikit-learn as weights), log loss (the
sum of each batch's losses), R2, MAE and RMSE (sums and a mean and sum of squares merged
batch by batch), inertia. From a sample: ROC AUC and silhouette need all the scores (or
all the pairwise distances) at once, so they are computed on the rows with the smallest
hash keys, at most ``cap`` (ROC AUC) or SILHOUETTE_ROWS of them: exact when the relation
has no more rows, and the same sample whatever order the rows arrive in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SILHOUETTE_ROWS = 10_000


class Sample:
    """The rows with the smallest keys seen so far, at most ``size`` (bottom-k)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.keys: list[np.ndarray] = []
        self.values: list[tuple[Any, ...]] = []
        self._held = 0

    def add(self, keys: np.ndarray, *columns: Any) -> None:
        # Copies: a view of an Arrow column from DuckDB keeps its whole batch alive.
        self.keys.append(np.array(keys, copy=True))
        self.values.append(tuple(np.array(c, copy=True) for c in columns))
        self._held += len(keys)
        if self._held > 2 * self.size:
            self._trim()

    def _trim(self) -> None:
        keys = np.concatenate(self.keys)
        columns = [np.concatenate([v[i] for v in self.values])
                   for i in range(len(self.values[0]))]
        keep = (np.argpartition(keys, self.size - 1)[: self.size] if len(keys) > self.size
                else np.arange(len(keys)))
        self.keys = [keys[keep]]
        self.values = [tuple(c[keep] for c in columns)]
        self._held = len(keep)

    def columns(self) -> list[np.ndarray]:
        if not self.values:
            return []
        self._trim()
        return list(self.values[0])


class Classification:
    def __init__(self, model: Any, cap: int) -> None:
        self.model = model
        self.classes = list(model.classes_)
        self.pairs: dict[tuple[Any, Any], int] = {}
        self.loss = 0.0
        self.rows = 0
        self.probabilistic = hasattr(model, "predict_proba")
        self.scores = Sample(cap)

    def add(self, x: Any, y: Any, keys: np.ndarray) -> None:
        import pandas as pd
        from sklearn import metrics as m

        truth = np.asarray(y)
        if self.probabilistic:
            probabilities = self.model.predict_proba(x)
            # The estimator's own predict is the class of highest probability.
            predicted = np.asarray(self.model.classes_)[probabilities.argmax(axis=1)]
            self.loss += float(m.log_loss(truth, probabilities, labels=self.classes,
                                          normalize=False))
            # The positive class's probability is all ROC AUC needs of a binary model.
            self.scores.add(keys, truth, probabilities[:, 1] if len(self.classes) == 2
                            else probabilities)
        else:
            predicted = self.model.predict(x)
        counted = pd.DataFrame({"t": truth, "p": predicted}).value_counts(sort=False)
        for (t, p), n in counted.items():
            self.pairs[(t, p)] = self.pairs.get((t, p), 0) + int(n)
        self.rows += len(truth)

    def result(self) -> dict[str, float]:
        from sklearn import metrics as m

        truth = np.array([t for t, _ in self.pairs])
        predicted = np.array([p for _, p in self.pairs])
        weight = np.array(list(self.pairs.values()), dtype="float64")
        binary = len(self.classes) == 2
        average = "binary" if binary else "weighted"
        positive = self.classes[-1] if binary else 1
        found = {
            "accuracy": float(m.accuracy_score(truth, predicted, sample_weight=weight)),
            "precision": float(m.precision_score(truth, predicted, average=average,
                                                 pos_label=positive, zero_division=0,
                                                 sample_weight=weight)),
            "recall": float(m.recall_score(truth, predicted, average=average,
                                           pos_label=positive, zero_division=0,
                                           sample_weight=weight)),
            "f1": float(m.f1_score(truth, predicted, average=average, pos_label=positive,
                                   zero_division=0, sample_weight=weight)),
        }
        if self.probabilistic:
            sampled = self.scores.columns()
            y, probabilities = sampled[0], sampled[1]
            try:
                found["roc_auc"] = float(
                    m.roc_auc_score(y, probabilities) if binary
                    else m.roc_auc_score(y, probabilities, multi_class="ovr",
                                         labels=self.classes)
                ) if len(set(y.tolist())) > 1 else math.nan
            except ValueError:
                found["roc_auc"] = math.nan
            found["log_loss"] = self.loss / self.rows
        return found


class Regression:
    def __init__(self, model: Any, cap: int) -> None:
        self.model = model
        self.rows = 0
        self.mean = 0.0
        self.m2 = 0.0  # sum of squared deviations from the mean (Chan et al.'s merge)
        self.sse = 0.0
        self.sae = 0.0

    def add(self, x: Any, y: Any, keys: np.ndarray) -> None:
        truth = np.asarray(y, dtype="float64")
        errors = truth - self.model.predict(x)
        n = len(truth)
        mean = float(truth.mean())
        m2 = float(((truth - mean) ** 2).sum())
        total = self.rows + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.rows * n / total
        self.mean += delta * n / total
        self.rows = total
        self.sse += float((errors * errors).sum())
        self.sae += float(np.abs(errors).sum())

    def result(self) -> dict[str, float]:
        if self.rows > 1:
            # scikit-learn's r2_score for a constant target: 1 when predicted exactly, else 0
            r2 = (1.0 - self.sse / self.m2 if self.m2 > 0
                  else (1.0 if self.sse == 0 else 0.0))
        else:
            r2 = math.nan
        return {"r2": float(r2), "mae": self.sae / self.rows,
                "rmse": math.sqrt(self.sse / self.rows)}


class Clustering:
    def __init__(self, model: Any, cap: int) -> None:
        self.model = model
        self.inertia = 0.0
        self.sample = Sample(SILHOUETTE_ROWS)

    def add(self, x: Any, y: Any, keys: np.ndarray) -> None:
        prepared = self.model[:-1].transform(x)
        distances = self.model[-1].transform(prepared)
        labels = distances.argmin(axis=1)
        self.inertia += float((distances.min(axis=1) ** 2).sum())
        self.sample.add(keys, np.asarray(prepared, dtype="float64"), labels)

    def result(self) -> dict[str, float]:
        from sklearn import metrics as m

        sampled = self.sample.columns()
        prepared, labels = sampled[0], sampled[1]
        n = len(labels)
        silhouette = (float(m.silhouette_score(prepared, labels))
                      if 1 < len(set(labels.tolist())) < n else math.nan)
        return {"inertia": self.inertia, "silhouette": silhouette}


KINDS = {"classification": Classification, "regression": Regression,
         "clustering": Clustering}
