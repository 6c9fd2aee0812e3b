"""The radio driver interface the HHT's runner talks to.

A driver owns one Zigbee stick (or the simulated HAN).  The runner only ever
uses what is declared here, so the same job code runs against the simulator
today and against real sticks later.

For now the connection to a hub is one call (:meth:`RadioDriver.connect`) that
reports its stages through a callback; the frame-level stack (Inter-PAN CBKE,
join, tunnel) lives behind it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from webapp.gbcs.eui import eui_text

if TYPE_CHECKING:
    from webapp.zigbee.capture import Capture

BAND_2_4_GHZ = "2.4GHz"
BAND_868_MHZ = "868MHz"


class ConnectStage(StrEnum):
    """The steps of reaching a hub, in order, as the installer sees them."""

    INTERPAN_KEY_ESTABLISHMENT = "interpan-cbke"
    SEND_INSTALL_CODE = "install-code"
    JOIN_HAN = "join"
    HAN_KEY_ESTABLISHMENT = "han-cbke"
    OPEN_TUNNEL = "tunnel"
    READY = "ready"


STAGE_LABELS: dict[ConnectStage, str] = {
    ConnectStage.INTERPAN_KEY_ESTABLISHMENT: "Securing a first link to the hub",
    ConnectStage.SEND_INSTALL_CODE: "Introducing this terminal to the hub",
    ConnectStage.JOIN_HAN: "Joining the home's smart-meter network",
    ConnectStage.HAN_KEY_ESTABLISHMENT: "Agreeing keys with the hub",
    ConnectStage.OPEN_TUNNEL: "Opening the message tunnel",
    ConnectStage.READY: "Ready",
}


class ErrorCode(StrEnum):
    """Why talking to a hub failed; each maps to one plain instruction."""

    NOT_FOUND = "not-found"
    WINDOW_CLOSED = "window-closed"
    BAND_UNSUPPORTED = "band-unsupported"
    KEY_ESTABLISHMENT_REFUSED = "cbke-refused"
    LINK_KEY_REJECTED = "link-key-rejected"
    JOIN_REFUSED = "join-refused"
    FRAMES_IGNORED = "frames-ignored"
    LINK_LOST = "link-lost"
    NOT_CONNECTED = "not-connected"
    RADIO_FAULT = "radio-fault"
    STICK_UNPLUGGED = "stick-unplugged"


INSTRUCTIONS: dict[ErrorCode, str] = {
    ErrorCode.NOT_FOUND: "The hub did not answer. Move closer to it and scan again.",
    ErrorCode.WINDOW_CLOSED: (
        "The hub's pairing window has closed. Power-cycle the hub "
        "(off for 10 seconds, then on) and scan again."
    ),
    ErrorCode.BAND_UNSUPPORTED: (
        "This hub only talks on a radio band this terminal's stick lacks. "
        "Use a terminal with a dual-band stick."
    ),
    ErrorCode.KEY_ESTABLISHMENT_REFUSED: (
        "The hub refused this terminal's credentials. Check it is the right hub; "
        "if it is, call the back office."
    ),
    ErrorCode.LINK_KEY_REJECTED: (
        "The hub ignored this terminal's secured messages: the radio stick is not using "
        "the key agreed with the hub. Unplug the stick, plug it back in and connect "
        "again; if it happens again, use another stick."
    ),
    ErrorCode.JOIN_REFUSED: (
        "The hub did not let this terminal into its network: the install code it holds for "
        "this terminal is not this terminal's. Connect again (the terminal sends its code "
        "again); if it fails again, call the back office."
    ),
    ErrorCode.FRAMES_IGNORED: (
        "The hub hears this terminal but ignores what it sends: its security checks refuse "
        "the radio stick's frames. Connect to the hub again; if it happens again, unplug the "
        "stick, plug it back in and connect, or use another stick."
    ),
    ErrorCode.LINK_LOST: "The radio link dropped. Stay near the hub; the job resumes on reconnect.",
    ErrorCode.NOT_CONNECTED: "Not connected to a hub. Find the hub and connect first.",
    ErrorCode.RADIO_FAULT: "The radio stick is not working. Check it is plugged in.",
    ErrorCode.STICK_UNPLUGGED: (
        "The radio stick was unplugged. Plug it back in: the job carries on by itself."
    ),
}


class RadioError(Exception):
    """A failure talking to a hub, with the code the UI turns into an instruction."""

    def __init__(self, code: ErrorCode, detail: str = "", *, instruction: str = "") -> None:
        self.code = ErrorCode(code)
        self.detail = detail
        self._instruction = instruction
        super().__init__(f"{self.code.value}: {detail or instruction or INSTRUCTIONS[self.code]}")

    @property
    def instruction(self) -> str:
        """What to do, in plain words: the code's, unless the job called for another."""
        return self._instruction or INSTRUCTIONS[self.code]


