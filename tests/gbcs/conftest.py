from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.signing import CertificateStore
from webapp.sim.pki import Identity, TestPki

SUPPLIER = bytes.fromhex("90B3D51F30010000")
ACB = bytes.fromhex("90B3D51F30000002")
ESME = bytes.fromhex("00DB1234567890A0")
GSME = bytes.fromhex("00DB1234567890A2")
UNKNOWN_SIGNER = bytes.fromhex("00DB123456789FFF")
MAC_KEY = bytes(range(16))
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def supplier(pki: TestPki) -> Identity:
    return pki.issue(SUPPLIER, "ds")


@pytest.fixture(scope="session")
def esme(pki: TestPki) -> Identity:
    return pki.issue(ESME, "ds")


@pytest.fixture(scope="session")
def stranger(pki: TestPki) -> Identity:
    return pki.issue(UNKNOWN_SIGNER, "ds")


@pytest.fixture(scope="session")
def store(supplier: Identity, esme: Identity) -> CertificateStore:
    result = CertificateStore()
    result.add(supplier.eui, supplier.certificate)
    result.add(esme.eui, esme.certificate)
    return result


def make_header(
    cra: Cra = Cra.COMMAND,
    counter: int = 0x3E8,
    code: int = 0x0027,
    *,
    originator: bytes = SUPPLIER,
    recipient: bytes = ESME,
    date_time: datetime | None = None,
    other_info: OtherInfo | None = None,
) -> GroupingHeader:
    return GroupingHeader(
        cra=cra,
        counter=counter,
        originator=originator,
        recipient=recipient,
        date_time=date_time,
        other_info=other_info or OtherInfo(message_code=code),
    )


WHEN = datetime(2024, 5, 17, 9, 30, 15, tzinfo=UTC)
