"""The payloads of the demo's commands, shaped as GBCS lays out each use case.

Each builder returns the payload the DCC would put in the command for its use case, made
with the codec's own builders: DLMS COSEM Access-Requests for the hub's device log (CCS01,
CCS02) and the electricity meter (ECS70, ECS01a, ECS17b, ECS52, and the event and security
log reads ECS35a and ECS35b), GBZ Calendar and Price cluster commands for the gas tariff
(GCS01a), and ASN.1 for the joins (CS03A1, CS03B), the unjoin (CS04AC) and the gas meter's
clock (GCS28). The values are the demo's own (its tariffs, times and device ids).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from webapp.gbcs import der_build as der
from webapp.gbcs import dlms_build as dlms
from webapp.gbcs.datetimes import encode_zcl_time
from webapp.gbcs.gbz import GbzComponent, build_gbz
from webapp.gbcs.zcl_build import cluster_component
from webapp.gbcs.zcl_ids import CLUSTER_CALENDAR, CLUSTER_PRICE

log = logging.getLogger(__name__)

# COSEM interface classes
CLASS_DATA = 1
CLASS_REGISTER = 3
CLASS_CLOCK = 8
CLASS_ACTIVITY_CALENDAR = 20
CLASS_DATA_PROTECTION = 30
CLASS_ZIGBEE_NETWORK_CONTROL = 104
CLASS_CHARGE = 113
CLASS_GBCS_EXTENDED_DATA = 9000

# COSEM instances (OBIS)
CLOCK = "0-0:1.0.0.255"
DEVICE_LOG = "0-0:30.3.0.255"
TARIFF_SWITCHING_TABLE = "0-0:13.0.0.255"
TARIFF_SWITCHING_SPECIAL_DAYS = "0-0:94.44.128.29"
TARIFF_SCRIPT_TABLE = "0-0:10.0.100.255"
STANDING_CHARGE = "0-0:19.20.4.255"
PRICE_MATRIX_TOU = "0-0:19.20.0.255"
ACTIVE_IMPORT_REGISTER = "1-0:1.8.0.255"
IMPORT_REGISTER_COLLECTION = "0-0:43.2.8.255"
IMPORT_ENERGY_VALUE = "0-0:94.44.34.10"
FIRMWARE_VERSION = "0-0:0.2.1.255"

# Profile Generic: the meter's event and security logs (ECS35a, ECS35b)
CLASS_PROFILE_GENERIC = 7
EVENT_LOG = "0-0:99.98.0.255"
SECURITY_LOG = "0-0:99.98.1.255"
BUFFER = 2
BY_RANGE = 1  # access selector: entries whose restricting column lies in a range
#: The restricting column of the logs' range: the UTC time of each entry (ZCL seconds).
LOG_TIME_OBJECT = "0-0:94.44.100.255"
#: How far back a fault report reads the logs.
LOG_READ_SPAN = timedelta(days=7)

# Clock attributes and methods
CLOCK_TIME = 2
CLOCK_STATUS = 4
CLOCK_BASE = 9
ADJUST_TO_PRESET_TIME = 4
PRESET_ADJUSTING_TIME = 5
CLOCK_BASE_RADIO = 5
# ZigBee Network Control
REGISTER_DEVICE = 1
UNREGISTER_DEVICE = 2
ENABLE_DISABLE_JOINING = 2
JOIN_TIMEOUT = 3
JOIN_TIMEOUT_SECONDS = 90
INSTALL_CODE_LENGTH = 16
#: Device types in a CHF device log entry.
CHF_DEVICE_TYPES = {"esme": 1, "gsme": 0, "ihd": 6}  # an IHD is a Type 2 device
# Activity Calendar and GBCS Extended Data attributes
SEASON_PROFILE_PASSIVE = 7
WEEK_PROFILE_TABLE_PASSIVE = 8
DAY_PROFILE_TABLE_PASSIVE = 9
ACTIVATE_PASSIVE_CALENDAR_TIME = 10
VALUE_PASSIVE = 4
ACTIVATE_PASSIVE_VALUE_TIME = 6
# Charge attributes
UNIT_CHARGE_PASSIVE = 6
UNIT_CHARGE_ACTIVATION_TIME = 7
PRICE_SCALE = -4  # DLMS prices in units of 10^-4 GBP
COMMODITY_SCALE = 0
REGISTER_VALUE = 2
# Data Protection
GET_PROTECTED_ATTRIBUTES = 1
PROTECTION_AUTHENTICATED_ENCRYPTED = 2
KEY_INFO_AGREED_KEY = 2
AGREED_KEY_PARAMETERS = b"\x02"
PROTECTED_TRANSACTION_TAG = 0x04
DATA_VALUE = 2
# ASN.1 Join Device Command
METHOD_A_INITIATOR = 0
METHOD_B = 2
DEVICE_TYPE_GPF = 3
DEVICE_TYPE_PPMID = 5
#: The validity window a clock command carries from the moment it is built.
CLOCK_VALIDITY = timedelta(hours=24)

# The demo's tariffs: electricity in 10^-4 GBP (2735 is 27.35p per kWh), gas in 10^-5 GBP
SEASON_START = (1, 1)  # every year from 1 January
NIGHT_TIER, DAY_TIER = 1, 2
NIGHT_STARTS, DAY_STARTS = (0, 0), (7, 0)
ELECTRICITY_PRICES = {NIGHT_TIER: 1_423, DAY_TIER: 2_735}
ELECTRICITY_STANDING_CHARGE = 5_335  # per day
GAS_TIER = 1
GAS_PRICE = 6_240
GAS_STANDING_CHARGE = 31_430  # per day
GBP = 826
PRICE_TRAILING_DIGIT = 0x50  # five digits after the point
ZCL_TOU_TARIFF = 0x00
ZCL_PRICE_TOU = 0x01
UNIT_KWH = 0
TIER_BLOCK_MODE_NONE = 0xFF
BLOCK_THRESHOLD_MULTIPLIER, BLOCK_THRESHOLD_DIVISOR = 1, 1000
PROVIDER_ID = 1
#: Fixed holidays every year (month, day): the tariff's special days, priced as weekends.
SPECIAL_DAYS = ((1, 1), (12, 25), (12, 26))
WEEKDAY_PROFILE, WEEKEND_PROFILE = 1, 2
WEEK_ID = 1
SEASON_ID = 1


@dataclass(frozen=True)
class CommandContext:
    """What a command's payload is made of besides the use case."""

    when: datetime
    counter: int
    originator: str  # the supplier's EUI-64, hex
    recipient: str  # the device's EUI-64, hex
    devices: dict[str, str]  # role -> EUI-64 hex
    #: role -> the EUI-64 of the device a maintenance visit replaces (CCS02 and CS04AC name it)
    replaced: dict[str, str] = field(default_factory=dict)

    def old(self, role: str) -> str:
        """The device being replaced in ``role``, else the one there now."""
        return self.replaced.get(role) or self.devices[role]


