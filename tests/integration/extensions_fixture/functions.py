"""Functions the extension tests call: one of each kind the API offers."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from uuid import UUID

import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.ext import Context, ExtensionError, scalar

_counter = itertools.count()


@scalar
def shout(s: str) -> str:
    """Upper case, with an exclamation mark."""
    return s.upper() + "!"


@scalar(name="area")
def area_square(side: float) -> float:
    return side * side


@scalar(name="area")
def area_rectangle(width: float, height: float) -> float:
    return width * height


@scalar(name="describe_value")
def describe_int(x: int) -> str:
    return f"int {x}"


@scalar(name="describe_value")
def describe_text(x: str) -> str:
    return f"text {x}"


@scalar
def scaled(x: float, scale: int = 10, shift: float = 0.0) -> float:
    return x * scale + shift


@scalar(null_handling="called")
def null_label(x: str | None) -> str:
    return "was null" if x is None else f"was {x}"


@scalar
def strict_label(x: str) -> str:
    return f"was {x}"


@scalar(volatility="volatile")
def next_number() -> int:
    return next(_counter)


@scalar(vectorized=True, args=["BIGINT"], returns="BIGINT")
def doubled(values: pa.Array) -> pa.Array:
    return pc.multiply(values, 2)


@scalar(vectorized=True, args=["BIGINT"], returns="BIGINT")
def batch_sizes(values: pa.Array) -> pa.Array:
    return pa.array([len(values)] * len(values), pa.int64())


@scalar
def whoami(x: int, *, ctx: Context) -> str:
    return f"{ctx.user}:{ctx.settings.get('greeting', '?')}:{x}"


@scalar
def secret_length(name: str, *, ctx: Context) -> int:
    return len(ctx.secret(name))


@scalar(superuser_only=True)
def read_server_file(path: str) -> str:
    with open(path) as handle:
        return handle.read(20)


@scalar
def fails(x: int) -> int:
    return 10 // x


@scalar
def fails_with_state(x: int) -> int:
    raise ExtensionError(f"bad value {x}", "22023", detail="x must be positive",
                         hint="give a positive x")


@scalar
def keys_of(doc: dict) -> list[str]:
    return sorted(doc)


@scalar
def wrap(doc: dict) -> dict:
    return {"wrapped": doc}


# Identity functions for every supported type (the type mapping's round trip).
@scalar(null_handling="called")
def id_text(x: str | None) -> str:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_bigint(x: int | None) -> int:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_double(x: float | None) -> float:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_bool(x: bool | None) -> bool:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_bytes(x: bytes | None) -> bytes:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_decimal(x: Decimal | None) -> Decimal:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_date(x: datetime.date | None) -> datetime.date:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_timestamp(x: datetime.datetime | None) -> datetime.datetime:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_time(x: datetime.time | None) -> datetime.time:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_interval(x: datetime.timedelta | None) -> datetime.timedelta:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_uuid(x: UUID | None) -> UUID:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_bigints(x: list[int] | None) -> list[int]:
    return x  # type: ignore[return-value]


@scalar(null_handling="called")
def id_texts(x: list[str] | None) -> list[str]:
    return x  # type: ignore[return-value]


@scalar(volatility="volatile")
def slow_row(x: int) -> int:
    import time

    time.sleep(0.002)
    return x


@scalar(schema="ml")
def score(x: float) -> float:
    """A function in schema ml, called ml.score(x)."""
    return x * 2


@scalar(vectorized=True, args=["BIGINT"], returns="BIGINT", superuser_only=True)
def admin_doubled(values: pa.Array) -> pa.Array:
    """Vectorized and superuser-only: the session's token arrives as a column too."""
    if values.null_count:
        raise ValueError("a strict function was given NULL")
    return pc.multiply(values, 2)
