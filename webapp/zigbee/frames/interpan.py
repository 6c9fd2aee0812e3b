"""Inter-PAN frames (Smart Energy): MAC data frame without PAN ID compression and with
a long source address, a 2-octet stub NWK header (frame type 0b11) and a stub APS header
(frame type 0b11, delivery mode, [group], cluster, profile), then the ZCL frame."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.zigbee.frames.aps import DeliveryMode
from webapp.zigbee.frames.mac import MacFrame, MacFrameType, MacHeader
from webapp.zigbee.frames.nwk import PROTOCOL_VERSION, NwkFrameType
from webapp.zigbee.types import EUI64, FrameError, Reader, u8, u16

SMART_ENERGY_PROFILE = 0x0109
STUB_NWK_FRAME_CONTROL = int(NwkFrameType.INTER_PAN) | PROTOCOL_VERSION << 2  # 0x000B
APS_INTER_PAN = 0x03
MAX_MAC_HEADER = 23


@dataclass(frozen=True)
class InterPanFrame:
    seq: int
    dst_pan: int
    dst: int | EUI64  # 0xFFFF to broadcast, or the peer's long address
    src_pan: int
    src: EUI64
    cluster_id: int
    payload: bytes  # the ZCL frame
    profile_id: int = SMART_ENERGY_PROFILE
    delivery_mode: DeliveryMode = DeliveryMode.UNICAST
    group: int | None = None
    ack_request: bool = False

    def mac_header(self) -> MacHeader:
        return MacHeader(
            MacFrameType.DATA,
            self.seq,
            dst_pan=self.dst_pan,
            dst=self.dst,
            src_pan=self.src_pan,
            src=self.src,
            ack_request=self.ack_request,
            pan_id_compression=False,
        )

    def stub_aps(self) -> bytes:
        out = u8(APS_INTER_PAN | int(self.delivery_mode) << 2)
        if self.delivery_mode == DeliveryMode.GROUP:
            if self.group is None:
                raise ValueError("group delivery needs a group address")
            out += u16(self.group)
        return out + u16(self.cluster_id) + u16(self.profile_id)

    def to_bytes(self, fcs: bool = False) -> bytes:
        nwk = u16(STUB_NWK_FRAME_CONTROL)
        return MacFrame(self.mac_header(), nwk + self.stub_aps() + self.payload).to_bytes(fcs)

    @classmethod
    def from_bytes(cls, data: bytes, fcs: bool = False) -> InterPanFrame:
        mac = MacFrame.from_bytes(data, fcs=fcs)
        h = mac.header
        if h.frame_type != MacFrameType.DATA:
            raise FrameError("Inter-PAN frame must be a MAC data frame")
        if h.pan_id_compression:
            raise FrameError("Inter-PAN frame uses no PAN ID compression")
        if not isinstance(h.src, EUI64):
            raise FrameError("Inter-PAN frame needs a long source address")
        if h.dst is None or h.dst_pan is None or h.src_pan is None:
            raise FrameError("Inter-PAN frame needs destination and PAN ids")
        r = Reader(mac.payload, "Inter-PAN frame")
        nwk_fc = r.u16()
        if nwk_fc & 3 != NwkFrameType.INTER_PAN:
            raise FrameError(f"stub NWK frame type is {nwk_fc & 3}, not Inter-PAN")
        aps_fc = r.u8()
        if aps_fc & 3 != APS_INTER_PAN:
            raise FrameError("stub APS frame type is not Inter-PAN")
        mode = (aps_fc >> 2) & 3
        if mode == 1:
            raise FrameError("reserved APS delivery mode 1")
        group = r.u16() if mode == DeliveryMode.GROUP else None
        cluster, profile = r.u16(), r.u16()
        return cls(
            seq=h.seq,
            dst_pan=h.dst_pan,
            dst=h.dst,
            src_pan=h.src_pan,
            src=h.src,
            cluster_id=cluster,
            payload=r.rest(),
            profile_id=profile,
            delivery_mode=DeliveryMode(mode),
            group=group,
            ack_request=h.ack_request,
        )


def is_inter_pan(mac_payload: bytes) -> bool:
    """True when a MAC data payload starts with the Inter-PAN stub NWK header."""
    return len(mac_payload) >= 2 and mac_payload[0] & 3 == NwkFrameType.INTER_PAN