def _invoke(ctx: CommandContext) -> int:
    return dlms.invoke_id(ctx.counter)


# --- CCS01: add a device to the CHF device log --------------------------------------------


def install_code(eui: str) -> bytes:
    """The demo's installation code of a device (its label would carry it)."""
    return hashlib.sha256(f"hht-demo-install-code:{eui}".encode()).digest()[:INSTALL_CODE_LENGTH]


def add_to_device_log(ctx: CommandContext, role: str) -> bytes:
    """CCS01: register the device with its install code, then open joining for a while."""
    device = ctx.devices[role]
    entry = dlms.structure(
        dlms.octet_string(bytes.fromhex(device)),
        dlms.enum(CHF_DEVICE_TYPES[role]),
        dlms.octet_string(install_code(device)),
        dlms.enum(0),  # no restriction on the device's join
    )
    return dlms.access_request(
        _invoke(ctx),
        [
            (dlms.call_method(CLASS_ZIGBEE_NETWORK_CONTROL, DEVICE_LOG, REGISTER_DEVICE), entry),
            (
                dlms.set_attribute(CLASS_ZIGBEE_NETWORK_CONTROL, DEVICE_LOG, JOIN_TIMEOUT),
                dlms.long_unsigned(JOIN_TIMEOUT_SECONDS),
            ),
            (
                dlms.set_attribute(
                    CLASS_ZIGBEE_NETWORK_CONTROL, DEVICE_LOG, ENABLE_DISABLE_JOINING
                ),
                dlms.boolean(True),
            ),
        ],
    )


