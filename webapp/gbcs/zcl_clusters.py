"""Names and payload layouts of the Smart Energy ZCL clusters GBCS uses.

A command's payload is described by a tuple of :class:`Field` and :class:`Repeat` items.
Field kinds: ``u8 u16 u24 u32 u48 i32 enum8 enum16 map8 map16 map32 utc date octstr utrn
minutes bytes7 rest``. Fields marked ``sensitive`` are withheld from views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from .records import record
from .zcl_ids import (
    CLUSTER_BASIC,
    CLUSTER_CALENDAR,
    CLUSTER_DEVICE_MANAGEMENT,
    CLUSTER_EVENTS,
    CLUSTER_MESSAGING,
    CLUSTER_METERING,
    CLUSTER_OTA,
    CLUSTER_PREPAYMENT,
    CLUSTER_PRICE,
    CLUSTER_TIME,
    CMD_DEFAULT_RESPONSE,
    CMD_READ_ATTRIBUTES,
    CMD_READ_ATTRIBUTES_RESPONSE,
    CMD_WRITE_ATTRIBUTES,
    CMD_WRITE_ATTRIBUTES_RESPONSE,
)

FOUNDATION_COMMANDS = {
    CMD_READ_ATTRIBUTES: "Read Attributes",
    CMD_READ_ATTRIBUTES_RESPONSE: "Read Attributes Response",
    CMD_WRITE_ATTRIBUTES: "Write Attributes",
    CMD_WRITE_ATTRIBUTES_RESPONSE: "Write Attributes Response",
    0x06: "Configure Reporting",
    0x0A: "Report Attributes",
    CMD_DEFAULT_RESPONSE: "Default Response",
    0x0C: "Discover Attributes",
    0x0D: "Discover Attributes Response",
}

CALENDAR_TYPES = {
    0x00: "Delivered Calendar",
    0x01: "Received Calendar",
    0x02: "Delivered and Received Calendar",
    0x03: "Friendly Credit Calendar",
    0x04: "Auxiliary Load Switch Calendar",
}
LOG_IDS = {
    0x00: "All logs",
    0x01: "Tamper Log",
    0x02: "Fault Log",
    0x03: "General Event Log",
    0x04: "Security Event Log",
    0x05: "Network Event Log",
}
CURRENCIES = {826: "GBP", 978: "EUR"}
UNITS = {0x00: "kWh", 0x01: "m3", 0x02: "ft3", 0x03: "ccf"}
TOP_UP_RESULTS = {
    0x00: "Accepted",
    0x01: "Rejected - Invalid Top Up",
    0x02: "Rejected - Duplicate Top Up",
    0x03: "Rejected - Error",
    0x04: "Rejected - Max Credit Reached",
    0x05: "Rejected - Keypad Lock",
    0x06: "Rejected - Top Up Value Too Large",
}
ORIGINATING_DEVICES = {0x00: "Energy Service Interface", 0x01: "Meter", 0x02: "In-Home Display"}


@record
class Field:
    name: str
    kind: str
    sensitive: bool = False
    values: Mapping[int, str] | None = None


@record
class Repeat:
    """Fields repeated ``count_from`` times (a previous field's value), else to the end."""

    label: str
    fields: tuple[Field, ...]
    count_from: str | None = None
    count_mask: int = 0xFFFFFFFF


@record
class Command:
    name: str
    fields: tuple[Field | Repeat, ...] = ()


@record
class Cluster:
    name: str
    attributes: Mapping[int, str] = field(default_factory=dict)
    client_commands: Mapping[int, Command] = field(default_factory=dict)
    server_commands: Mapping[int, Command] = field(default_factory=dict)


def F(name: str, kind: str, **kwargs: object) -> Field:  # noqa: N802 - table shorthand
    return Field(name, kind, **kwargs)  # type: ignore[arg-type]


PROVIDER = F("Provider Id", "u32")
ISSUER_EVENT = F("Issuer Event Id", "u32")
CALENDAR_ID = F("Issuer Calendar Id", "u32")
CALENDAR_TYPE = F("Calendar Type", "enum8", values=CALENDAR_TYPES)
COMMAND_INDEX = F("Command Index", "u8")
TOTAL_COMMANDS = F("Number of Commands", "u8")

BASIC = Cluster(
    "Basic",
    attributes={
        0x0000: "ZCL Version",
        0x0001: "Application Version",
        0x0002: "Stack Version",
        0x0003: "HW Version",
        0x0004: "Manufacturer Name",
        0x0005: "Model Identifier",
        0x0006: "Date Code",
        0x0007: "Power Source",
    },
)

TIME = Cluster(
    "Time",
    attributes={
        0x0000: "Time",
        0x0001: "Time Status",
        0x0002: "Time Zone",
        0x0003: "DST Start",
        0x0004: "DST End",
        0x0005: "DST Shift",
        0x0006: "Standard Time",
        0x0007: "Local Time",
    },
)

OTA = Cluster(
    "OTA Upgrade",
    attributes={
        0x0000: "Upgrade Server ID",
        0x0002: "Current File Version",
        0x0006: "Image Upgrade Status",
        0x0007: "Manufacturer ID",
        0x0008: "Image Type ID",
    },
)

PRICE = Cluster(
    "Price",
    attributes={
        **{0x0100 + i: f"Block {i + 1} Threshold" for i in range(15)},
        0x0200: "Start of Block Period",
        0x0201: "Block Period Duration",
        0x0202: "Threshold Multiplier",
        0x0203: "Threshold Divisor",
        0x0301: "Standing Charge",
        0x0302: "Conversion Factor",
        0x0303: "Conversion Factor Trailing Digit",
        0x0304: "Calorific Value",
        0x0305: "Calorific Value Unit",
        0x0306: "Calorific Value Trailing Digit",
        **{0x0400 + i: f"No Tier Block {i + 1} Price" for i in range(16)},
        **{
            0x0410 + 16 * t + b: f"Tier {t + 1} Block {b + 1} Price"
            for t in range(4)
            for b in range(16)
        },
        0x0615: "Unit of Measure",
        0x0616: "Currency",
        0x0617: "Price Trailing Digit",
    },
    client_commands={
        0x00: Command("Get Current Price", (F("Command Options", "map8"),)),
        0x0B: Command(
            "Get Billing Period",
            (
                F("Earliest Start Time", "utc"),
                F("Minimum Issuer Event Id", "u32"),
                F("Number of Commands", "u8"),
                F("Tariff Type", "map8"),
            ),
        ),
    },
    server_commands={
        0x00: Command(
            "Publish Price",
            (
                PROVIDER,
                F("Rate Label", "octstr"),
                ISSUER_EVENT,
                F("Current Time", "utc"),
                F("Unit of Measure", "enum8", values=UNITS),
                F("Currency", "u16", values=CURRENCIES),
                F("Price Trailing Digit and Price Tier", "map8"),
                F("Number of Price Tiers and Register Tier", "map8"),
                F("Start Time", "utc"),
                F("Duration in Minutes", "u16"),
                F("Price", "u32"),
                F("Remainder", "rest"),
            ),
        ),
        0x01: Command(
            "Publish Block Period",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Block Period Start Time", "utc"),
                F("Block Period Duration", "u24"),
                F("Block Period Control", "map8"),
                F("Block Period Duration Type", "map8"),
                F("Tariff Type", "map8"),
                F("Tariff Resolution Period", "enum8"),
            ),
        ),
        0x02: Command(
            "Publish Conversion Factor",
            (
                ISSUER_EVENT,
                F("Start Time", "utc"),
                F("Conversion Factor", "u32"),
                F("Conversion Factor Trailing Digit", "map8"),
            ),
        ),
        0x03: Command(
            "Publish Calorific Value",
            (
                ISSUER_EVENT,
                F("Start Time", "utc"),
                F("Calorific Value", "u32"),
                F("Calorific Value Unit", "enum8"),
                F("Calorific Value Trailing Digit", "map8"),
            ),
        ),
        0x04: Command(
            "Publish Tariff Information",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Issuer Tariff Id", "u32"),
                F("Start Time", "utc"),
                F(
                    "Tariff Type / Charging Scheme",
                    "map8",
                    values={0x00: "TOU Tariff", 0x10: "Block Tariff"},
                ),
                F("Tariff Label", "octstr"),
                F("Number of Price Tiers in Use", "u8"),
                F("Number of Block Thresholds in Use", "u8"),
                F("Unit of Measure", "enum8", values=UNITS),
                F("Currency", "u16", values=CURRENCIES),
                F("Price Trailing Digit", "map8"),
                F("Standing Charge", "u32"),
                F("Tier Block Mode", "u8"),
                F("Block Threshold Multiplier", "u24"),
                F("Block Threshold Divisor", "u24"),
            ),
        ),
        0x05: Command(
            "Publish Price Matrix",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Start Time", "utc"),
                F("Issuer Tariff Id", "u32"),
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                F("Sub-payload Control", "map8", values={0: "Block or Block/TOU", 1: "TOU"}),
                Repeat("Price", (F("Tier / Block Id", "u8"), F("Price", "u32"))),
            ),
        ),
        0x06: Command(
            "Publish Block Thresholds",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Start Time", "utc"),
                F("Issuer Tariff Id", "u32"),
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                F("Sub-payload Control", "map8"),
                F("Tier / Number of Block Thresholds", "u8"),
                Repeat(
                    "Block Threshold",
                    (F("Threshold", "u48"),),
                    count_from="Tier / Number of Block Thresholds",
                    count_mask=0x0F,
                ),
                F("Remainder", "rest"),
            ),
        ),
        0x09: Command(
            "Publish Billing Period",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Billing Period Start Time", "utc"),
                F("Billing Period Duration", "u24"),
                F("Billing Period Duration Type", "map8"),
                F("Tariff Type", "map8"),
            ),
        ),
    },
)

