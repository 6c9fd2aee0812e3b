"""Did the device do what was asked? The outcome a response (or alert) reports."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .alerts import alert_code_of
from .asn1 import parse_der
from .asn1_structures import schema_for
from .asn1_view import Labelled, asn1_tree, outcome_from
from .dlms import ACCESS_RESPONSE, DlmsApdu, parse_dlms
from .errors import GbcsError
from .gbz import GbzComponent, GbzPayload, parse_gbz_payload
from .header import Cra
from .message import Message
from .payload import payload_encoding
from .tree import ViewContext
from .usecases import alert_name
from .zcl import read_attribute_records
from .zcl_ids import (
    CLUSTER_EVENTS,
    CLUSTER_PREPAYMENT,
    CMD_DEFAULT_RESPONSE,
    CMD_READ_ATTRIBUTES_RESPONSE,
)
from .zcl_status import STATUS_NOT_FOUND, zcl_status_name

SUCCESS = "success"
FAILURE = "failure"
UNKNOWN = "unknown"
CMD_CONSUMER_TOP_UP_RESPONSE = 0x03
CMD_CLEAR_EVENT_LOG_RESPONSE = 0x02
#: ``alert_code`` default: not looked up yet (alert codes are 0..0xFFFF).
NOT_LOOKED_UP = -1
_FAILURE_ALERT = re.compile(r"fail|not successfully|rejected|error", re.IGNORECASE)


@dataclass
class Outcome:
    status: str
    reason: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"status": self.status, "reason": self.reason}


def response_outcome(
    message: Message,
    parsed: GbzPayload | DlmsApdu | Labelled | None = None,
    alert_code: int | None = NOT_LOOKED_UP,
) -> Outcome:
    """The outcome a response reports; alerts are "unknown" unless they report a failure.

    ``parsed`` (what the payload view already decoded: a GbzPayload, DlmsApdu or Labelled)
    and ``alert_code`` (what :func:`alert_code_of` gave) spare decoding the payload again.
    Never raises: an undecodable payload gives "unknown" with the reason.
    """
    try:
        if message.header.cra is Cra.ALERT:
            if alert_code == NOT_LOOKED_UP:
                alert_code = alert_code_of(message)
            return _alert_outcome(alert_code)
        if message.header.cra is not Cra.RESPONSE:
            return Outcome(UNKNOWN, "not a response")
        encoding = payload_encoding(message)
        if encoding == "gbz":
            return _gbz_outcome(message, parsed if isinstance(parsed, GbzPayload) else None)
        if encoding == "dlms":
            return _dlms_outcome(message, parsed if isinstance(parsed, DlmsApdu) else None)
        if encoding == "asn1":
            return _asn1_outcome(message, parsed if isinstance(parsed, Labelled) else None)
        return Outcome(UNKNOWN, "payload format not recognised")
    except GbcsError as exc:
        return Outcome(UNKNOWN, f"payload could not be decoded ({exc})")
    except Exception as exc:  # noqa: BLE001 - an outcome must never break its caller
        import logging  # only here: reading a message needs no logging machinery

        logging.getLogger(__name__).exception(
            "outcome of message code 0x%04X", message.message_code
        )
        return Outcome(UNKNOWN, f"payload could not be decoded ({type(exc).__name__})")


def _alert_outcome(code: int | None) -> Outcome:
    if code is None:
        return Outcome(UNKNOWN, None)
    name = alert_name(code)
    label = f"alert 0x{code:04X}" + (f" {name}" if name else "")
    if name and _FAILURE_ALERT.search(name):
        return Outcome(FAILURE, label)
    return Outcome(UNKNOWN, label)


def _payload_end(message: Message) -> int:
    return message.payload_offset + len(message.payload)


def _gbz_outcome(message: Message, gbz: GbzPayload | None = None) -> Outcome:
    if gbz is None:
        gbz = parse_gbz_payload(
            message.raw, offset=message.payload_offset, end=_payload_end(message)
        )
    notes: list[str] = []
    for index, component in enumerate(gbz.components, start=1):
        status, reason = _component_outcome(component)
        if status == FAILURE:
            return Outcome(FAILURE, f"component {index}: {reason}")
        if reason:
            notes.append(reason)
    if gbz.components and all(c.encrypted is not None for c in gbz.components):
        return Outcome(UNKNOWN, "the result is inside encrypted content")
    return Outcome(SUCCESS, _summarise(notes))


def _summarise(notes: list[str]) -> str | None:
    if not notes:
        return None
    if len(notes) == 1:
        return notes[0]
    distinct = sorted(set(notes), key=notes.index)
    if len(distinct) == 1:
        return f"{notes[0]} ({len(notes)} components)"
    return "; ".join(distinct)


def _component_outcome(component: GbzComponent) -> tuple[str, str | None]:
    frame = component.zcl
    if component.encrypted is not None:
        return SUCCESS, None
    if frame.cluster_specific:
        return _cluster_response_outcome(component)
    where = f"cluster 0x{component.cluster_id:04X}"
    if frame.command_id == CMD_DEFAULT_RESPONSE and len(frame.payload) >= 2:
        command, status = frame.payload[0], frame.payload[1]
        if status == STATUS_NOT_FOUND:
            return SUCCESS, f"nothing found for {where} command 0x{command:02X}"
        if status:
            return FAILURE, f"{where} command 0x{command:02X} status {zcl_status_name(status)}"
    if frame.command_id == CMD_READ_ATTRIBUTES_RESPONSE:
        for attribute, status in _read_attribute_statuses(frame.payload):
            if status:
                return (
                    FAILURE,
                    f"{where} attribute 0x{attribute:04X} status {zcl_status_name(status)}",
                )
    return SUCCESS, None


def _cluster_response_outcome(component: GbzComponent) -> tuple[str, str | None]:
    frame = component.zcl
    key = (component.cluster_id, frame.command_id)
    if not frame.server_to_client or not frame.payload:
        return SUCCESS, None
    if key == (CLUSTER_PREPAYMENT, CMD_CONSUMER_TOP_UP_RESPONSE) and frame.payload[0]:
        return FAILURE, f"top up result type {frame.payload[0]} (not accepted)"
    if key == (CLUSTER_EVENTS, CMD_CLEAR_EVENT_LOG_RESPONSE) and frame.payload[0] == 0:
        return FAILURE, "no event log was cleared"
    return SUCCESS, None


def _read_attribute_statuses(payload: bytes) -> list[tuple[int, int]]:
    return [(record.attribute_id, record.status) for record in read_attribute_records(payload)]


def _dlms_outcome(message: Message, apdu: DlmsApdu | None = None) -> Outcome:
    if apdu is None:
        apdu = parse_dlms(message.raw, message.payload_offset, _payload_end(message))
    if apdu.tag != ACCESS_RESPONSE:
        return Outcome(UNKNOWN, f"DLMS {apdu.name} in a response")
    for index, result in enumerate(apdu.results, start=1):
        if result.result:
            return Outcome(FAILURE, f"item {index}: {result.name} result {result.result_name}")
    return Outcome(SUCCESS, None)


def _asn1_outcome(message: Message, labelled: Labelled | None = None) -> Outcome:
    end = _payload_end(message)
    if schema_for(message.message_code, message.header.cra) is None:
        node = parse_der(message.raw, message.payload_offset, end)
        if node.is_universal(2):
            value = node.integer()
            return (
                Outcome(SUCCESS, None) if value == 0 else Outcome(FAILURE, f"result code {value}")
            )
        return Outcome(UNKNOWN, "no result code known for this payload")
    if labelled is None:
        _, labelled = asn1_tree(
            message.raw,
            message.payload_offset,
            end,
            message.message_code,
            message.header.cra,
            ViewContext(),
        )
    status, reason = outcome_from(labelled)
    return Outcome(status, reason)