# --- CCS02: remove a device from the CHF device log ----------------------------------------


def remove_from_device_log(ctx: CommandContext, role: str) -> bytes:
    """CCS02: the CHF's unregister_device, called with the EUI of the device taken out.

    RTDS 4.5.0 has no CCS02 message: this is the ZigBee Network Control object's
    unregister_device method (COSEM class 104, method 2) as this project reads GBCS."""
    target = dlms.call_method(CLASS_ZIGBEE_NETWORK_CONTROL, DEVICE_LOG, UNREGISTER_DEVICE)
    return dlms.access_request(
        _invoke(ctx), [(target, dlms.octet_string(bytes.fromhex(ctx.old(role))))]
    )


# --- ECS70: set the electricity meter's clock -----------------------------------------------


def set_esme_clock(ctx: CommandContext) -> bytes:
    """ECS70: set the clock base, preset the time within a validity window, adjust to it,
    and read back the time and the clock status."""
    preset = dlms.structure(
        dlms.date_time(None),  # the preset time: the meter takes its own reliable time
        dlms.date_time(ctx.when),  # validity interval start
        dlms.date_time(ctx.when + CLOCK_VALIDITY),  # validity interval end
    )
    return dlms.access_request(
        _invoke(ctx),
        [
            (dlms.set_attribute(CLASS_CLOCK, CLOCK, CLOCK_BASE), dlms.enum(CLOCK_BASE_RADIO)),
            (dlms.call_method(CLASS_CLOCK, CLOCK, PRESET_ADJUSTING_TIME), preset),
            (dlms.call_method(CLASS_CLOCK, CLOCK, ADJUST_TO_PRESET_TIME), dlms.integer(0)),
            (dlms.get_attribute(CLASS_CLOCK, CLOCK, CLOCK_TIME), dlms.null_data()),
            (dlms.get_attribute(CLASS_CLOCK, CLOCK, CLOCK_STATUS), dlms.null_data()),
        ],
    )


# --- ECS01a: the electricity tariff ---------------------------------------------------------


def _season_profile() -> bytes:
    month, day = SEASON_START
    start = dlms.octet_string(b"\xff\xff" + bytes([month, day, 0xFF, 0, 0, 0, 0, 0x80, 0, 0xFF]))
    season = dlms.structure(dlms.octet_string(bytes([SEASON_ID])), start, _week_name())
    return dlms.array([season])


def _week_name() -> bytes:
    return dlms.octet_string(bytes([WEEK_ID]))


def _week_profile_table() -> bytes:
    days = [WEEKDAY_PROFILE] * 5 + [WEEKEND_PROFILE] * 2
    week = dlms.structure(_week_name(), *(dlms.unsigned(day) for day in days))
    return dlms.array([week])


def _switch(start: tuple[int, int], tier: int) -> bytes:
    """One day-profile action: at ``start`` run the tariff script selecting ``tier``."""
    return dlms.structure(
        dlms.time_of_day(*start),
        dlms.octet_string(dlms.obis(TARIFF_SCRIPT_TABLE)),
        dlms.long_unsigned(tier),
    )


