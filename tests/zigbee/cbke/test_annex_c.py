"""The Smart Energy Annex C worked examples, step by step and through CbkeParty."""

from __future__ import annotations

import pytest

from webapp.zigbee.cbke.certificate import parse_certificate
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.ecmqv import derive_keys, ecmqv, mac_u, mac_v
from webapp.zigbee.cbke.party import CbkeParty, CbkeState, Role
from webapp.zigbee.cbke.suites import SUITES
from webapp.zigbee.frames.key_establishment import (
    ConfirmKeyData,
    EphemeralData,
    InitiateKeyEstablishment,
    decode_ke,
)
from webapp.zigbee.types import EUI64

from ..vectors import annex_c, h

SUITE_IDS = [1, 2]


def _point(curve, text: str):
    return curve.decode_point(h(text))


@pytest.mark.parametrize("suite_id", SUITE_IDS)
def test_static_and_ephemeral_keys(suite_id: int) -> None:
    f = annex_c(suite_id)["fields"]
    curve = SUITES[suite_id].curve
    for who in ("initiator", "responder"):
        for kind in ("static", "ephemeral"):
            private = int(f[f"{who}_{kind}_private_key"], 16) % curve.n
            public = curve.encode_point(curve.mul(private, curve.g))
            assert public == h(f[f"{who}_{kind}_public_key"])


def test_suite2_responder_ephemeral_key_exceeds_n() -> None:
    f = annex_c(2)["fields"]
    assert int(f["responder_ephemeral_private_key"], 16) >= SUITES[2].curve.n


@pytest.mark.parametrize("suite_id", SUITE_IDS)
def test_ecqv_reconstructs_both_public_keys(suite_id: int) -> None:
    entry = annex_c(suite_id)
    f = entry["fields"]
    suite = SUITES[suite_id]
    ca = _point(suite.curve, f["ca_public_key"])
    for who in ("initiator", "responder"):
        cert = parse_certificate(h(f[f"{who}_certificate"]), suite)
        assert cert.subject == EUI64.from_hex(f[f"{who}_ieee"])
        label = "initiator(U)" if who == "initiator" else "responder(V)"
        assert cert.hash_e == int(entry["derived_ecqv_hash_e"][f"{label} cert_ecqv_hash_e"], 16)
        q = cert.public_key(ca)
        assert suite.curve.encode_point(q) == h(f[f"{who}_static_public_key"])


@pytest.mark.parametrize("suite_id", SUITE_IDS)
def test_ecmqv_kdf_and_macs(suite_id: int) -> None:
    f = annex_c(suite_id)["fields"]
    curve = SUITES[suite_id].curve

    def key(name: str) -> int:
        return int(f[name], 16) % curve.n

    z_u = ecmqv(
        curve,
        key("initiator_static_private_key"),
        key("initiator_ephemeral_private_key"),
        _point(curve, f["initiator_ephemeral_public_key"]),
        _point(curve, f["responder_static_public_key"]),
        _point(curve, f["responder_ephemeral_public_key"]),
    )
    z_v = ecmqv(
        curve,
        key("responder_static_private_key"),
        key("responder_ephemeral_private_key"),
        _point(curve, f["responder_ephemeral_public_key"]),
        _point(curve, f["initiator_static_public_key"]),
        _point(curve, f["initiator_ephemeral_public_key"]),
    )
    assert z_u == z_v == h(f["shared_secret_Z"])
    mac_key, key_data = derive_keys(z_u)
    assert mac_key == h(f["mac_key"])
    assert key_data == h(f["key_data"])
    u, v = EUI64.from_hex(f["initiator_ieee"]), EUI64.from_hex(f["responder_ieee"])
    qeu, qev = h(f["initiator_ephemeral_public_key"]), h(f["responder_ephemeral_public_key"])
    assert mac_u(mac_key, u, v, qeu, qev) == h(f["macu"])
    assert mac_v(mac_key, u, v, qeu, qev) == h(f["macv"])


def test_ecmqv_without_cofactor_differs() -> None:
    f = annex_c(2)["fields"]
    curve = SUITES[2].curve
    from webapp.zigbee.cbke.ecmqv import associate_value

    qeu = _point(curve, f["initiator_ephemeral_public_key"])
    qev = _point(curve, f["responder_ephemeral_public_key"])
    qsv = _point(curve, f["responder_static_public_key"])
    s = (
        int(f["initiator_ephemeral_private_key"], 16)
        + associate_value(curve, qeu) * int(f["initiator_static_private_key"], 16)
    ) % curve.n
    no_cofactor = curve.mul2(s, qev, (s * associate_value(curve, qev)) % curve.n, qsv)
    assert curve.field.to_bytes(no_cofactor[0]) != h(f["shared_secret_Z"])


@pytest.mark.parametrize("suite_id", SUITE_IDS)
def test_parties_reproduce_the_example_frames(suite_id: int) -> None:
    f = annex_c(suite_id)["fields"]
    suite = SUITES[suite_id]

    def creds(who: str) -> Credentials:
        return Credentials(
            certificate=h(f[f"{who}_certificate"]),
            private_key=int(f[f"{who}_static_private_key"], 16),
            ca_public_key=h(f["ca_public_key"]),
            suite=suite,
        )

    initiator = CbkeParty(
        Role.INITIATOR,
        creds("initiator"),
        peer_ieee=EUI64.from_hex(f["responder_ieee"]),
        ephemeral_private_key=int(f["initiator_ephemeral_private_key"], 16),
    )
    responder = CbkeParty(
        Role.RESPONDER,
        creds("responder"),
        peer_ieee=EUI64.from_hex(f["initiator_ieee"]),
        ephemeral_private_key=int(f["responder_ephemeral_private_key"], 16),
    )
    req = initiator.start()
    _, cmd = decode_ke(req)
    assert cmd == InitiateKeyEstablishment(suite_id, 10, 10, h(f["initiator_certificate"]))
    rsp = responder.receive(req)
    assert decode_ke(rsp)[1].identity == h(f["responder_certificate"])
    eph_req = initiator.receive(rsp)
    assert decode_ke(eph_req)[1] == EphemeralData(h(f["initiator_ephemeral_public_key"]))
    eph_rsp = responder.receive(eph_req)
    assert decode_ke(eph_rsp)[1] == EphemeralData(h(f["responder_ephemeral_public_key"]))
    confirm_req = initiator.receive(eph_rsp)
    assert decode_ke(confirm_req)[1] == ConfirmKeyData(h(f["macu"]))
    confirm_rsp = responder.receive(confirm_req)
    assert decode_ke(confirm_rsp)[1] == ConfirmKeyData(h(f["macv"]))
    assert initiator.receive(confirm_rsp) is None
    assert initiator.state == responder.state == CbkeState.DONE
    assert initiator.link_key == responder.link_key == h(f["key_data"])
