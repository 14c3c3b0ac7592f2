"""An example extension: copy this file into your project's ``extensions/`` folder.

Every function below is usable from SQL in any client once the server starts:

    SELECT slugify('Hello, World!');                 -- 'hello-world'
    SELECT slugify('Hello, World!', sep => '_');     -- 'hello_world'
    SELECT f_to_c(temperature_f) FROM readings;      -- vectorized: one call per batch

Only ``forge_sql.ext`` is imported from forge-sql: it is the whole public API
(docs/extensions.md).
"""

from __future__ import annotations

import re
import unicodedata

import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.ext import scalar


@scalar
def slugify(title: str, sep: str = "-") -> str:
    """The title in lower case ASCII, words joined by sep (for URLs and file names)."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return sep.join(words)


@scalar(vectorized=True, args=["DOUBLE"], returns="DOUBLE")
def f_to_c(fahrenheit: pa.Array) -> pa.Array:
    """Degrees Fahrenheit to Celsius, a whole batch of values per call."""
    return pc.divide(pc.subtract(fahrenheit, 32.0), 1.8)
