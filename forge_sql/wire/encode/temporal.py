"""date, time, timestamp, timestamptz: text (ISO DateStyle) and binary send formats.

Text is Arrow's cast with PostgreSQL's fraction trimming; values Arrow cannot print that way
(BC years, DuckDB's infinity, 24:00:00) are rare and formatted one by one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.wire.encode import buffers
from forge_sql.wire.encode.buffers import Bools, Ints

_DAY_US = 86_400_000_000
_PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * _DAY_US
_FIRST_AD_DAY = -719_162  # 0001-01-01
_FIRST_AD_US = _FIRST_AD_DAY * _DAY_US
# DuckDB stores +-infinity as the extreme values; PostgreSQL sends INT_MAX / INT_MIN.
_DATE_INF = 2**31 - 1
_TS_INF = 2**63 - 1


def _days(array: pa.Array) -> Ints:
    result: Ints = array.cast(pa.date32()).view(pa.int32()).fill_null(0).to_numpy().astype(np.int64)
    return result


def _micros(array: pa.Array) -> Ints:
    """Microseconds of a timestamp or time array (as stored, UTC for timestamptz)."""
    if pa.types.is_timestamp(array.type):
        target: pa.DataType = pa.timestamp("us", array.type.tz)
    else:
        target = pa.time64("us")
    if array.type != target:
        # Nanoseconds are truncated: PostgreSQL keeps microseconds.
        array = pc.cast(array, target, safe=False)
    storage = pa.int64()
    result: Ints = array.view(storage).fill_null(0).to_numpy().astype(np.int64)
    return result


def _patch(text: pa.Array, odd: Bools, values: list[bytes]) -> pa.Array:
    """Replace the rows where ``odd`` with ``values`` (in row order)."""
    return pc.replace_with_mask(text, pa.array(odd), pa.array(values, pa.binary()))


def _trim_fraction(text: pa.Array) -> pa.Array:
    """``10:00:00.500000`` -> ``10:00:00.5``; ``10:00:00.000000`` -> ``10:00:00``."""
    return buffers.as_binary(pc.utf8_rtrim(pc.utf8_rtrim(text, "0"), "."))


# -- text ----------------------------------------------------------------------------


def date_text(array: pa.Array) -> pa.Array:
    days = _days(array)
    text = buffers.as_binary(pc.cast(array.cast(pa.date32()), pa.string()))
    odd = (days < _FIRST_AD_DAY) | (days >= _DATE_INF)
    if not odd.any():
        return text
    return _patch(text, odd, [_date_str(int(d)).encode() for d in days[odd]])


def time_text(array: pa.Array) -> pa.Array:
    micros = _micros(array)
    text = _trim_fraction(pc.cast(pc.cast(array, pa.time64("us"), safe=False), pa.string()))
    odd = micros >= _DAY_US
    if not odd.any():
        return text
    return _patch(text, odd, [_time_str(int(us)).encode() for us in micros[odd]])


def timestamp_text(array: pa.Array) -> pa.Array:
    """``2024-01-31 10:00:00[.ffffff]`` of a timestamp array, in its own wall-clock time."""
    if array.type.tz is not None:
        array = pc.local_timestamp(array)
    return _naive_text(array, _micros(array))


def _naive_text(array: pa.Array, micros: Ints) -> pa.Array:
    if not (micros % 1_000_000).any():
        seconds = pc.cast(array, pa.timestamp("s"), safe=False)
        text = buffers.as_binary(pc.cast(seconds, pa.string()))
    else:
        text = _trim_fraction(pc.cast(pc.cast(array, pa.timestamp("us"), safe=False), pa.string()))
    odd = (micros < _FIRST_AD_US) | (np.abs(micros) == _TS_INF)
    if not odd.any():
        return text
    return _patch(text, odd, [_timestamp_str(int(us)).encode() for us in micros[odd]])


def timestamptz_text(array: pa.Array) -> pa.Array:
    """Wall-clock time in the array's time zone (the session TimeZone) plus its UTC offset."""
    utc = _micros(array)
    infinite = np.abs(utc) == _TS_INF
    if array.type.tz is None:
        local_array, local = array, utc
    else:
        if infinite.any():
            # Keep the time zone conversion away from DuckDB's infinity sentinels.
            array = pc.if_else(pa.array(infinite), pa.scalar(0, array.type), array)
        local_array = pc.local_timestamp(array)
        local = np.where(infinite, utc, _micros(local_array))
    text = _naive_text(local_array, local)
    offset = (local - utc) // 1_000_000
    odd = (local < _FIRST_AD_US) | infinite
    joined = pc.binary_join_element_wise(text, _offset_text(np.where(odd, 0, offset)), b"")
    if not odd.any():
        return joined
    # 'infinity' carries no offset; for BC the era follows the offset.
    patches = [
        _timestamp_str(int(us), int(off)).encode()
        for us, off in zip(local[odd], offset[odd], strict=True)
    ]
    return _patch(joined, odd, patches)