def _day_profile_table() -> bytes:
    weekday = [_switch(NIGHT_STARTS, NIGHT_TIER), _switch(DAY_STARTS, DAY_TIER)]
    weekend = [_switch(NIGHT_STARTS, NIGHT_TIER)]
    return dlms.array(
        [
            dlms.structure(dlms.unsigned(WEEKDAY_PROFILE), dlms.array(weekday)),
            dlms.structure(dlms.unsigned(WEEKEND_PROFILE), dlms.array(weekend)),
        ]
    )


def _special_days() -> bytes:
    entries = [
        dlms.structure(
            dlms.long_unsigned(index), dlms.date(None, month, day), dlms.unsigned(WEEKEND_PROFILE)
        )
        for index, (month, day) in enumerate(SPECIAL_DAYS, start=1)
    ]
    return dlms.array(entries)


def _unit_charge(reference: bytes, prices: list[tuple[bytes, int]]) -> bytes:
    """A Charge's unit_charge: scalers, what it charges for, and the prices by index."""
    table = [dlms.structure(dlms.octet_string(index), dlms.long(price)) for index, price in prices]
    return dlms.structure(
        dlms.structure(dlms.integer(COMMODITY_SCALE), dlms.integer(PRICE_SCALE)),
        reference,
        dlms.array(table),
    )


def _standing_charge() -> bytes:
    nothing = dlms.structure(dlms.long_unsigned(0), dlms.octet_string(bytes(6)), dlms.integer(0))
    return _unit_charge(nothing, [(b"", ELECTRICITY_STANDING_CHARGE)])


def _tou_prices() -> bytes:
    register = dlms.structure(
        dlms.long_unsigned(CLASS_REGISTER),
        dlms.octet_string(dlms.obis(ACTIVE_IMPORT_REGISTER)),
        dlms.integer(REGISTER_VALUE),
    )
    prices = [(bytes([tier]), price) for tier, price in sorted(ELECTRICITY_PRICES.items())]
    return _unit_charge(register, prices)


def set_electricity_tariff(ctx: CommandContext) -> bytes:
    """ECS01a: the passive calendar (seasons, weeks, day profiles), its special days, the
    standing charge and the TOU price matrix, each activated now."""
    calendar = TARIFF_SWITCHING_TABLE
    special = TARIFF_SWITCHING_SPECIAL_DAYS
    now = dlms.date_time_now()
    items = [
        (
            dlms.set_attribute(CLASS_ACTIVITY_CALENDAR, calendar, SEASON_PROFILE_PASSIVE),
            _season_profile(),
        ),
        (
            dlms.set_attribute(CLASS_ACTIVITY_CALENDAR, calendar, WEEK_PROFILE_TABLE_PASSIVE),
            _week_profile_table(),
        ),
        (
            dlms.set_attribute(CLASS_ACTIVITY_CALENDAR, calendar, DAY_PROFILE_TABLE_PASSIVE),
            _day_profile_table(),
        ),
        (dlms.set_attribute(CLASS_GBCS_EXTENDED_DATA, special, VALUE_PASSIVE), _special_days()),
        (
            dlms.set_attribute(CLASS_CHARGE, STANDING_CHARGE, UNIT_CHARGE_PASSIVE),
            _standing_charge(),
        ),
        (dlms.set_attribute(CLASS_CHARGE, PRICE_MATRIX_TOU, UNIT_CHARGE_PASSIVE), _tou_prices()),
        (
            dlms.set_attribute(CLASS_ACTIVITY_CALENDAR, calendar, ACTIVATE_PASSIVE_CALENDAR_TIME),
            now,
        ),
        (dlms.set_attribute(CLASS_GBCS_EXTENDED_DATA, special, ACTIVATE_PASSIVE_VALUE_TIME), now),
        (dlms.set_attribute(CLASS_CHARGE, STANDING_CHARGE, UNIT_CHARGE_ACTIVATION_TIME), now),
        (dlms.set_attribute(CLASS_CHARGE, PRICE_MATRIX_TOU, UNIT_CHARGE_ACTIVATION_TIME), now),
    ]
    return dlms.access_request(_invoke(ctx), items)


