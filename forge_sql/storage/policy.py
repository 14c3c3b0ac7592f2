"""The maintenance policy: how long snapshots and unneeded files are kept, and how often
the server compacts, so a busy server's lake does not grow without bound."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*?)s?\s*$", re.I)


def parse_duration(value: object) -> object:
    """``"7 days"``, ``"90 min"``, ``"1h"``, ``"30s"`` or a number of seconds, as a timedelta.

    Other values (a timedelta already) are left for pydantic to check.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        return value
    match = _DURATION.match(value)
    unit = match.group(2).lower() if match else ""
    if match is None or (unit and unit not in _UNITS):
        raise ValueError(f"invalid duration {value!r}: write e.g. '30s', '10 minutes', '7 days'")
    return timedelta(seconds=float(match.group(1)) * _UNITS.get(unit, 1))


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class MaintenancePolicy(BaseModel):
    """``[maintenance]`` in the config file; durations read like ``"7 days"`` or ``"10 min"``."""

    model_config = {"extra": "forbid"}

    expire_older_than: Duration = Field(
        default=timedelta(days=7),
        description="Snapshots older than this are expired: time travel reaches back this "
        "far, no further.",
    )
    delete_older_than: Duration = Field(
        default=timedelta(hours=1),
        description="Data files that no snapshot needs any more (and files left by "
        "transactions that never committed) are deleted once they are this old.",
    )
    orphans_older_than: Duration = Field(
        default=timedelta(days=1),
        description="Data files no snapshot refers to (left by a crash) are deleted once "
        "they are this old; younger ones may belong to a transaction still running.",
    )
    orphans_max_share: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="An orphan sweep deletes nothing when more than this share of the "
        "lake's files look orphaned (a lost or older catalog looks like that); "
        "`forge-sql storage cleanup --force` lifts it.",
    )
    interval: Duration = Field(
        default=timedelta(minutes=10),
        description="How often the server runs maintenance (compact, expire, cleanup) while "
        "it is idle; 0 turns periodic maintenance off.",
    )
    idle: Duration = Field(
        default=timedelta(seconds=30),
        description="Periodic maintenance waits until no statement has run for this long.",
    )
    rewrite_threshold: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Compaction rewrites a data file without its deleted rows once at least "
        "this fraction of them is deleted (0 to 1).",
    )
    at_startup: bool = Field(
        default=True,
        description="Run maintenance once when the server starts, before it listens."
    )