def normalise_hub_id(hub_id: str) -> str:
    """A hub id as 16 upper-case hex digits (separators dropped); RadioError if it is not one."""
    text = eui_text(hub_id)
    if text is None:
        raise RadioError(ErrorCode.NOT_FOUND, f"{hub_id!r} is not a hub id (16 hex digits)")
    return text


@dataclass(frozen=True)
class Beacon:
    """One PAN coordinator heard in an active scan."""

    channel: int
    pan_id: int
    extended_pan_id: str  # 16 upper-case hex digits: the hub's GPF entity id
    lqi: int  # 0..255
    rssi: int  # dBm
    permit_join: bool
    band: str  # BAND_2_4_GHZ or BAND_868_MHZ
    interpan_open: bool | None = None  # None when the radio cannot tell

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RadioInfo:
    """What the settings page shows about the radio in use."""

    kind: str  # "sim", "ezsp", "deconz"
    description: str
    firmware: str
    bands: frozenset[str] = field(default_factory=lambda: frozenset({BAND_2_4_GHZ}))

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "description": self.description,
            "firmware": self.firmware,
            "bands": sorted(self.bands),
        }


StageCallback = Callable[[ConnectStage], None]


class HubLink(abc.ABC):
    """An open GB-HRGP tunnel to one hub.

    ``put`` hands a GBCS message to the hub for its recipient.  Messages for
    the HHT (responses, alerts) arrive through ``receive``.  ``get`` asks the
    hub for any messages it is holding for the HHT (GB-HRGP GET), which is how
    responses that arrived while the link was down are collected.
    """

    hub_id: str

    @abc.abstractmethod
    async def put(self, message: bytes) -> None:
        """Send one GBCS message through the tunnel; raises RadioError(LINK_LOST)."""

    @abc.abstractmethod
    async def receive(self, timeout: float) -> bytes | None:
        """Next message for the HHT, or None when ``timeout`` seconds pass."""

    @abc.abstractmethod
    async def get(self) -> list[bytes]:
        """Messages the hub holds for the HHT (GB-HRGP GET), oldest first."""

    async def hub_time(self) -> tuple[float, bool] | None:
        """The hub's time (seconds since the epoch) and whether the hub says it is
        synchronised, read from its ZCL Time cluster; None where the link cannot tell."""
        return None

    async def ack(self, message: bytes) -> bool:
        """Tell the link ``message`` is safely stored, so it is not delivered again.

        Until then a message may be delivered again (after a reconnect); the HHT
        stores each distinct message once.
        """
        return True

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the tunnel and leave the HAN."""

    @property
    @abc.abstractmethod
    def is_open(self) -> bool:
        """True while the tunnel is usable."""


class RadioDriver(abc.ABC):
    """One radio: scan for hubs and connect to one."""

    info: RadioInfo

    @abc.abstractmethod
    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        """Beacons heard, strongest first."""

    @abc.abstractmethod
    async def connect(self, hub_id: str, on_stage: StageCallback | None = None) -> HubLink:
        """Run the connection flow to the hub whose extended PAN id is ``hub_id``."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the radio."""

    @property
    def available(self) -> bool:
        """False while the stick is unplugged."""
        return True

    async def reopen(self) -> None:  # noqa: B027 - radios that cannot vanish need nothing
        """Open the stick again after it was unplugged; RadioError(STICK_UNPLUGGED) while it
        is still gone."""

    def record_to(self, capture: Capture | None) -> None:  # noqa: B027 - optional
        """Write every frame from now on into ``capture`` (None: stop)."""

    def capture_keys(self) -> list[bytes]:
        """Keys that open this radio's captures (only a simulated radio tells them)."""
        return []

    def move_to(self, hub_id: str) -> None:  # noqa: B027 - optional for real radios
        """Simulated radios stand at the home of ``hub_id``; a real radio is where it is."""
