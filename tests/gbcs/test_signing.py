from __future__ import annotations

import pytest

from webapp.gbcs.eui import eui_bytes
from webapp.gbcs.header import Cra
from webapp.gbcs.message import build_general_signing, parse_message
from webapp.gbcs.signing import (
    CertificateStore,
    SignatureState,
    certificate_public_key,
    sign,
    verify,
    verify_message,
)

from .conftest import ESME, SUPPLIER, make_header

PAYLOAD = bytes.fromhex("0109010007070005000000")


def test_sign_and_verify(supplier, esme):
    signature = sign(supplier.private_key, b"data")
    assert len(signature) == 64
    assert verify(supplier.public_key, b"data", signature)
    assert not verify(supplier.public_key, b"other", signature)
    assert not verify(esme.public_key, b"data", signature)
    assert not verify(supplier.public_key, b"data", signature[:63])
    assert not verify(supplier.public_key, b"data", bytes(64))


def test_states(supplier, esme, stranger, store):
    header = make_header(Cra.RESPONSE, originator=ESME, recipient=SUPPLIER)
    good = parse_message(build_general_signing(header, PAYLOAD, esme.private_key))
    assert verify_message(good, store) is SignatureState.VALID
    forged = parse_message(build_general_signing(header, PAYLOAD, supplier.private_key))
    assert verify_message(forged, store) is SignatureState.INVALID
    unsigned = parse_message(build_general_signing(header, PAYLOAD, None))
    assert verify_message(unsigned, store) is SignatureState.ABSENT
    unknown_header = make_header(Cra.RESPONSE, originator=stranger.eui, recipient=SUPPLIER)
    unknown = parse_message(build_general_signing(unknown_header, PAYLOAD, stranger.private_key))
    assert verify_message(unknown, store) is SignatureState.SIGNER_UNKNOWN
    assert verify_message(good, None) is SignatureState.SIGNER_UNKNOWN
    assert [s.value for s in SignatureState] == ["valid", "invalid", "absent", "signer-unknown"]


def test_tampered_payload_is_invalid(esme, store):
    header = make_header(Cra.RESPONSE, originator=ESME, recipient=SUPPLIER)
    raw = bytearray(build_general_signing(header, PAYLOAD, esme.private_key))
    raw[-66] ^= 0x01
    assert verify_message(parse_message(bytes(raw)), store) is SignatureState.INVALID


def test_store_from_directory(tmp_path, supplier, esme, pki):
    supplier.save(tmp_path)
    esme.save(tmp_path)
    pki.issue(ESME, "ka").save(tmp_path)
    (tmp_path / "00DB1234567890AA-ds.pem").write_text("not a certificate")
    (tmp_path / "readme.txt").write_text("ignored")
    store = CertificateStore.from_directory(tmp_path)
    assert len(store) == 2
    assert store.public_key_for(SUPPLIER) is not None
    assert store.public_key_for("90b3d51f30010000") is not None
    assert store.public_key_for("90-B3-D5-1F-30-01-00-00") is not None
    assert store.public_key_for(bytes(8)) is None
    assert store.public_key_for("zz") is None
    assert ESME in store and "nonsense" not in store


def test_store_add_public_key(esme):
    store = CertificateStore()
    store.add("00DB1234567890A0", esme.public_key)
    assert store.public_key_for(ESME) == esme.public_key


def test_store_add_pem_reads_certificates_and_bare_keys_when_first_asked(
    supplier, esme, caplog
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    store = CertificateStore()
    store.add_pem(SUPPLIER, supplier.certificate.public_bytes(Encoding.PEM))
    store.add_pem(
        ESME, esme.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    store.add_pem("00DB1234567890AA", b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END")
    assert _same_key(store.public_key_for(SUPPLIER), supplier.public_key)
    assert _same_key(store.public_key_for(ESME), esme.public_key)
    with caplog.at_level("WARNING"):
        assert store.public_key_for("00DB1234567890AA") is None
    assert "the certificate of 00db1234567890aa" in caplog.text
    assert len(store) == 2
    # a PEM given again replaces the key read before
    store.add_pem(SUPPLIER, esme.certificate.public_bytes(Encoding.PEM))
    assert _same_key(store.public_key_for(SUPPLIER), esme.public_key)


def test_threads_looking_a_new_signer_up_at_once_all_find_the_key(esme) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from cryptography.hazmat.primitives.serialization import Encoding

    pem = esme.certificate.public_bytes(Encoding.PEM)
    threads = 8
    for _ in range(25):
        store = CertificateStore()
        store.add_pem(ESME, pem)
        start = threading.Barrier(threads)

        def look_up(_: int, store: CertificateStore = store, start=start):  # type: ignore[no-untyped-def]
            start.wait()
            return store.public_key_for(ESME)

        with ThreadPoolExecutor(threads) as pool:
            found = list(pool.map(look_up, range(threads)))
        assert all(key is not None and _same_key(key, esme.public_key) for key in found)


@pytest.mark.parametrize("bad", ["123", b"\x01\x02", "00DB1234567890A0FF"])
def test_eui_bytes_refuses_bad_input(bad):
    with pytest.raises(ValueError):
        eui_bytes(bad)


def _same_key(a, b) -> bool:
    return a.public_numbers() == b.public_numbers()


def test_certificate_public_key_reads_only_the_key(pki, supplier, esme) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    for identity in (supplier, esme, pki.issue(ESME, "ka")):
        pem = identity.certificate.public_bytes(Encoding.PEM)
        der = identity.certificate.public_bytes(Encoding.DER)
        assert _same_key(certificate_public_key(pem), identity.certificate.public_key())
        assert _same_key(certificate_public_key(der), identity.certificate.public_key())


def test_certificate_public_key_of_every_rtds_certificate() -> None:
    from cryptography import x509

    from tests.gbcs.conftest import SHARED

    keystore = SHARED / "rtds" / "keystore"
    if not keystore.is_dir():
        pytest.skip("../shared/rtds/keystore is not here")
    certificates = sorted(keystore.glob("*.pem"))
    assert certificates
    read = 0
    for path in certificates:
        data = path.read_bytes()
        try:
            expected = x509.load_pem_x509_certificate(data).public_key()
        except ValueError:  # a key file, not a certificate: refused by both
            with pytest.raises(ValueError):
                certificate_public_key(data)
            continue
        assert _same_key(certificate_public_key(data), expected), path.name
        read += 1
    assert read > 100


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        bytes.fromhex("3003020101"),  # a SEQUENCE holding one INTEGER
        bytes.fromhex("30053003020101"),  # a TBSCertificate with no fields
    ],
)
def test_certificate_public_key_refuses_what_is_no_certificate(data: bytes) -> None:
    with pytest.raises(ValueError):
        certificate_public_key(data)
