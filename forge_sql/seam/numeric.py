"""PostgreSQL's numeric without a type modifier, as the server holds it in DuckDB.

DuckDB's DECIMAL has at most 38 digits and a fixed scale, and a bare ``numeric`` there is
DECIMAL(18,3), which rounds. The server spells PostgreSQL's unconstrained numeric as
DECIMAL(38,10): 28 digits before the decimal point, 10 after, refused (22003) beyond that.
Results of that type, and of DuckDB arithmetic on it (a product is DECIMAL(38,20)), are
announced with typmod -1 and printed with each value's own scale, as PostgreSQL does.
"""

from __future__ import annotations

PRECISION = 38
SCALE = 10
DUCKDB_TYPE = f"DECIMAL({PRECISION},{SCALE})"


def unconstrained(precision: int, scale: int) -> bool:
    """Whether DECIMAL(precision, scale) stands for PostgreSQL's unconstrained numeric:
    the stored type, or arithmetic on it (DuckDB widens to 38 digits and adds scales)."""
    return precision == PRECISION and scale >= SCALE
