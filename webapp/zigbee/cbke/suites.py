"""The two Smart Energy crypto suites: curve, certificate and key sizes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.cbke.curves import SECT163K1, SECT283K1, KoblitzCurve


class SuiteId(IntEnum):
    """Key Establishment suite bitmap values."""

    SUITE_1 = 0x0001  # sect163k1, 48-octet certificates
    SUITE_2 = 0x0002  # sect283k1, 74-octet certificates (GB)


@dataclass(frozen=True)
class CryptoSuite:
    id: SuiteId
    curve: KoblitzCurve
    certificate_length: int

    @property
    def point_length(self) -> int:
        return self.curve.point_bytes


SUITE_1 = CryptoSuite(SuiteId.SUITE_1, SECT163K1, 48)
SUITE_2 = CryptoSuite(SuiteId.SUITE_2, SECT283K1, 74)
SUITES: dict[int, CryptoSuite] = {SuiteId.SUITE_1: SUITE_1, SuiteId.SUITE_2: SUITE_2}
MAC_LENGTH = 16
