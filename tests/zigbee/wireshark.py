"""Tunnel transfers wrapped in Zigbee frames for Wireshark, and tshark's reading of them
(test helper).

:class:`TunnelAir` puts GB-HRGP transfers in ZCL Tunneling commands (a Request Tunnel and its
response first, then TransferData), in unsecured APS frames (fragmented as the stack
fragments them), unsecured NWK data frames and 802.15.4 data frames with their FCS, and
writes them as a classic pcap of link type 195 (802.15.4 with FCS).  Wireshark's GBCS
dissector reads GB-HRGP transfers on the Smart Energy Tunneling cluster by itself.
"""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from webapp.zigbee.frames import tunneling
from webapp.zigbee.frames.aps import ApsFrameType, ApsHeader
from webapp.zigbee.frames.fragmentation import fragment
from webapp.zigbee.frames.gbhrgp import HrgpGetResponse, HrgpPut
from webapp.zigbee.frames.mac import MacFrame, MacFrameType, MacHeader
from webapp.zigbee.frames.nwk import NwkFrame, NwkHeader
from webapp.zigbee.frames.tunneling import (
    GB_HRGP_MAX_TRANSFER_SIZE,
    GB_HRGP_REQUEST,
    RequestTunnelResponse,
    TransferData,
    TunnelCommand,
    TunnelStatus,
)
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.sizes import HHT_ENDPOINT, HUB_ENDPOINT, MAX_APS_BLOCK, SMART_ENERGY_PROFILE

TSHARK = Path("/usr/bin/tshark")
TSHARK_TIMEOUT = 120
LINKTYPE_IEEE802_15_4_WITH_FCS = 195
PCAP_MAGIC = 0xA1B2C3D4
PCAP_VERSION = (2, 4)
PCAP_SNAPLEN = 0xFFFF
PCAP_GLOBAL_HEADER = struct.Struct("<IHHiIII")
PCAP_RECORD_HEADER = struct.Struct("<IIII")
#: An expert item of severity "error" (Wireshark's PI_ERROR).
EXPERT_ERROR = 0x00800000
NWK_RADIUS = 30
HUB_SHORT = 0x0000  # the hub: coordinator of its HAN
FIRST_SECOND = 1_700_000_000
MICROSECONDS_APART = 10_000


@dataclass
class TunnelAir:
    """The frames between an HHT and its hub through one GB-HRGP tunnel, in order."""

    pan: int = 0x1A2B
    hht: int = 0x4C1D
    hub: int = HUB_SHORT
    tunnel_id: int = 7
    frames: list[bytes] = field(default_factory=list)
    _sequence: int = 0
    _aps_counter: int = 0
    _tsn: int = 0

    def open_tunnel(self) -> None:
        """The HHT's Request Tunnel (GB-HRGP) and the hub's successful response."""
        self._command(GB_HRGP_REQUEST, Direction.CLIENT_TO_SERVER)
        response = RequestTunnelResponse(
            self.tunnel_id, int(TunnelStatus.SUCCESS), GB_HRGP_MAX_TRANSFER_SIZE
        )
        self._command(response, Direction.SERVER_TO_CLIENT)

    def put(self, part: bytes) -> None:
        """The HHT's PUT of ``part`` (a message or one GBT block) to the hub."""
        data = HrgpPut(part).to_bytes()
        self._command(TransferData(self.tunnel_id, data), Direction.CLIENT_TO_SERVER)

    def get_response(self, part: bytes, remaining: int = 0) -> None:
        """The hub's GET-RESPONSE carrying ``part`` to the HHT."""
        data = HrgpGetResponse(remaining, part).to_bytes()
        self._command(TransferData(self.tunnel_id, data), Direction.SERVER_TO_CLIENT)

    def _command(self, command: TunnelCommand, direction: Direction) -> None:
        self._tsn = (self._tsn + 1) & 0xFF
        zcl = tunneling.encode_tunneling(command, direction, self._tsn)
        if direction is Direction.CLIENT_TO_SERVER:
            self._send(self.hht, self.hub, zcl)
        else:
            self._send(self.hub, self.hht, zcl)

    def _send(self, src: int, dst: int, zcl: bytes) -> None:
        self._aps_counter = (self._aps_counter + 1) & 0xFF
        header = ApsHeader(
            frame_type=ApsFrameType.DATA,
            counter=self._aps_counter,
            dst_endpoint=HUB_ENDPOINT if dst == self.hub else HHT_ENDPOINT,
            cluster_id=tunneling.CLUSTER_ID,
            profile_id=SMART_ENERGY_PROFILE,
            src_endpoint=HHT_ENDPOINT if src == self.hht else HUB_ENDPOINT,
        )
        for aps in fragment(header, zcl, MAX_APS_BLOCK):
            self._sequence = (self._sequence + 1) & 0xFF
            nwk = NwkHeader(dst=dst, src=src, radius=NWK_RADIUS, seq=self._sequence)
            mac = MacHeader(
                MacFrameType.DATA,
                self._sequence,
                dst_pan=self.pan,
                dst=dst,
                src=src,
                pan_id_compression=True,
            )
            payload = NwkFrame(nwk, aps.to_bytes()).to_bytes()
            self.frames.append(MacFrame(mac, payload).to_bytes(fcs=True))

    def write_pcap(self, path: Path) -> Path:
        """Write the frames as a pcap of link type 195, 10 ms apart."""
        out = bytearray(
            PCAP_GLOBAL_HEADER.pack(
                PCAP_MAGIC, *PCAP_VERSION, 0, 0, PCAP_SNAPLEN, LINKTYPE_IEEE802_15_4_WITH_FCS
            )
        )
        for index, frame in enumerate(self.frames):
            seconds, micros = divmod(index * MICROSECONDS_APART, 1_000_000)
            out += PCAP_RECORD_HEADER.pack(FIRST_SECOND + seconds, micros, len(frame), len(frame))
            out += frame
        path.write_bytes(bytes(out))
        return path


def tshark(capture: Path, *args: str) -> str:
    """tshark's standard output for ``capture`` read with ``args``."""
    result = subprocess.run(
        [str(TSHARK), "-n", "-r", str(capture), *args],
        capture_output=True,
        text=True,
        timeout=TSHARK_TIMEOUT,
        check=True,
    )
    return result.stdout


def tshark_fields(capture: Path, display_filter: str, fields: list[str]) -> list[dict[str, str]]:
    """One dict per packet matching ``display_filter``: each field's value(s), comma-joined."""
    args = ["-Y", display_filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in fields:
        args += ["-e", name]
    lines = tshark(capture, *args).splitlines()
    return [dict(zip(fields, line.split("\t"), strict=True)) for line in lines]


def expert_errors(capture: Path) -> str:
    """The malformed packets and expert errors tshark finds, one line each ("" when none)."""
    problems = f"_ws.malformed || _ws.expert.severity == {EXPERT_ERROR:#010x}"
    return tshark(capture, "-Y", problems)


def expert_summary(capture: Path) -> str:
    """tshark's expert information summary (``-z expert``), empty when it has nothing."""
    return tshark(capture, "-q", "-z", "expert").strip()
