"""Training data: the relation or query read as the calling user in Arrow batches, sampled
to a cap (stratified by class for classification) by a hash of each row and the seed, so
the same data and seed give the same sample in any order; and the frame preparation
(dates to numbers, text to categories) stored with the model and applied again at predict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.ext import Context, ExtensionError

DEFAULT_MAX_ROWS = 1_000_000
_KEY = "__forge_ml_key"
_UBIGINT_MAX = 2**64 - 1
_PART = r'("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)'
_NAME = re.compile(rf"^\s*{_PART}(\s*\.\s*{_PART}){{0,2}}\s*$")
_QUERY = re.compile(r"^\s*\(?\s*(select|with|values|from|table)\b", re.IGNORECASE)


def source_query(relation_or_query: str) -> str:
    """A relation name or a query, as a query."""
    text = relation_or_query.strip().rstrip(";")
    if _NAME.match(text):
        return f"SELECT * FROM {text}"
    if _QUERY.match(text):
        return text
    raise ExtensionError(
        f"not a relation name or a query: {relation_or_query[:80]!r}", "42601",
        hint="give a table or view name ('customers', 'public.customers') or a SELECT",
    )


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns_of(ctx: Context, query: str) -> list[tuple[str, pa.DataType]]:
    reader = ctx.query(f"SELECT * FROM ({query}) AS q LIMIT 0")
    return [(f.name, f.type) for f in reader.schema]


def read_sample(
    ctx: Context,
    query: str,
    target: str | None,
    classification: bool,
    max_rows: int,
    seed: int,
    progress: Callable[[float, float, str], None],
) -> tuple[pa.Table, int]:
    """The rows to train on (at most about ``max_rows``, in a deterministic order) and the
    number of rows the query gave."""
    counts: dict[Any, int]
    where = f"WHERE q.{quote(target)} IS NOT NULL" if target is not None else ""
    if classification and target is not None:
        rows = ctx.query(
            f"SELECT q.{quote(target)} AS c, count(*) AS n FROM ({query}) AS q {where} GROUP BY 1"
        ).read_all().to_pylist()
        counts = {r["c"]: r["n"] for r in rows}
    else:
        total = ctx.query(f"SELECT count(*) AS n FROM ({query}) AS q {where}").read_all()
        counts = {None: int(total.column(0)[0].as_py())}
    total_rows = sum(counts.values())
    if total_rows == 0:
        raise ExtensionError("the training data has no rows" + (
            f" with a non-NULL {target}" if target else ""), "22023")
    share = min(1.0, max_rows / total_rows)
    # The fraction of each class to keep: stratified, with at least a few rows of a rare class.
    fractions = {
        c: min(1.0, max(share, min(n, 20) / n)) for c, n in counts.items()
    } if share < 1.0 else {c: 1.0 for c in counts}
    widest = max(fractions.values())
    threshold = _UBIGINT_MAX if widest >= 1.0 else int(widest * 1.02 * _UBIGINT_MAX)
    # Sorted by the key in DuckDB (in parallel, spilling to disk if it must): the same rows
    # in the same order whatever order the scan delivers them.
    reader = ctx.query(
        f"SELECT q.*, hash(q, {int(seed)}::BIGINT) AS {_KEY} FROM ({query}) AS q {where}"
        + ("" if threshold == _UBIGINT_MAX else
           f" {'AND' if where else 'WHERE'} hash(q, {int(seed)}::BIGINT) <= {threshold}")
        + f" ORDER BY {_KEY}"
    )
    kept: list[pa.RecordBatch] = []
    seen = 0
    for batch in reader:
        ctx.check_cancel()
        seen += batch.num_rows
        if threshold != _UBIGINT_MAX and target is not None and classification:
            keys = batch.column(_KEY)
            limits = pa.array(
                [int(fractions[c] * 1.02 * _UBIGINT_MAX) if fractions[c] < 1.0 else _UBIGINT_MAX
                 for c in batch.column(target).to_pylist()],
                pa.uint64(),
            )
            batch = batch.filter(pc.less_equal(keys, limits))
        kept.append(batch)
        progress(seen, total_rows * min(1.0, widest * 1.02), "reading")
    table = (pa.Table.from_batches(kept, schema=reader.schema) if kept
             else reader.schema.empty_table())
    if table.num_rows > max_rows:  # the 2% margin of the hash threshold, trimmed per class
        table = _trim(table, target if classification else None, counts, max_rows)
    return table.drop_columns([_KEY]), total_rows


def _trim(table: pa.Table, target: str | None, counts: Mapping[Any, int],
          max_rows: int) -> pa.Table:
    import numpy as np

    if target is None:
        return table.slice(0, max_rows)
    total = sum(counts.values())
    labels = table.column(target).to_numpy(zero_copy_only=False)
    keep = np.zeros(len(labels), dtype=bool)
    for label, n in counts.items():
        quota = max(min(n, 20), round(max_rows * n / total))
        where = np.flatnonzero(labels == label)[:quota]
        keep[where] = True
    return table.filter(pa.array(keep))


# -- the frame preparation stored with the model -----------------------------------------
def feature_spec(schema: Sequence[tuple[str, pa.DataType]],
                 target: str | None) -> list[dict[str, str]]:
    """Each feature column and how it is prepared: numeric, category (text, boolean) or
    date (expanded to numbers); other types are refused."""
    spec = []
    for name, kind in schema:
        if name == target:
            continue
        if pa.types.is_boolean(kind):
            spec.append({"name": name, "kind": "category"})
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            spec.append({"name": name, "kind": "numeric"})
        elif (pa.types.is_string(kind) or pa.types.is_large_string(kind)
              or pa.types.is_dictionary(kind)):
            spec.append({"name": name, "kind": "category"})
        elif pa.types.is_date(kind) or pa.types.is_timestamp(kind):
            spec.append({"name": name, "kind": "date"})
        else:
            raise ExtensionError(
                f'column "{name}" of type {kind} cannot be a feature', "42804",
                hint="select numeric, text, boolean or date columns (cast or leave out the rest)",
            )
    if not spec:
        raise ExtensionError("the training data has no feature columns", "22023")
    return spec


DATE_PARTS = ("year", "month", "day", "dayofweek", "epoch_days")


def frame(columns: Mapping[str, Any], spec: Sequence[Mapping[str, str]], rows: int) -> Any:
    """A pandas frame of the prepared features from Arrow or Python columns by name;
    a missing feature column is 42703."""
    import pandas as pd

    missing = [f["name"] for f in spec if f["name"] not in columns]
    if missing:
        raise ExtensionError(
            f'feature column "{missing[0]}" is missing', "42703",
            detail="the model's features: " + ", ".join(f["name"] for f in spec),
            hint="pass a row (or relation) with the columns the model was trained on",
        )
    out: dict[str, Any] = {}
    for feature in spec:
        name, kind = feature["name"], feature["kind"]
        column = columns[name]
        if kind == "numeric" and _is_number(column):
            # Straight from Arrow: one cast, NULL as NaN (the pandas path copies thrice).
            out[name] = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
            continue
        values = column.to_pandas() if hasattr(column, "to_pandas") else pd.Series(column)
        if kind == "numeric":
            out[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif kind == "category":
            text = values.astype(object)
            out[name] = text.where(text.isna(), text.astype(str)).astype(object)
        else:
            stamps = pd.to_datetime(values, errors="coerce")
            if getattr(stamps.dt, "tz", None) is not None:
                stamps = stamps.dt.tz_convert(None)
            out[f"{name}__year"] = stamps.dt.year.astype("float64")
            out[f"{name}__month"] = stamps.dt.month.astype("float64")
            out[f"{name}__day"] = stamps.dt.day.astype("float64")
            out[f"{name}__dayofweek"] = stamps.dt.day_of_week.astype("float64")
            out[f"{name}__epoch_days"] = (
                (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
            ).astype("float64")
    result = pd.DataFrame(out)
    if len(result) != rows:
        result = result.reindex(range(rows))
    return result


def _is_number(column: Any) -> bool:
    kind = getattr(column, "type", None)
    return kind is not None and (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                 or pa.types.is_decimal(kind))


def prepared_columns(spec: Sequence[Mapping[str, str]]) -> tuple[list[str], list[str]]:
    """The numeric and categorical columns of ``frame``'s result."""
    numeric: list[str] = []
    categorical: list[str] = []
    for feature in spec:
        if feature["kind"] == "numeric":
            numeric.append(feature["name"])
        elif feature["kind"] == "category":
            categorical.append(feature["name"])
        else:
            numeric.extend(f"{feature['name']}__{part}" for part in DATE_PARTS)
    return numeric, categorical