# --- ECS17b and ECS52: reads ------------------------------------------------------------------


def protection_parameters(counter: int, originator: str, recipient: str) -> bytes:
    """The protection parameters of protected attributes: authenticated and encrypted with
    an agreed key, for this transaction between ``originator`` and ``recipient``."""
    transaction = bytes([PROTECTED_TRANSACTION_TAG]) + counter.to_bytes(8, "big")
    key_info = dlms.structure(
        dlms.enum(KEY_INFO_AGREED_KEY),
        dlms.structure(dlms.octet_string(AGREED_KEY_PARAMETERS), dlms.octet_string(b"")),
    )
    options = dlms.structure(
        dlms.octet_string(transaction),
        dlms.octet_string(bytes.fromhex(originator)),
        dlms.octet_string(bytes.fromhex(recipient)),
        dlms.octet_string(b""),  # no date-time
        key_info,
    )
    return dlms.array([dlms.structure(dlms.enum(PROTECTION_AUTHENTICATED_ENCRYPTED), options)])


def read_import_register(ctx: CommandContext) -> bytes:
    """ECS17b: the import energy register, asked for as protected attributes (the meter
    answers it encrypted for the supplier)."""
    wanted = dlms.structure(
        dlms.long_unsigned(CLASS_DATA),
        dlms.octet_string(dlms.obis(IMPORT_ENERGY_VALUE)),
        dlms.integer(DATA_VALUE),
        dlms.long_unsigned(0),  # data index: the whole value
        dlms.structure(dlms.enum(0), dlms.null_data()),  # no selective access
    )
    parameters = protection_parameters(ctx.counter, ctx.originator, ctx.recipient)
    data = dlms.structure(dlms.array([wanted]), parameters)
    target = dlms.call_method(
        CLASS_DATA_PROTECTION, IMPORT_REGISTER_COLLECTION, GET_PROTECTED_ATTRIBUTES
    )
    return dlms.access_request(_invoke(ctx), [(target, data)])


def read_firmware_version(ctx: CommandContext) -> bytes:
    """ECS52: the meter's firmware version."""
    target = dlms.get_attribute(CLASS_DATA, FIRMWARE_VERSION, DATA_VALUE)
    return dlms.access_request(_invoke(ctx), [(target, dlms.null_data())])


# --- ECS35a and ECS35b: the meter's event and security logs ------------------------------


def _read_log(ctx: CommandContext, log_instance: str) -> bytes:
    """A range of a log's buffer: the entries of the last :data:`LOG_READ_SPAN`, restricted
    by their time column (as RTDS 6.13 asks), every column."""
    column = dlms.structure(
        dlms.long_unsigned(CLASS_DATA),
        dlms.octet_string(dlms.obis(LOG_TIME_OBJECT)),
        dlms.integer(DATA_VALUE),
        dlms.long_unsigned(0),
    )
    selection = dlms.structure(
        column,
        dlms.double_long_unsigned(encode_zcl_time(ctx.when - LOG_READ_SPAN)),
        dlms.double_long_unsigned(encode_zcl_time(ctx.when)),
        dlms.array([]),  # all columns
    )
    target = dlms.get_with_selection(
        CLASS_PROFILE_GENERIC, log_instance, BUFFER, BY_RANGE, selection
    )
    return dlms.access_request(_invoke(ctx), [(target, dlms.null_data())])


def read_event_log(ctx: CommandContext) -> bytes:
    """ECS35a: the electricity meter's event log, for a fault report."""
    return _read_log(ctx, EVENT_LOG)


def read_security_log(ctx: CommandContext) -> bytes:
    """ECS35b: the electricity meter's security log, for a fault report."""
    return _read_log(ctx, SECURITY_LOG)