METERING = Cluster(
    "Metering",
    attributes={
        0x0000: "Current Summation Delivered",
        0x0001: "Current Summation Received",
        0x0014: "Supply Status",
        **{0x0100 + 2 * i: f"Current Tier {i + 1} Summation Delivered" for i in range(4)},
        0x0200: "Status",
        0x0205: "Remaining Battery Life in Days",
        0x0206: "Current Meter Id",
        0x0300: "Unit of Measure",
        0x0301: "Multiplier",
        0x0302: "Divisor",
        0x0303: "Summation Formatting",
        0x0306: "Metering Device Type",
        0x0307: "Site Id",
        0x0308: "Meter Serial Number",
        0x0400: "Instantaneous Demand",
        0x0607: "Supply Tamper State",
        0x0608: "Supply Depletion State",
        **{0x0700 + i: f"Current No Tier Block {i + 1} Summation Delivered" for i in range(4)},
        0x0A00: "Bill to Date Delivered",
        0x0B10: "Uncontrolled Flow Threshold",
        0x0B11: "Uncontrolled Flow Threshold Unit of Measure",
        0x0B12: "Uncontrolled Flow Multiplier",
        0x0B13: "Uncontrolled Flow Divisor",
        0x0B14: "Flow Stabilisation Period",
        0x0B15: "Flow Measurement Period",
    },
    client_commands={
        0x06: Command(
            "Get Snapshot",
            (
                F("Earliest Start Time", "utc"),
                F("Latest End Time", "utc"),
                F("Snapshot Offset", "u8"),
                F("Snapshot Cause", "map32"),
            ),
        ),
        0x07: Command(
            "Start Sampling",
            (
                ISSUER_EVENT,
                F("Start Sampling Time", "utc"),
                F("Sample Type", "enum8"),
                F("Sample Request Interval", "u16"),
                F("Max Number of Samples", "u16"),
            ),
        ),
        0x08: Command(
            "Get Sampled Data",
            (
                F("Sample Id", "u16"),
                F("Earliest Sample Time", "utc"),
                F("Sample Type", "enum8"),
                F("Number of Samples", "u16"),
            ),
        ),
        0x0B: Command(
            "Change Supply",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Request Date Time", "utc"),
                F("Implementation Date Time", "utc"),
                F("Proposed Supply Status", "enum8"),
                F("Supply Control Bits", "map8"),
            ),
        ),
        0x0D: Command(
            "Set Supply Status",
            (
                ISSUER_EVENT,
                F("Supply Tamper State", "enum8"),
                F("Supply Depletion State", "enum8"),
                F("Supply Uncontrolled Flow State", "enum8"),
                F("Load Limit Supply State", "enum8"),
            ),
        ),
        0x0E: Command(
            "Set Uncontrolled Flow Threshold",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Uncontrolled Flow Threshold", "u16"),
                F("Unit of Measure", "enum8", values=UNITS),
                F("Multiplier", "u16"),
                F("Divisor", "u16"),
                F("Stabilisation Period", "u8"),
                F("Measurement Period", "u16"),
            ),
        ),
    },
    server_commands={
        0x06: Command(
            "Publish Snapshot",
            (
                F("Snapshot Id", "u32"),
                F("Snapshot Time", "utc"),
                F("Total Snapshots Found", "u8"),
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                F("Snapshot Cause", "map32"),
                F("Snapshot Payload Type", "enum8"),
                F("Snapshot Sub-payload", "rest"),
            ),
        ),
        0x07: Command(
            "Get Sampled Data Response",
            (
                F("Sample Id", "u16"),
                F("Sample Start Time", "utc"),
                F("Sample Type", "enum8"),
                F("Sample Request Interval", "u16"),
                F("Number of Samples", "u16"),
                Repeat("Sample", (F("Value", "u24"),), count_from="Number of Samples"),
            ),
        ),
        0x0C: Command(
            "Supply Status Response",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Implementation Date Time", "utc"),
                F("Supply Status", "enum8"),
            ),
        ),
        0x0D: Command("Start Sampling Response", (F("Sample Id", "u16"),)),
    },
)

