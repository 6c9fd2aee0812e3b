"""The time a device reports in its answer to a clock-setting command, if any."""

from __future__ import annotations

from datetime import UTC, datetime

from webapp.gbcs.errors import GbcsError

DEVICE_TIME_FIELDS = ("Device Time",)


def reported_device_time(raw: bytes) -> float | None:
    """Seconds since the epoch from the response's "Device Time" field; None if absent."""
    # loaded with the first clock answer: the runner imports this module, and an idle
    # server needs none of the codec's views
    from webapp.gbcs.describe import describe

    try:
        tree = describe(raw)["tree"]
    except GbcsError:
        return None
    stack = list(tree)
    while stack:
        node = stack.pop()
        if node["name"] in DEVICE_TIME_FIELDS and node["value"]:
            parsed = _parse(node["value"])
            if parsed is not None:
                return parsed
        stack.extend(node["children"])
    return None


def _parse(text: str) -> float | None:
    compact = text.split(" ")[0]
    for pattern in ("%Y%m%d%H%M%SZ", "%Y%m%d%H%M%S.%fZ"):
        try:
            return datetime.strptime(compact, pattern).replace(tzinfo=UTC).timestamp()
        except ValueError:
            pass
    for candidate in (text, compact):
        try:
            value = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
        except ValueError:
            continue
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return None
