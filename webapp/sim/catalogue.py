"""The demo's catalogue of install work: the steps (service requests and their GBCS use
cases), the plans made of them, and the signed commands a device set gets for a plan.

The commands are built and signed by the project's own code playing the DCC's part
(supplier-signed, ACB MAC wrapper with each device's key), so demo data and built packs
exercise exactly the path real work takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from webapp.duis.ids import format_request_id
from webapp.jobs.loading import CommandSpec, DeviceSetSpec, ServiceRequestSpec
from webapp.sim.command_payloads import CommandContext, command_payload
from webapp.sim.dcc import build_command
from webapp.sim.han.scenario import SiteInfo
from webapp.sim.pki import Identity


@dataclass(frozen=True)
class Step:
    service_reference: str
    use_case: str
    message_code: int
    role: str
    title: str
    service_reference_variant: str = ""
    #: the device the command is about when it is not its recipient (CCS01, CCS02, CS04AC)
    subject: str = "esme"

    @property
    def variant(self) -> str:
        return self.service_reference_variant or self.service_reference


CCS01_ESME = Step("8.11", "CCS01", 0x0001, "chf", "Add the electricity meter to the hub")
ECS70 = Step("8.1", "ECS70", 0x0062, "esme", "Set the electricity meter's clock", "8.1.1")
CS03A1 = Step("8.7", "CS03A1", 0x000D, "esme", "Join the in-home display to the meter", "8.7.1")
ECS01A = Step("1.1", "ECS01a", 0x0019, "esme", "Set the import tariff", "1.1.1")
ECS17B = Step("4.1", "ECS17b", 0x0027, "esme", "Read the import energy register", "4.1.1")
ECS52 = Step("11.2", "ECS52", 0x0059, "esme", "Read the meter's firmware version")
CCS01_GSME = Step("8.11", "CCS01", 0x0001, "chf", "Add the gas meter to the hub", subject="gsme")
GCS28 = Step("8.1", "GCS28", 0x007F, "gsme", "Set the gas meter's clock", "8.1.1")
CS03B = Step("8.7", "CS03B", 0x000E, "gsme", "Join the gas meter to the hub's gas proxy", "8.7.2")
GCS01A = Step("1.1", "GCS01a", 0x006B, "gsme", "Set the gas tariff", "1.1.1")
# maintenance visits: replacing a failed device, re-joining the gas meter, a fault report
CCS02_ESME = Step(
    "8.11", "CCS02", 0x0002, "chf", "Remove the failed electricity meter from the hub"
)
CCS02_IHD = Step(
    "8.11", "CCS02", 0x0002, "chf", "Remove the failed in-home display from the hub", subject="ihd"
)
CCS01_IHD = Step(
    "8.11", "CCS01", 0x0001, "chf", "Add the new in-home display to the hub", subject="ihd"
)
CS04AC_IHD = Step(
    "8.8",
    "CS04AC",
    0x000F,
    "esme",
    "Unjoin the failed in-home display from the meter",
    "8.8.2",
    subject="ihd",
)
CS03B_REJOIN = Step("8.7", "CS03B", 0x000E, "gsme", "Re-join the gas meter to the hub", "8.7.2")
ECS35A = Step("6.13", "ECS35a", 0x0048, "esme", "Read the meter's event log")
ECS35B = Step("6.13", "ECS35b", 0x0049, "esme", "Read the meter's security log")

DUAL_FUEL_INSTALL = [CCS01_ESME, ECS70, CS03A1, ECS01A, ECS17B, CCS01_GSME, GCS28, CS03B, GCS01A]
ELECTRICITY_INSTALL = [CCS01_ESME, ECS70, CS03A1, ECS01A, ECS17B, ECS52]
GAS_EXCHANGE = [CCS01_GSME, GCS28, CS03B, GCS01A]
ESME_REPLACEMENT = [CCS02_ESME, CCS01_ESME, ECS70, CS03A1, ECS01A]
IHD_REPLACEMENT = [CS04AC_IHD, CCS02_IHD, CCS01_IHD, CS03A1]
GSME_REJOIN = [CS03B_REJOIN, GCS28]
FAULT_REPORT = [ECS35A, ECS35B]
NO_WAN_TIME = [ECS70, GCS28]
#: What each maintenance plan replaces: role -> the device the installer brings.
REPLACES = {"esme-replacement": ("esme",), "ihd-replacement": ("ihd",)}

# names a work-pack build description may use
STEPS = {
    "CCS02_ESME": CCS02_ESME,
    "CCS01_ESME": CCS01_ESME,
    "ECS70": ECS70,
    "CS03A1": CS03A1,
    "ECS01a": ECS01A,
    "ECS17b": ECS17B,
    "ECS52": ECS52,
    "CCS01_GSME": CCS01_GSME,
    "GCS28": GCS28,
    "CS03B": CS03B,
    "GCS01a": GCS01A,
    "CS04AC_IHD": CS04AC_IHD,
    "CCS02_IHD": CCS02_IHD,
    "CCS01_IHD": CCS01_IHD,
    "CS03B_REJOIN": CS03B_REJOIN,
    "ECS35a": ECS35A,
    "ECS35b": ECS35B,
}
PLANS = {
    "dual-fuel-install": DUAL_FUEL_INSTALL,
    "electricity-install": ELECTRICITY_INSTALL,
    "gas-exchange": GAS_EXCHANGE,
    "esme-replacement": ESME_REPLACEMENT,
    "ihd-replacement": IHD_REPLACEMENT,
    "gsme-rejoin": GSME_REJOIN,
    "fault-report": FAULT_REPORT,
    "no-wan-time": NO_WAN_TIME,
}


def device_set_of(site: SiteInfo) -> dict[str, str]:
    return {
        "hub": site.hub_id,
        "gpf": site.hub_id,
        "chf": site.chf_id,
        "esme": site.esme_id,
        "gsme": site.gsme_id,
        "ihd": site.ihd_id,
    }


class MacKeys(Protocol):
    def device_mac_key(self, eui: str) -> bytes: ...


def service_requests_for(
    han: MacKeys,
    supplier: Identity,
    devices: dict[str, str],
    steps: list[Step] | tuple[Step, ...],
    last_counter: int,
    now: datetime,
    replaced: dict[str, str] | None = None,
) -> tuple[list[ServiceRequestSpec], DeviceSetSpec]:
    """One service request per step, and the device set ``devices`` with each step's command
    built and signed as the DCC would (MAC keys from ``han``); ``replaced`` names, by role,
    the devices a maintenance visit takes out (``devices`` holds their replacements)."""
    srs: list[ServiceRequestSpec] = []
    commands: list[list[CommandSpec]] = []
    for counter, step in enumerate(steps, start=last_counter + 1):
        target = devices[step.role]
        context = CommandContext(
            now, counter, supplier.eui_hex.upper(), target, devices, dict(replaced or {})
        )
        payload = command_payload(step.use_case, context, step.subject)
        raw = build_command(
            han,  # type: ignore[arg-type]
            supplier_identity=supplier,
            device_eui=target,
            counter=counter,
            message_code=step.message_code,
            payload=payload,
            sign=True,
        )
        srs.append(
            ServiceRequestSpec(
                service_reference=step.service_reference,
                use_case=step.use_case,
                title=step.title,
                command_variant=2,
                service_reference_variant=step.variant,
            )
        )
        request_id = format_request_id(supplier.eui_hex.upper(), target, counter)
        commands.append([CommandSpec(raw, request_id)])
    return srs, DeviceSetSpec(devices=devices, commands=commands)