MESSAGING = Cluster(
    "Messaging",
    client_commands={
        0x01: Command(
            "Message Confirmation",
            (F("Message Id", "u32"), F("Confirmation Time", "utc"), F("Remainder", "rest")),
        ),
    },
    server_commands={
        0x00: Command(
            "Display Message",
            (
                F("Message Id", "u32"),
                F("Message Control", "map8"),
                F("Start Time", "utc"),
                F("Duration in Minutes", "u16"),
                F("Message", "octstr"),
                F("Extended Message Control", "rest"),
            ),
        ),
        0x01: Command("Cancel Message", (F("Message Id", "u32"), F("Message Control", "map8"))),
    },
)

PREPAYMENT = Cluster(
    "Prepayment",
    attributes={
        0x0000: "Payment Control Configuration",
        0x0001: "Credit Remaining",
        0x0002: "Emergency Credit Remaining",
        0x0003: "Credit Status",
        0x0005: "Accumulated Debt",
        0x0006: "Overall Debt Cap",
        0x0010: "Emergency Credit Limit",
        0x0011: "Emergency Credit Threshold",
        0x0021: "Max Credit Limit",
        0x0022: "Max Credit Per Top Up",
        0x0031: "Low Credit Warning Level",
        0x0040: "Cut Off Value",
        0x0211: "Debt Amount 1",
        0x0216: "Debt Recovery Frequency 1",
        0x0217: "Debt Recovery Amount 1",
        0x0221: "Debt Amount 2",
        0x0226: "Debt Recovery Frequency 2",
        0x0227: "Debt Recovery Amount 2",
        0x0231: "Debt Amount 3",
        0x0239: "Debt Recovery Top Up Percentage 3",
    },
    client_commands={
        0x00: Command(
            "Select Available Emergency Credit",
            (
                F("Command Issue Date Time", "utc"),
                F("Originating Device", "enum8", values=ORIGINATING_DEVICES),
            ),
        ),
        0x02: Command(
            "Change Debt",
            (
                ISSUER_EVENT,
                F("Debt Label", "octstr"),
                F("Debt Amount", "i32"),
                F("Debt Recovery Method", "enum8", values={0: "Time based", 1: "Payment based"}),
                F("Debt Amount Type", "enum8"),
                F("Debt Recovery Start Time", "utc"),
                F("Debt Recovery Collection Time", "u16"),
                F("Debt Recovery Frequency", "enum8", values={0: "Hourly", 1: "Daily"}),
                F("Debt Recovery Amount", "i32"),
                F("Debt Recovery Balance Percentage", "u16"),
            ),
        ),
        0x03: Command(
            "Emergency Credit Setup",
            (
                ISSUER_EVENT,
                F("Start Time", "utc"),
                F("Emergency Credit Limit", "u32"),
                F("Emergency Credit Threshold", "u32"),
            ),
        ),
        0x04: Command(
            "Consumer Top Up",
            (
                F("Originating Device", "enum8", values=ORIGINATING_DEVICES),
                F("Top Up Code (UTRN)", "utrn", sensitive=True),
            ),
        ),
        0x05: Command(
            "Credit Adjustment",
            (
                ISSUER_EVENT,
                F("Start Time", "utc"),
                F("Credit Adjustment Type", "enum8"),
                F("Credit Adjustment Value", "i32"),
            ),
        ),
        0x06: Command(
            "Change Payment Mode",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Implementation Date Time", "utc"),
                F("Proposed Payment Control Configuration", "map16"),
                F("Cut Off Value", "i32"),
            ),
        ),
        0x07: Command(
            "Get Prepay Snapshot",
            (
                F("Earliest Start Time", "utc"),
                F("Latest End Time", "utc"),
                F("Snapshot Offset", "u8"),
                F("Snapshot Cause", "map32"),
            ),
        ),
        0x08: Command(
            "Get Top Up Log", (F("Latest End Time", "utc"), F("Number of Records", "u8"))
        ),
        0x09: Command("Set Low Credit Warning Level", (F("Low Credit Warning Level", "u32"),)),
        0x0A: Command(
            "Get Debt Repayment Log",
            (F("Latest End Time", "utc"), F("Number of Debts", "u8"), F("Debt Type", "enum8")),
        ),
        0x0B: Command(
            "Set Maximum Credit Limit",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Implementation Date Time", "utc"),
                F("Maximum Credit Level", "u32"),
                F("Maximum Credit Per Top Up", "u32"),
            ),
        ),
        0x0C: Command(
            "Set Overall Debt Cap",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Implementation Date Time", "utc"),
                F("Overall Debt Cap", "i32"),
            ),
        ),
    },
    server_commands={
        0x01: Command(
            "Publish Prepay Snapshot",
            (
                F("Snapshot Id", "u32"),
                F("Snapshot Time", "utc"),
                F("Total Snapshots Found", "u8"),
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                F("Snapshot Cause", "map32"),
                F("Snapshot Payload Type", "enum8"),
                F("Snapshot Sub-payload", "rest"),
            ),
        ),
        0x02: Command(
            "Change Payment Mode Response",
            (
                F("Friendly Credit", "map8"),
                F("Friendly Credit Calendar Id", "u32"),
                F("Emergency Credit Limit", "u32"),
                F("Emergency Credit Threshold", "u32"),
            ),
        ),
        0x03: Command(
            "Consumer Top Up Response",
            (
                F("Result Type", "enum8", values=TOP_UP_RESULTS),
                F("Top Up Value", "i32", sensitive=True),
                F("Source of Top Up", "enum8", values=ORIGINATING_DEVICES),
                F("Credit Remaining", "i32"),
            ),
        ),
        0x05: Command(
            "Publish Top Up Log",
            (
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                Repeat(
                    "Top Up",
                    (
                        F("Top Up Code (UTRN)", "utrn", sensitive=True),
                        F("Top Up Amount", "i32", sensitive=True),
                        F("Top Up Time", "utc"),
                    ),
                ),
            ),
        ),
        0x06: Command(
            "Publish Debt Log",
            (
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                Repeat(
                    "Debt Collection",
                    (
                        F("Collection Time", "utc"),
                        F("Amount Collected", "u32"),
                        F("Debt Type", "enum8"),
                        F("Outstanding Debt", "u32"),
                    ),
                ),
            ),
        ),
    },
)

