"""This terminal's address on the local network, as phones on the same Wi-Fi reach it."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"
# any address off the local host: connecting a UDP socket picks the outgoing interface
PROBE_TARGET = ("10.255.255.255", 1)


def lan_address() -> str:
    """The IPv4 address of the interface that leads off this host, else loopback.

    Connecting a UDP socket sends no packet; it only chooses the route.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(PROBE_TARGET)
            return str(probe.getsockname()[0])
        except OSError:
            return LOOPBACK
