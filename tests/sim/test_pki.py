from __future__ import annotations

import stat

import pytest
from cryptography.x509.oid import NameOID

from tests.gbcs.conftest import ESME
from webapp.gbcs.signing import CertificateStore, sign, verify
from webapp.sim.pki import Identity, TestPki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


def test_load_or_create_keeps_the_root(tmp_path):
    first = TestPki.load_or_create(tmp_path)
    second = TestPki.load_or_create(tmp_path)
    assert first.root == second.root
    assert stat.S_IMODE((tmp_path / "root-ca.key").stat().st_mode) == 0o600


def test_issue_and_save(tmp_path, pki):
    identity = pki.issue(ESME, "ds")
    subject = identity.certificate.subject
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "00DB1234567890A0"
    assert identity.certificate.not_valid_before_utc < identity.certificate.not_valid_after_utc
    assert pki.verify_issued(identity.certificate)
    identity.save(tmp_path)
    assert (tmp_path / "00db1234567890a0-ds.pem").exists()
    key_file = tmp_path / "00db1234567890a0-ds.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    loaded = Identity.load(tmp_path, ESME, "ds")
    assert loaded.certificate == identity.certificate
    signature = sign(loaded.private_key, b"x")
    assert verify(identity.public_key, b"x", signature)
    store = CertificateStore.from_directory(tmp_path)
    assert store.public_key_for(ESME) is not None


def test_load_or_issue(tmp_path):
    pki = TestPki.load_or_create(tmp_path)
    one = pki.load_or_issue("00DB1234567890A1", "ka")
    two = pki.load_or_issue("00DB1234567890A1", "ka")
    assert one.certificate == two.certificate


def test_foreign_certificates_are_not_ours(tmp_path, pki):
    other = TestPki.load_or_create(tmp_path)
    assert not pki.verify_issued(other.issue(ESME, "ds").certificate)


def test_bad_role_or_eui(pki):
    with pytest.raises(ValueError):
        pki.issue(ESME, "xx")
    with pytest.raises(ValueError):
        pki.issue(b"\x01", "ds")
