"""Sizes and addresses shared by the HHT's stack and the simulated hubs.

A 127-octet 802.15.4 frame carries 11 octets of MAC header and FCS (short addresses), 8 of
NWK header and 18 of NWK security (auxiliary header with the extended source and a 4-octet
MIC), which leaves 90 for the APS frame.  Smart Energy traffic after key establishment is
APS-secured too (a 5-octet auxiliary header and a 4-octet MIC), and an APS data header with
the extended (fragmentation) header takes 10 (an ack's, with its bitfield, 11), so each
block carries at most 71 octets.
"""

from __future__ import annotations

MAX_PSDU = 127
MAC_OVERHEAD = 11  # frame control 2, sequence 1, PAN id 2, short addresses 4, FCS 2
NWK_OVERHEAD = 8 + 18  # NWK header, and its security header and MIC
MAX_APS_FRAME = MAX_PSDU - MAC_OVERHEAD - NWK_OVERHEAD  # 90
APS_SECURITY_OVERHEAD = 5 + 4  # security control and frame counter, MIC
APS_FRAGMENT_HEADER = 8 + 2  # frame control, endpoints, cluster, profile, counter; extended
MAX_APS_BLOCK = MAX_APS_FRAME - APS_SECURITY_OVERHEAD - APS_FRAGMENT_HEADER  # 71
APS_WINDOW = 4  # blocks sent before waiting for an APS acknowledgement
SMART_ENERGY_PROFILE = 0x0109
HHT_ENDPOINT = 1
HUB_ENDPOINT = 1
FCS_LENGTH = 2
COORDINATOR_SHORT = 0x0000  # the hub: coordinator and trust centre of its HAN


def aps_psdu_length(aps_frame_length: int, *, secured: bool = False) -> int:
    """Octets on air (MAC header to FCS) for an APS frame of ``aps_frame_length`` octets,
    plus its APS security when ``secured``."""
    extra = APS_SECURITY_OVERHEAD if secured else 0
    return aps_frame_length + extra + MAC_OVERHEAD + NWK_OVERHEAD
