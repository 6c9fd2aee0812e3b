"""A meter asking its hub to open the pairing window: the frame and the hub's side of it.

The seed (minutes 3.8) proposes an "Installer-PIN" protected menu on a trusted device (the
ESME or the GSME) to turn the hub's Inter-PAN flag back on for a maintenance visit; it gives
no bytes. This project's reading, in the simulator only: once the installer's PIN is right
(:mod:`.meter_menu`), the meter sends its hub one ZCL command on the HAN, in a
manufacturer-specific cluster with a manufacturer code of this project's own (neither is
registered), as HAN traffic is sent here: NWK security under the network key and APS
security under the meter's link key. The payload is the window's length in minutes
(uint16, little-endian). The hub takes it only from an ESME or GSME in its device log and
answers with a ZCL Default Response: SUCCESS, or NOT_AUTHORIZED.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from webapp.gbcs.zcl_status import STATUS_NOT_AUTHORIZED, STATUS_SUCCESS
from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader
from webapp.zigbee.frames.zcl import Direction, ZclFrame, ZclFrameType, ZclHeader
from webapp.zigbee.sizes import HUB_ENDPOINT, SMART_ENERGY_PROFILE
from webapp.zigbee.types import EUI64, FrameError, Reader, u16

from .window import MAX_MENU_WINDOW_SECONDS

if TYPE_CHECKING:
    from .hub_radio import HubEndpoint, Reply

log = logging.getLogger(__name__)

#: This project's manufacturer-specific cluster and code for the request (not registered).
WINDOW_CLUSTER = 0xFC50
MANUFACTURER_CODE = 0x1E5A
OPEN_WINDOW = 0x00
DEFAULT_RESPONSE = 0x0B
METER_ENDPOINT = 1
#: Device kinds whose installer menu the hub listens to (the seed's "trusted devices").
TRUSTED_KINDS = ("esme", "gsme")


def open_window_frame(counter: int, tsn: int, minutes: int) -> ApsFrame:
    """The meter's request: open the window for ``minutes``."""
    zcl = ZclFrame(
        ZclHeader(OPEN_WINDOW, tsn, manufacturer_code=MANUFACTURER_CODE), u16(minutes)
    ).to_bytes()
    return ApsFrame(_aps_header(counter, HUB_ENDPOINT), zcl)


def _aps_header(counter: int, dst_endpoint: int) -> ApsHeader:
    return ApsHeader(
        frame_type=ApsFrameType.DATA,
        counter=counter & 0xFF,
        dst_endpoint=dst_endpoint,
        cluster_id=WINDOW_CLUSTER,
        profile_id=SMART_ENERGY_PROFILE,
        src_endpoint=METER_ENDPOINT,
    )


def read_default_response(frame: ApsFrame) -> int:
    """The status in the hub's answer (FrameError when it is not one)."""
    if frame.header.cluster_id != WINDOW_CLUSTER:
        raise FrameError("not an answer from the window cluster")
    zcl = ZclFrame.from_bytes(frame.payload)
    if zcl.header.frame_type != ZclFrameType.GLOBAL or zcl.header.command_id != DEFAULT_RESPONSE:
        raise FrameError("not a Default Response")
    r = Reader(zcl.payload, "Default Response")
    r.u8()  # the command answered
    return r.u8()


def on_window_request(
    endpoint: HubEndpoint, meter: EUI64, frame: ApsFrame, now: float, key: bytes | None
) -> list[Reply]:
    """The hub's answer to a frame on the window cluster from ``meter``."""
    try:
        zcl = ZclFrame.from_bytes(frame.payload)
        if zcl.header.manufacturer_code != MANUFACTURER_CODE:
            raise FrameError("another manufacturer's command")
        if zcl.header.command_id != OPEN_WINDOW:
            raise FrameError(f"unknown command {zcl.header.command_id}")
        minutes = Reader(zcl.payload, "open window").u16()
    except FrameError as exc:
        endpoint.count_drop("malformed", exc)
        return []
    device = endpoint.han.hubs.device(str(meter))
    trusted = (
        device is not None
        and device["hub_id"] == endpoint.hub_id
        and device["kind"] in TRUSTED_KINDS
        and device["in_device_log"]
        and key is not None
    )
    status = STATUS_SUCCESS if trusted else STATUS_NOT_AUTHORIZED
    if trusted:
        seconds = min(minutes * 60.0, MAX_MENU_WINDOW_SECONDS)
        endpoint.han.hubs.open_window(endpoint.hub_id, now + seconds)
        log.info("hub %s: %s opened its window for %d min", endpoint.hub_id, meter, minutes)
    else:
        log.info("hub %s refuses a window request from %s", endpoint.hub_id, meter)
    answer = ZclFrame(
        ZclHeader(
            DEFAULT_RESPONSE,
            zcl.header.tsn,
            frame_type=ZclFrameType.GLOBAL,
            direction=Direction.SERVER_TO_CLIENT,
        ),
        bytes([OPEN_WINDOW, status]),
    )
    return [
        (
            0.0,
            ApsFrame(_aps_header(frame.header.counter + 1, METER_ENDPOINT), answer.to_bytes()),
            key,
        )
    ]
