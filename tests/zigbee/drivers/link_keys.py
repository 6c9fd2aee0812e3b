"""What the link-key tests look at: the APS frames the simulated hub took from the HHT, with
the key each came secured under, and the ``secured`` flags the driver reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webapp.sim.han.han import SimHan
from webapp.sim.han.hub_radio import HubEndpoint
from webapp.sim.radio import SIM_HHT_EUI
from webapp.zigbee.drivers.frames_base import FrameRadio, ReceivedAps
from webapp.zigbee.frames import key_establishment, tunneling
from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType

KE_CLUSTER = key_establishment.CLUSTER_ID
TUNNEL_CLUSTER = tunneling.CLUSTER_ID


@dataclass
class HubWatch:
    """Every APS frame ``endpoint`` handled: (cluster, frame type, key it came under)."""

    endpoint: HubEndpoint
    seen: list[tuple[int | None, ApsFrameType, bytes | None]] = field(default_factory=list)

    def keys(self, cluster: int, kind: ApsFrameType = ApsFrameType.DATA) -> set[bytes | None]:
        return {key for c, k, key in self.seen if c == cluster and k == kind}

    @property
    def cbke_key(self) -> bytes | None:
        """The key the hub agreed with the HHT by CBKE over its HAN."""
        return self.endpoint.link_key(SIM_HHT_EUI)

    @property
    def key_drops(self) -> int:
        return sum(self.endpoint.dropped.get(r, 0) for r in ("aps-key", "aps-policy"))


def watch_hub(han: SimHan, hub_id: str) -> HubWatch:
    endpoint = han.frames.endpoint(hub_id)
    assert endpoint is not None
    watch = HubWatch(endpoint)
    handle = endpoint.on_aps

    def on_aps(hht: Any, frame: ApsFrame, now: float, *, key: bytes | None = None) -> Any:
        watch.seen.append((frame.header.cluster_id, frame.header.frame_type, key))
        return handle(hht, frame, now, key=key)

    endpoint.on_aps = on_aps  # type: ignore[method-assign]
    return watch


def watch_secured(radio: FrameRadio) -> list[tuple[int | None, ApsFrameType, bool | None]]:
    """Every APS frame ``radio`` hands up: (cluster, frame type, its ``secured`` flag)."""
    seen: list[tuple[int | None, ApsFrameType, bool | None]] = []
    receive = radio.receive_aps

    async def receive_aps(timeout: float) -> ReceivedAps | None:
        received = await receive(timeout)
        if received is not None:
            header = received.frame.header
            seen.append((header.cluster_id, header.frame_type, received.secured))
        return received

    radio.receive_aps = receive_aps  # type: ignore[method-assign]
    return seen


def flags(
    seen: list[tuple[int | None, ApsFrameType, bool | None]],
    cluster: int,
    kind: ApsFrameType = ApsFrameType.DATA,
) -> set[bool | None]:
    return {secured for c, k, secured in seen if c == cluster and k == kind}


def assert_tunnel_secured_under_cbke_key(watch: HubWatch) -> None:
    """Key establishment went under network security only, every tunnel frame APS-secured
    under the key it agreed, and the hub dropped nothing."""
    key = watch.cbke_key
    assert key is not None
    assert watch.keys(KE_CLUSTER) == {None}
    assert watch.keys(TUNNEL_CLUSTER) == {key}
    assert not any(watch.endpoint.dropped.values()), dict(watch.endpoint.dropped)
