"""Date-time encodings met in GBCS: DLMS COSEM date-time (12 octets) and ZCL UTC time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

DLMS_DATETIME_LENGTH = 12
DEVIATION_UNSPECIFIED = 0x8000
NOT_SPECIFIED = 0xFF
ZCL_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
ZCL_TIME_INVALID = 0xFFFFFFFF


def decode_dlms_datetime(raw: bytes) -> datetime | None:
    """A concrete UTC-aware datetime, or None when any field is a wildcard or out of range."""
    if len(raw) != DLMS_DATETIME_LENGTH:
        return None
    year = int.from_bytes(raw[0:2], "big")
    month, day, _dow, hour, minute, second, hundredths = raw[2:9]
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    if year == 0xFFFF or NOT_SPECIFIED in (month, day, hour, minute, second):
        return None
    if hundredths == NOT_SPECIFIED:
        hundredths = 0
    if hundredths > 99:
        return None
    if int.from_bytes(raw[9:11], "big") == DEVIATION_UNSPECIFIED:
        tz: timezone = UTC
    elif -720 <= deviation <= 840:
        tz = timezone(timedelta(minutes=-deviation))
    else:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, hundredths * 10_000, tzinfo=tz)
    except ValueError:
        return None


def encode_dlms_datetime(value: datetime) -> bytes:
    """Encode as UTC with day-of-week and deviation not specified, clock status 0xFF."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if not 0 < value.year < 0xFFFF:
        raise ValueError("year out of range for a DLMS date-time")
    return (
        value.year.to_bytes(2, "big")
        + bytes(
            [
                value.month,
                value.day,
                NOT_SPECIFIED,
                value.hour,
                value.minute,
                value.second,
                value.microsecond // 10_000,
            ]
        )
        + DEVIATION_UNSPECIFIED.to_bytes(2, "big")
        + bytes([NOT_SPECIFIED])
    )


def format_dlms_datetime(raw: bytes) -> str:
    """Readable text for a DLMS date-time, wildcards shown as '*'."""
    if len(raw) != DLMS_DATETIME_LENGTH:
        return raw.hex().upper()
    concrete = decode_dlms_datetime(raw)
    if concrete is not None:
        return concrete.isoformat()
    year = int.from_bytes(raw[0:2], "big")
    parts = [
        "*" if year == 0xFFFF else f"{year:04d}",
        *("*" if b == NOT_SPECIFIED else f"{b:02d}" for b in raw[2:4]),
        *("*" if b == NOT_SPECIFIED else f"{b:02d}" for b in raw[5:8]),
    ]
    return f"{parts[0]}-{parts[1]}-{parts[2]}T{parts[3]}:{parts[4]}:{parts[5]}"


def decode_zcl_time(seconds: int) -> datetime | None:
    """ZCL UTCTime: seconds since 2000-01-01T00:00Z; 0 and 0xFFFFFFFF mean 'not set'."""
    if seconds in (0, ZCL_TIME_INVALID):
        return None
    return ZCL_EPOCH + timedelta(seconds=seconds)


def encode_zcl_time(value: datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int((value - ZCL_EPOCH).total_seconds())
    if not 0 <= seconds < ZCL_TIME_INVALID:
        raise ValueError("time out of range for ZCL UTCTime")
    return seconds


def format_zcl_time(seconds: int) -> str:
    value = decode_zcl_time(seconds)
    if value is None:
        return "not set" if seconds == 0 else "invalid"
    return value.isoformat()