CALENDAR = Cluster(
    "Calendar",
    client_commands={
        0x00: Command(
            "Get Calendar",
            (
                F("Earliest Start Time", "utc"),
                F("Minimum Issuer Event Id", "u32"),
                F("Number of Calendars", "u8"),
                CALENDAR_TYPE,
                PROVIDER,
            ),
        ),
        0x01: Command(
            "Get Day Profiles",
            (PROVIDER, CALENDAR_ID, F("Start Day Id", "u8"), F("Number of Days", "u8")),
        ),
        0x02: Command(
            "Get Week Profiles",
            (PROVIDER, CALENDAR_ID, F("Start Week Id", "u8"), F("Number of Weeks", "u8")),
        ),
        0x03: Command("Get Seasons", (PROVIDER, CALENDAR_ID)),
        0x04: Command(
            "Get Special Days",
            (
                F("Start Time", "utc"),
                F("Number of Events", "u8"),
                CALENDAR_TYPE,
                PROVIDER,
                CALENDAR_ID,
            ),
        ),
    },
    server_commands={
        0x00: Command(
            "Publish Calendar",
            (
                PROVIDER,
                ISSUER_EVENT,
                CALENDAR_ID,
                F("Start Time", "utc"),
                CALENDAR_TYPE,
                F("Calendar Time Reference", "u8"),
                F("Calendar Name", "octstr"),
                F("Number of Seasons", "u8"),
                F("Number of Week Profiles", "u8"),
                F("Number of Day Profiles", "u8"),
            ),
        ),
        0x01: Command(
            "Publish Day Profile",
            (
                PROVIDER,
                ISSUER_EVENT,
                CALENDAR_ID,
                F("Day Id", "u8"),
                F("Number of Schedule Entries", "u8"),
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                CALENDAR_TYPE,
                Repeat(
                    "Schedule Entry",
                    (F("Start Time", "minutes"), F("Price Tier / Friendly Credit", "u8")),
                    count_from="Number of Schedule Entries",
                ),
            ),
        ),
        0x02: Command(
            "Publish Week Profile",
            (
                PROVIDER,
                ISSUER_EVENT,
                CALENDAR_ID,
                F("Week Id", "u8"),
                F("Day Id Refs (Monday to Sunday)", "bytes7"),
            ),
        ),
        0x03: Command(
            "Publish Seasons",
            (
                PROVIDER,
                ISSUER_EVENT,
                CALENDAR_ID,
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                Repeat("Season", (F("Season Start Date", "date"), F("Week Id Ref", "u8"))),
            ),
        ),
        0x04: Command(
            "Publish Special Days",
            (
                PROVIDER,
                ISSUER_EVENT,
                CALENDAR_ID,
                F("Start Time", "utc"),
                CALENDAR_TYPE,
                F("Number of Special Days", "u8"),
                COMMAND_INDEX,
                TOTAL_COMMANDS,
                Repeat(
                    "Special Day",
                    (F("Date", "date"), F("Day Id Ref", "u8")),
                    count_from="Number of Special Days",
                ),
            ),
        ),
    },
)

