"""Both implementations of the bulk codecs: compiled row framing with Arrow's CSV reader,
and the pure Python (numpy / Arrow compute) paths they fall back to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from forge_sql.wire.copy import decoder
from forge_sql.wire.encode import framer

COMPILED, PURE = "compiled", "pure-python"


@pytest.fixture(scope="module", params=[COMPILED, PURE])
def codec_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a module's tests once per implementation (``FORGE_SQL_PURE_PYTHON`` selects the
    pure one in a running server)."""
    saved = framer.compiled, decoder.ARROW_READER
    if request.param == PURE:
        framer.compiled, decoder.ARROW_READER = None, False
    elif framer.compiled is None:
        pytest.skip("the _framer extension is not built (no compiler or Python headers)")
    try:
        yield str(request.param)
    finally:
        framer.compiled, decoder.ARROW_READER = saved
