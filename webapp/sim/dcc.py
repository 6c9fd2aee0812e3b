"""The "DCC side" for tests and demos: commands built as the DCC returns them for local
delivery (supplier as originator, device as recipient, optionally supplier-signed, inside
the Access Control Broker's MAC wrapper made with the device's MAC key)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from webapp.gbcs.eui import eui_bytes
from webapp.gbcs.gbz import GbzComponent, ZclFrame, build_gbz
from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import build_general_signing, wrap_general_ciphering
from webapp.gbcs.zcl_ids import CMD_READ_ATTRIBUTES, FRAME_CLUSTER_SPECIFIC
from webapp.sim.han.keys import P256_ORDER

if TYPE_CHECKING:
    from webapp.sim.han.han import SimHan

log = logging.getLogger(__name__)

INVOCATION_COUNTER_MASK = 0xFFFFFFFF


class SupplierSigner(Protocol):
    """What a supplier identity needs here (``webapp.sim.pki`` identities have it)."""

    @property
    def eui(self) -> bytes | str: ...

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey: ...


@dataclass(frozen=True)
class DemoSupplier:
    """A throw-away supplier identity for tests that need no certificate."""

    eui: bytes
    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, eui: str = "90B3D51F30010000", seed: int = 1) -> DemoSupplier:
        digest = hashlib.sha256(f"hht-sim-supplier:{seed}:{eui}".encode()).digest()
        scalar = int.from_bytes(digest, "big") % (P256_ORDER - 1) + 1
        return cls(eui_bytes(eui), ec.derive_private_key(scalar, ec.SECP256R1()))


def build_command(
    han: SimHan,
    *,
    supplier_identity: SupplierSigner,
    device_eui: str,
    counter: int,
    message_code: int,
    payload: bytes,
    sign: bool,
) -> bytes:
    """A command message for ``device_eui`` as the DCC would prepare it for local delivery."""
    originator = eui_bytes(supplier_identity.eui)
    header = GroupingHeader(
        cra=Cra.COMMAND,
        counter=counter,
        originator=originator,
        recipient=eui_bytes(device_eui),
        date_time=None,
        other_info=OtherInfo(message_code=message_code),
    )
    signing_key = supplier_identity.private_key if sign else None
    general_signing = build_general_signing(header, payload, signing_key)
    return wrap_general_ciphering(
        general_signing,
        han.device_mac_key(device_eui),
        originator,
        counter & INVOCATION_COUNTER_MASK,
    )


def read_attributes_payload(cluster_id: int, attribute_ids: list[int], sequence: int = 0) -> bytes:
    """A GBZ payload with one ZCL Read Attributes command."""
    ids = b"".join(a.to_bytes(2, "little") for a in attribute_ids)
    frame = ZclFrame(0x00, sequence, CMD_READ_ATTRIBUTES, ids)
    return build_gbz([GbzComponent(control=0, cluster_id=cluster_id, zcl=frame)])


def cluster_command_payload(
    cluster_id: int, command_id: int, payload: bytes = b"", sequence: int = 0
) -> bytes:
    """A GBZ payload with one cluster-specific ZCL command."""
    frame = ZclFrame(FRAME_CLUSTER_SPECIFIC, sequence, command_id, payload)
    return build_gbz([GbzComponent(control=0, cluster_id=cluster_id, zcl=frame)])