DEVICE_MANAGEMENT = Cluster(
    "Device Management",
    client_commands={
        0x04: Command(
            "Report Event Configuration",
            (
                COMMAND_INDEX,
                F("Total Commands", "u8"),
                Repeat("Event", (F("Event Id", "u16"), F("Event Configuration", "map8"))),
            ),
        ),
    },
    server_commands={
        0x00: Command(
            "Publish Change of Tenancy",
            (
                PROVIDER,
                ISSUER_EVENT,
                F("Tariff Type", "map8"),
                F("Implementation Date Time", "utc"),
                F("Proposed Tenancy Change Control", "map32"),
            ),
        ),
        0x01: Command(
            "Publish Change of Supplier",
            (
                F("Current Provider Id", "u32"),
                ISSUER_EVENT,
                F("Tariff Type", "map8"),
                F("Proposed Provider Id", "u32"),
                F("Provider Change Implementation Time", "utc"),
                F("Provider Change Control", "map32"),
                F("Proposed Provider Name", "octstr"),
                F("Proposed Provider Contact Details", "octstr"),
            ),
        ),
        0x02: Command(
            "Request New Password Response",
            (
                ISSUER_EVENT,
                F("Implementation Date Time", "utc"),
                F("Duration in Minutes", "u16"),
                F("Password Type", "enum8"),
                F("Password", "octstr", sensitive=True),
            ),
        ),
        0x03: Command(
            "Update Site Id",
            (ISSUER_EVENT, F("Site Id Time", "utc"), PROVIDER, F("Site Id", "octstr")),
        ),
        0x04: Command(
            "Set Event Configuration",
            (
                ISSUER_EVENT,
                F("Start Date Time", "utc"),
                F("Event Configuration", "map8"),
                F("Configuration Control", "enum8"),
                F("Number of Events", "u8"),
                Repeat("Event", (F("Event Id", "u16"),), count_from="Number of Events"),
            ),
        ),
        0x05: Command("Get Event Configuration", (F("Event Id", "u16"),)),
        0x06: Command(
            "Update CIN",
            (
                ISSUER_EVENT,
                F("CIN Implementation Time", "utc"),
                PROVIDER,
                F("Customer Id Number", "octstr"),
            ),
        ),
    },
)