# --- GCS01a: the gas tariff, in GBZ -----------------------------------------------------------


def _issuer_event(when: datetime) -> int:
    """Issuer event and calendar ids: the time the tariff was issued, in ZCL seconds."""
    return encode_zcl_time(when)


def _issuer_ids(when: datetime) -> dict[str, object]:
    event = _issuer_event(when)
    return {"Provider Id": PROVIDER_ID, "Issuer Event Id": event, "Issuer Calendar Id": event}


def _calendar_components(when: datetime) -> list[dict[str, object]]:
    ids = _issuer_ids(when)
    single = {"Command Index": 0, "Number of Commands": 1}
    delivered = {"Calendar Type": 0}
    whole_day = [{"Start Time": (0, 0), "Price Tier / Friendly Credit": GAS_TIER}]
    return [
        {
            **ids,
            **delivered,
            "Start Time": None,
            "Calendar Time Reference": 0,
            "Calendar Name": b"",
            "Number of Seasons": 1,
            "Number of Week Profiles": 1,
            "Number of Day Profiles": 2,
        },
        *(
            {
                **ids,
                **single,
                **delivered,
                "Day Id": day,
                "Number of Schedule Entries": len(whole_day),
                "Schedule Entry": whole_day,
            }
            for day in (WEEKDAY_PROFILE, WEEKEND_PROFILE)
        ),
        {
            **ids,
            "Week Id": WEEK_ID,
            "Day Id Refs (Monday to Sunday)": bytes([WEEKDAY_PROFILE] * 5 + [WEEKEND_PROFILE] * 2),
        },
        {
            **ids,
            **single,
            "Season": [{"Season Start Date": SEASON_START, "Week Id Ref": WEEK_ID}],
        },
        {
            **ids,
            **single,
            **delivered,
            "Start Time": None,
            "Number of Special Days": len(SPECIAL_DAYS),
            "Special Day": [
                {"Date": date(when.year, month, day), "Day Id Ref": WEEKEND_PROFILE}
                for month, day in SPECIAL_DAYS
            ],
        },
    ]


#: The Calendar cluster's publish commands, in the order GCS01a carries them.
PUBLISH_CALENDAR, PUBLISH_DAY_PROFILE, PUBLISH_WEEK_PROFILE = 0x00, 0x01, 0x02
PUBLISH_SEASONS, PUBLISH_SPECIAL_DAYS = 0x03, 0x04
PUBLISH_TARIFF_INFORMATION, PUBLISH_PRICE_MATRIX = 0x04, 0x05
_CALENDAR_COMMANDS = (
    PUBLISH_CALENDAR,
    PUBLISH_DAY_PROFILE,
    PUBLISH_DAY_PROFILE,
    PUBLISH_WEEK_PROFILE,
    PUBLISH_SEASONS,
    PUBLISH_SPECIAL_DAYS,
)


def _price_components(when: datetime) -> list[tuple[int, dict[str, object]]]:
    event = _issuer_event(when)
    common = {"Provider Id": PROVIDER_ID, "Issuer Event Id": event, "Start Time": None}
    tariff = {
        **common,
        "Issuer Tariff Id": 1,
        "Tariff Type / Charging Scheme": ZCL_TOU_TARIFF,
        "Tariff Label": b"",
        "Number of Price Tiers in Use": 1,
        "Number of Block Thresholds in Use": 0,
        "Unit of Measure": UNIT_KWH,
        "Currency": GBP,
        "Price Trailing Digit": PRICE_TRAILING_DIGIT,
        "Standing Charge": GAS_STANDING_CHARGE,
        "Tier Block Mode": TIER_BLOCK_MODE_NONE,
        "Block Threshold Multiplier": BLOCK_THRESHOLD_MULTIPLIER,
        "Block Threshold Divisor": BLOCK_THRESHOLD_DIVISOR,
    }
    matrix = {
        **common,
        "Issuer Tariff Id": 1,
        "Command Index": 0,
        "Number of Commands": 1,
        "Sub-payload Control": ZCL_PRICE_TOU,
        "Price": [{"Tier / Block Id": GAS_TIER, "Price": GAS_PRICE}],
    }
    return [(PUBLISH_TARIFF_INFORMATION, tariff), (PUBLISH_PRICE_MATRIX, matrix)]


