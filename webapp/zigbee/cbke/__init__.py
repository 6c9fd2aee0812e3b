"""Smart Energy Certificate-Based Key Establishment (suite 2, sect283k1; suite 1 for checks).

Binary-field and Koblitz-curve arithmetic, AES-MMO, ECQV implicit certificates, ECMQV,
the key-establishment state machine and a test certificate authority.  Pure computation.
"""

from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.party import CbkeParty, CbkeState, Role
from webapp.zigbee.cbke.suites import SUITE_1, SUITE_2, CryptoSuite, SuiteId

__all__ = [
    "SUITE_1",
    "SUITE_2",
    "CbkeParty",
    "CbkeState",
    "Credentials",
    "CryptoSuite",
    "Role",
    "SuiteId",
]