EVENTS = Cluster(
    "Events",
    client_commands={
        0x00: Command(
            "Get Event Log",
            (
                F("Event Control / Log Id", "map8"),
                F("Event Id", "u16"),
                F("Start Time", "utc"),
                F("End Time", "utc"),
                F("Number of Events", "u8"),
                F("Event Offset", "u16"),
            ),
        ),
        0x01: Command("Clear Event Log Request", (F("Log Id", "map8", values=LOG_IDS),)),
    },
    server_commands={
        0x01: Command(
            "Publish Event Log",
            (
                F("Total Number of Matching Events", "u16"),
                COMMAND_INDEX,
                F("Total Commands", "u8"),
                F("Log Payload Control", "map8"),
                Repeat(
                    "Event",
                    (
                        F("Log Id", "enum8", values=LOG_IDS),
                        F("Event Id", "u16"),
                        F("Event Time", "utc"),
                        F("Event Data", "octstr"),
                    ),
                ),
            ),
        ),
        0x02: Command("Clear Event Log Response", (F("Cleared Event Logs", "map8"),)),
    },
)

CLUSTERS: dict[int, Cluster] = {
    CLUSTER_BASIC: BASIC,
    CLUSTER_TIME: TIME,
    CLUSTER_OTA: OTA,
    CLUSTER_PRICE: PRICE,
    CLUSTER_METERING: METERING,
    CLUSTER_MESSAGING: MESSAGING,
    CLUSTER_PREPAYMENT: PREPAYMENT,
    CLUSTER_CALENDAR: CALENDAR,
    CLUSTER_DEVICE_MANAGEMENT: DEVICE_MANAGEMENT,
    CLUSTER_EVENTS: EVENTS,
}


def cluster_name(cluster_id: int) -> str:
    cluster = CLUSTERS.get(cluster_id)
    return cluster.name if cluster else f"cluster 0x{cluster_id:04X}"


def attribute_name(cluster_id: int, attribute_id: int) -> str | None:
    cluster = CLUSTERS.get(cluster_id)
    return cluster.attributes.get(attribute_id) if cluster else None


def cluster_command(cluster_id: int, command_id: int, server_to_client: bool) -> Command | None:
    cluster = CLUSTERS.get(cluster_id)
    if cluster is None:
        return None
    table = cluster.server_commands if server_to_client else cluster.client_commands
    return table.get(command_id)