def _offset_text(seconds: Ints) -> pa.Array:
    """``+00``, ``-05``, ``+05:30``, ``+00:53:28`` as PostgreSQL prints UTC offsets."""
    if len(seconds) and (seconds == seconds[0]).all():
        return buffers.constant(_offset_str(int(seconds[0])).encode(), len(seconds))
    mag = np.abs(seconds)
    hh, mm, ss = mag // 3600, mag // 60 % 60, mag % 60
    chars = np.empty((len(seconds), 9), np.uint8)
    chars[:, 0] = np.where(seconds < 0, ord("-"), ord("+"))
    chars[:, 1:3] = buffers.digits(hh, 2)
    chars[:, 3] = ord(":")
    chars[:, 4:6] = buffers.digits(mm, 2)
    chars[:, 6] = ord(":")
    chars[:, 7:9] = buffers.digits(ss, 2)
    lengths = np.where(ss != 0, 9, np.where(mm != 0, 6, 3))
    return buffers.from_matrix(chars, lengths, None)


# -- binary --------------------------------------------------------------------------


def date_binary(array: pa.Array) -> Ints:
    """Days since 2000-01-01 (``date_send``), big-endian int32 per row."""
    days = _days(array)
    pg = days - _PG_EPOCH_DAYS
    pg = np.where(days >= _DATE_INF, 2**31 - 1, np.where(days <= -_DATE_INF, -(2**31), pg))
    return pg.astype(">i4")


def time_binary(array: pa.Array) -> Ints:
    """Microseconds since midnight (``time_send``), big-endian int64 per row."""
    return _micros(array).astype(">i8")


def timestamp_binary(array: pa.Array) -> Ints:
    """Microseconds since 2000-01-01 (``timestamp_send``; UTC for timestamptz, as Arrow),
    big-endian int64 per row."""
    micros = _micros(array)
    pg = micros - _PG_EPOCH_US
    if (np.abs(micros) == _TS_INF).any():
        pg = np.where(micros == _TS_INF, _TS_INF, np.where(micros == -_TS_INF, -_TS_INF - 1, pg))
    return pg.astype(">i8")


# -- rare values, one by one ----------------------------------------------------------


def _civil(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of days since 1970-01-01; year 0 is 1 BC."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _date_parts(days: int) -> tuple[str, str]:
    year, month, day = _civil(days)
    era = ""
    if year <= 0:
        year, era = 1 - year, " BC"
    return f"{year:04d}-{month:02d}-{day:02d}", era


def _date_str(days: int) -> str:
    if abs(days) >= _DATE_INF:
        return "infinity" if days > 0 else "-infinity"
    date, era = _date_parts(days)
    return date + era


def _time_str(micros: int) -> str:
    seconds, frac = divmod(micros, 1_000_000)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if frac:
        text += f".{frac:06d}".rstrip("0")
    return text


def _timestamp_str(micros: int, offset: int | None = None) -> str:
    """One timestamp; with ``offset`` (seconds east of UTC) as a timestamptz."""
    if abs(micros) == _TS_INF:
        return "infinity" if micros > 0 else "-infinity"
    days, tod = divmod(micros, _DAY_US)
    date, era = _date_parts(days)
    zone = "" if offset is None else _offset_str(offset)
    return f"{date} {_time_str(tod)}{zone}{era}"


def _offset_str(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hh, rest = divmod(abs(seconds), 3600)
    mm, ss = divmod(rest, 60)
    text = f"{sign}{hh:02d}"
    if mm or ss:
        text += f":{mm:02d}"
    if ss:
        text += f":{ss:02d}"
    return text
