"""ZDO frames (Zigbee spec 2.4): APS data frames on endpoint 0 with profile 0, whose
payload starts with a one-octet transaction sequence number.

Device Announce (cluster 0x0013), broadcast to 0xFFFD by a device that has joined:
sequence (1), NWK address (2), IEEE address (8, LSB first), MAC capability (1).
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.zigbee.frames.aps import ApsFrameType, ApsHeader, DeliveryMode
from webapp.zigbee.frames.mac import CapabilityInfo
from webapp.zigbee.types import EUI64, FrameError, Reader, u8, u16

ZDO_PROFILE = 0x0000
ZDO_ENDPOINT = 0
DEVICE_ANNOUNCE_CLUSTER = 0x0013
BROADCAST_RX_ON_WHEN_IDLE = 0xFFFD  # the NWK destination of a Device Announce


def zdo_header(cluster_id: int, counter: int, *, broadcast: bool = False) -> ApsHeader:
    """The APS data header of a ZDO frame (endpoint 0 to endpoint 0, profile 0)."""
    return ApsHeader(
        ApsFrameType.DATA,
        counter,
        delivery_mode=DeliveryMode.BROADCAST if broadcast else DeliveryMode.UNICAST,
        dst_endpoint=ZDO_ENDPOINT,
        cluster_id=cluster_id,
        profile_id=ZDO_PROFILE,
        src_endpoint=ZDO_ENDPOINT,
    )


@dataclass(frozen=True)
class DeviceAnnounce:
    """``seq`` (ZDO transaction sequence), ``nwk_address`` (the short address),
    ``ieee`` (the EUI-64) and ``capability`` (as in the Association Request)."""

    seq: int
    nwk_address: int
    ieee: EUI64
    capability: CapabilityInfo

    def to_bytes(self) -> bytes:
        """The ZDO payload (the APS frame's payload)."""
        return (
            u8(self.seq & 0xFF)
            + u16(self.nwk_address)
            + self.ieee.le
            + u8(self.capability.to_int())
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceAnnounce:
        r = Reader(data, "ZDO Device Announce")
        seq, nwk_address, ieee, capability = r.u8(), r.u16(), r.eui64(), r.u8()
        r.done()
        return cls(seq, nwk_address, ieee, CapabilityInfo.from_int(capability))

    def aps_header(self, counter: int) -> ApsHeader:
        """The broadcast APS header a Device Announce travels under."""
        return zdo_header(DEVICE_ANNOUNCE_CLUSTER, counter, broadcast=True)


def check_device_announce(header: ApsHeader) -> None:
    """FrameError unless ``header`` is that of a ZDO Device Announce."""
    if header.frame_type != ApsFrameType.DATA:
        raise FrameError(f"ZDO frames are APS data frames, not {header.frame_type.name}")
    if header.profile_id != ZDO_PROFILE or header.dst_endpoint != ZDO_ENDPOINT:
        raise FrameError(
            f"not a ZDO frame (profile {header.profile_id}, endpoint {header.dst_endpoint})"
        )
    if header.cluster_id != DEVICE_ANNOUNCE_CLUSTER:
        raise FrameError(f"ZDO cluster 0x{header.cluster_id:04X} is not Device Announce")