def set_gas_tariff(ctx: CommandContext) -> bytes:
    """GCS01a: the Calendar cluster's publish commands (calendar, day and week profiles,
    seasons, special days) then the Price cluster's tariff information and price matrix."""
    commands: list[tuple[int, int, dict[str, object]]] = [
        (CLUSTER_CALENDAR, command, values)
        for command, values in zip(_CALENDAR_COMMANDS, _calendar_components(ctx.when), strict=True)
    ]
    commands += [
        (CLUSTER_PRICE, command, values) for command, values in _price_components(ctx.when)
    ]
    components: list[GbzComponent] = [
        cluster_component(cluster, command, values, sequence=sequence)
        for sequence, (cluster, command, values) in enumerate(commands)
    ]
    return build_gbz(components)


# --- ASN.1: joins and the gas meter's clock ----------------------------------------------------


def join_in_home_display(ctx: CommandContext) -> bytes:
    """CS03A1: the meter starts a Method A join with the in-home display (a PPMID)."""
    return der.sequence(
        der.integer(METHOD_A_INITIATOR),
        der.octet_string(bytes.fromhex(ctx.devices["ihd"])),
        der.integer(DEVICE_TYPE_PPMID),
    )


def join_gas_proxy(ctx: CommandContext) -> bytes:
    """CS03B: the gas meter joins the hub's gas proxy function (Method B)."""
    return der.sequence(
        der.integer(METHOD_B),
        der.octet_string(bytes.fromhex(ctx.devices["gpf"])),
        der.integer(DEVICE_TYPE_GPF),
    )


def unjoin_device(ctx: CommandContext, role: str = "ihd") -> bytes:
    """CS04AC: the meter unjoins the device in ``role`` (the one being replaced)."""
    return der.octet_string(bytes.fromhex(ctx.old(role)))


def set_gsme_clock(ctx: CommandContext) -> bytes:
    """GCS28 Set Time Command: the validity interval within which the new time holds."""
    return der.sequence(
        der.generalized_time(ctx.when), der.generalized_time(ctx.when + CLOCK_VALIDITY)
    )


#: Use case -> its payload builder (CCS01 needs the role of the device added: see below).
BUILDERS: dict[str, Callable[[CommandContext], bytes]] = {
    "ECS70": set_esme_clock,
    "ECS01a": set_electricity_tariff,
    "ECS17b": read_import_register,
    "ECS52": read_firmware_version,
    "GCS01a": set_gas_tariff,
    "CS03A1": join_in_home_display,
    "CS03B": join_gas_proxy,
    "GCS28": set_gsme_clock,
    "ECS35a": read_event_log,
    "ECS35b": read_security_log,
}
#: Use cases about another device than their recipient: CCS01 adds it, CCS02 removes it,
#: CS04AC unjoins it.
SUBJECT_BUILDERS: dict[str, Callable[[CommandContext, str], bytes]] = {
    "CCS01": add_to_device_log,
    "CCS02": remove_from_device_log,
    "CS04AC": unjoin_device,
}


def command_payload(use_case: str, ctx: CommandContext, subject_role: str = "esme") -> bytes:
    """The payload of ``use_case``'s command; CCS01, CCS02 and CS04AC are about the device
    in ``subject_role``."""
    if use_case in SUBJECT_BUILDERS:
        return SUBJECT_BUILDERS[use_case](ctx, subject_role)
    builder = BUILDERS.get(use_case)
    if builder is None:
        raise ValueError(f"no command payload for use case {use_case}")
    return builder(ctx)
