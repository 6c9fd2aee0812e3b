"""Named GBCS ASN.1 structures (security credentials, join/unjoin, firmware, clock, GPF log).

Each schema describes the DER tree a use case carries; :mod:`asn1_view` matches a parsed tree
against it to name the nodes and find result codes (``result=True``: 0 is success).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from .header import Cra
from .records import record

# identifier octets
SEQUENCE = 0x30
INTEGER = 0x02
ENUMERATED = 0x0A
OCTET_STRING = 0x04
BIT_STRING = 0x03
NULL = 0x05
GENERALIZED_TIME = 0x18

_DEFAULT_TAGS = {
    "seq": SEQUENCE,
    "seqof": SEQUENCE,
    "cert": SEQUENCE,
    "int": INTEGER,
    "enum": ENUMERATED,
    "octets": OCTET_STRING,
    "bits": BIT_STRING,
    "null": NULL,
    "time": GENERALIZED_TIME,
}


@record
class Schema:
    name: str
    kind: str  # seq seqof choice int enum octets bits null time cert alert any
    fields: tuple[Schema, ...] = ()
    values: Mapping[int, str] | None = None
    tag: int | None = None
    optional: bool = False
    result: bool = False
    sensitive: bool = False

    @cached_property
    def identifier(self) -> int | None:
        if self.tag is not None:
            return self.tag
        if self.kind == "alert":
            return INTEGER
        return _DEFAULT_TAGS.get(self.kind)


def seq(name: str, *fields: Schema, **kw: object) -> Schema:
    return Schema(name, "seq", fields, **kw)  # type: ignore[arg-type]


def seqof(name: str, item: Schema, **kw: object) -> Schema:
    return Schema(name, "seqof", (item,), **kw)  # type: ignore[arg-type]


def choice(name: str, *options: Schema) -> Schema:
    return Schema(name, "choice", options)


def leaf(name: str, kind: str, **kw: object) -> Schema:
    return Schema(name, kind, **kw)  # type: ignore[arg-type]


REMOTE_PARTY_ROLES = {
    0: "Root",
    1: "Recovery",
    2: "Supplier",
    3: "Network Operator",
    4: "Access Control Broker",
    5: "Transitional Change of Supplier",
    6: "WAN Provider",
    7: "Issuing Authority",
    127: "Other",
}
STATUS_CODES = {
    0: "Success",
    5: "Bad Certificate",
    10: "No Trust Anchor",
    17: "Insufficient Memory",
    25: "Trust Anchor Not Found",
    30: "Resources Busy",
    127: "Other",
}
REPLACEMENT_MODES = {
    2: "Supplier by Supplier",
    3: "Network Operator by Network Operator",
    4: "ACB by ACB",
    5: "WAN Provider by WAN Provider",
    6: "TransCoS by TransCoS",
    7: "Supplier by TransCoS",
    8: "Any Except Abnormal Root by Recovery",
    9: "Any by Contingency",
}
DEVICE_TYPES = {
    0: "GSME",
    1: "ESME",
    2: "CHF",
    3: "GPF",
    4: "HCALCS",
    5: "PPMID",
    6: "Type 2",
}
JOIN_RESULTS = {
    0: "Success",
    1: "Invalid Message Code for Join Method and Role",
    2: "Invalid Join Method and Role",
    3: "Incompatible with Existing Entry",
    4: "Device Log Full",
    5: "Write Failure",
    6: "Key Agreement no Resources",
    7: "Key Agreement Unknown Issuer",
    8: "Key Agreement Unsupported Suite",
    9: "Key Agreement Bad Message",
    10: "Key Agreement Bad Key Confirm",
    11: "Invalid or Missing Certificate",
    12: "No Partner Link Key Received",
    13: "No CBKE Response",
}

ROLE = leaf("Remote Party Role", "int", values=REMOTE_PARTY_ROLES)
KEY_USAGE = leaf("Key Usage", "bits")
CELL_USAGE = leaf(
    "Cell Usage", "int", values={0: "Management", 1: "Prepayment Top Up"}, optional=True
)
TA_CELL = seq("Trust Anchor Cell Identifier", ROLE, KEY_USAGE, CELL_USAGE)
ALERT_CODE = leaf("Alert Code", "alert")
DEVICE_LOG_ENTRY = seq(
    "Device Log Entry",
    leaf("Device Id", "octets"),
    leaf("Device Type", "int", values=DEVICE_TYPES),
)
SPECIALIST_SEQ = seq(
    "Specialist Seq Number",
    leaf("Seq Number Usage", "int", values={0: "Prepayment Top Up"}),
    leaf("Seq Number", "int"),
)
SEQ_NUMBER_CHANGE = seq(
    "Remote Party Seq Number Change",
    ROLE,
    leaf("Floor Seq Number", "int"),
    seqof("Specialist Floor Seq Numbers", SPECIALIST_SEQ, optional=True),
)
REPLACEMENT_OUTCOME = seq(
    "Replacement Outcome",
    TA_CELL,
    leaf("Status Code", "enum", values=STATUS_CODES, result=True),
    leaf("Existing Subject Unique Id", "octets"),
    leaf("Existing Subject Key Id", "octets"),
    leaf("Replacing Subject Unique Id", "octets"),
    leaf("Replacing Subject Key Id", "octets"),
)
CS02B_OUTCOME = seq(
    "Execution Outcome",
    leaf("Authorising Remote Party Seq Number", "int"),
    leaf("Credentials Replacement Mode", "int", values=REPLACEMENT_MODES),
    seqof("Remote Party Seq Number Changes", SEQ_NUMBER_CHANGE),
    seqof("Replacement Outcomes", REPLACEMENT_OUTCOME),
)
CS02B_COMMAND = seq(
    "Update Security Credentials Command",
    seq(
        "Authorising Remote Party Control",
        leaf("Credentials Replacement Mode", "int", values=REPLACEMENT_MODES),
        leaf("Plaintext Symmetric Key", "octets", tag=0x80, optional=True, sensitive=True),
        leaf(
            "Apply Time Based CPV Checks",
            "int",
            tag=0x81,
            optional=True,
            values={0: "Apply", 1: "Disapply"},
        ),
        Schema(
            "Authorising Remote Party TA Cell Identifier",
            "seq",
            TA_CELL.fields,
            tag=0xA2,
            optional=True,
        ),
        leaf("Authorising Remote Party Seq Number", "int", tag=0x83),
        leaf("New Remote Party Floor Seq Number", "int", tag=0x84, optional=True),
        Schema(
            "New Remote Party Specialist Floor Seq Numbers",
            "seqof",
            (SPECIALIST_SEQ,),
            tag=0xA5,
            optional=True,
        ),
        Schema(
            "Other Remote Party Seq Number Changes",
            "seqof",
            (SEQ_NUMBER_CHANGE,),
            tag=0xA6,
            optional=True,
        ),
    ),
    seqof(
        "Replacements",
        seq("Trust Anchor Replacement", leaf("Certificate", "cert"), TA_CELL),
    ),
    seqof("Certification Path Certificates", leaf("Certificate", "cert")),
    leaf("Execution Date Time", "time", optional=True),
)
CS02A_COMMAND = seq(
    "Provide Security Credential Details Command",
    Schema("Authorising Remote Party TA Cell Identifier", "seq", TA_CELL.fields),
    seqof("Remote Party Roles Credentials Required", ROLE),
)
CS02A_RESPONSE = seqof(
    "Provide Security Credential Details Response",
    seq(
        "Remote Party Details",
        ROLE,
        leaf("Status Code", "enum", values=STATUS_CODES, result=True),
        leaf("Current Seq Number", "int", optional=True),
        seqof(
            "Trust Anchor Cell Details",
            seq(
                "Trust Anchor Cell Contents",
                KEY_USAGE,
                CELL_USAGE,
                leaf("Subject Unique Id", "octets"),
                leaf("Subject Key Identifier", "octets"),
            ),
            optional=True,
        ),
    ),
)
FIRMWARE_OUTCOME = seq(
    "Execution Outcome",
    leaf(
        "Response Code",
        "int",
        result=True,
        values={0: "Success", 1: "No Image Held", 2: "Hash Mismatch", 3: "Activation Failure"},
    ),
    leaf("Firmware Version", "octets"),
)
KEY_USAGE_REQUEST = seq("Key Usage Request", KEY_USAGE)


def _result(name: str, values: Mapping[int, str]) -> Schema:
    return leaf(name, "int", result=True, values=values)


JOIN_CODES = frozenset({0x000D, 0x000E, 0x00AB, 0x00AF})

# (message codes, CRA) -> schema
_SCHEMAS: list[tuple[frozenset[int], Cra, Schema]] = [
    (frozenset({0x0008, 0x011B}), Cra.COMMAND, CS02A_COMMAND),
    (frozenset({0x0008, 0x011B}), Cra.RESPONSE, CS02A_RESPONSE),
    (frozenset(range(0x0100, 0x010A)), Cra.COMMAND, CS02B_COMMAND),
    (
        frozenset(range(0x0100, 0x010A)),
        Cra.RESPONSE,
        seq(
            "Update Security Credentials Response",
            leaf("Command Accepted", "null"),
            Schema(CS02B_OUTCOME.name, "seq", CS02B_OUTCOME.fields, optional=True),
        ),
    ),
    (
        frozenset({0x00CB}),
        Cra.ALERT,
        seq(
            "Update Security Credentials Alert",
            ALERT_CODE,
            leaf("Execution Date Time", "time"),
            CS02B_OUTCOME,
        ),
    ),
    (frozenset({0x000A}), Cra.COMMAND, KEY_USAGE_REQUEST),
    (
        frozenset({0x000A}),
        Cra.RESPONSE,
        choice(
            "Issue Security Credentials Response",
            leaf("Certification Request", "any", tag=SEQUENCE),
            _result(
                "Response Code",
                {
                    1: "Invalid Key Usage",
                    2: "Key Pair Generation Failed",
                    3: "CR Production Failed",
                },
            ),
        ),
    ),
    (frozenset({0x000B}), Cra.COMMAND, leaf("Certificate", "cert")),
    (
        frozenset({0x000B}),
        Cra.RESPONSE,
        _result(
            "Response Code",
            {
                0: "Success",
                1: "Invalid Certificate",
                2: "Wrong Device Identity",
                3: "Invalid Key Usage",
                4: "No Corresponding Key Pair Generated",
                5: "Wrong Public Key",
                6: "Certificate Storage Failed",
                7: "Private Key Change Failed",
            },
        ),
    ),
    (frozenset({0x000C}), Cra.COMMAND, KEY_USAGE_REQUEST),
    (
        frozenset({0x000C}),
        Cra.RESPONSE,
        choice(
            "Provide Device Certificate Response",
            leaf("Certificate", "cert"),
            _result(
                "Response Code",
                {
                    1: "Invalid Key Usage",
                    2: "No Certificate Held",
                    3: "Certificate Retrieval Failure",
                },
            ),
        ),
    ),
    (
        JOIN_CODES,
        Cra.COMMAND,
        seq(
            "Join Device Command",
            leaf(
                "Join Method and Role",
                "int",
                values={
                    0: "Method A Initiator",
                    1: "Method A Responder",
                    2: "Method B",
                    3: "Method C",
                },
            ),
            leaf("Entity Id", "octets"),
            leaf("Device Type", "int", values=DEVICE_TYPES),
            leaf("Certificate", "cert", optional=True),
        ),
    ),
    (
        frozenset({0x000D, 0x000E, 0x00AB, 0x00AF}),
        Cra.RESPONSE,
        _result("Response Code", JOIN_RESULTS),
    ),
    (frozenset({0x000F, 0x0010}), Cra.COMMAND, leaf("Entity Id", "octets")),
    (
        frozenset({0x000F, 0x0010}),
        Cra.RESPONSE,
        _result("Response Code", {0: "Success", 1: "Not in Device Log", 2: "Other Failure"}),
    ),
    (
        frozenset({0x0012}),
        Cra.COMMAND,
        seq(
            "Activate Firmware Command",
            leaf("Manufacturer Image Hash", "octets"),
            leaf("Originator Counter", "int"),
            leaf("Execution Date Time", "time", optional=True),
        ),
    ),
    (
        frozenset({0x0012}),
        Cra.RESPONSE,
        choice("Activate Firmware Response", leaf("Command Accepted", "null"), FIRMWARE_OUTCOME),
    ),
    (
        frozenset({0x00CA}),
        Cra.ALERT,
        seq(
            "Activate Firmware Alert",
            ALERT_CODE,
            leaf("Execution Date Time", "time"),
            leaf("Originator Counter", "int"),
            FIRMWARE_OUTCOME,
        ),
    ),
    (frozenset({0x0013}), Cra.COMMAND, leaf("Read Device Join Details Command", "null")),
    (
        frozenset({0x0013}),
        Cra.RESPONSE,
        seq(
            "Read Device Join Details Response",
            _result("Response Code", {0: "Success", 1: "Read Failure"}),
            seqof("Device Log Entries", DEVICE_LOG_ENTRY, optional=True),
        ),
    ),
    (frozenset({0x0129}), Cra.COMMAND, leaf("Read Firmware Version Command", "null")),
    (
        frozenset({0x0129}),
        Cra.RESPONSE,
        seq(
            "Read PPMID/HCALCS Firmware Version Response",
            leaf("Firmware Version", "octets"),
            _result("Response Code", {0: "Read Success", 1: "Read Failure"}),
        ),
    ),
    (
        frozenset({0x0129}),
        Cra.ALERT,
        seq(
            "Read PPMID/HCALCS Firmware Version Alert",
            ALERT_CODE,
            leaf("Execution Date Time", "time"),
            leaf("Firmware Version", "octets"),
            _result("Activate Image", {0: "Success", 1: "Failure"}),
        ),
    ),
    (
        frozenset({0x007F}),
        Cra.COMMAND,
        seq(
            "Set Time Command",
            leaf("Validity Interval Start", "time"),
            leaf("Validity Interval End", "time"),
        ),
    ),
    (
        frozenset({0x007F}),
        Cra.RESPONSE,
        seq(
            "Set Time Response",
            leaf("Device Time", "time"),
            _result("Device Time Status", {0: "Reliable", 1: "Invalid", 2: "Unreliable"}),
        ),
    ),
    (
        frozenset({0x008C}),
        Cra.COMMAND,
        seq("GPF Device Log Restore Command", seqof("Device Log Entries", DEVICE_LOG_ENTRY)),
    ),
    (
        frozenset({0x008C}),
        Cra.RESPONSE,
        seq(
            "GPF Device Log Restore Response",
            seqof(
                "Restore Outcomes",
                seq(
                    "Restore Outcome",
                    DEVICE_LOG_ENTRY,
                    _result("Join Response Code", JOIN_RESULTS),
                ),
            ),
        ),
    ),
    (
        frozenset({0x00B2}),
        Cra.ALERT,
        seq(
            "GPF Device Log Backup Alert",
            ALERT_CODE,
            leaf("Backup Date Time", "time"),
            seqof("Device Log Entries", DEVICE_LOG_ENTRY),
        ),
    ),
    (
        frozenset({0x0128}),
        Cra.ALERT,
        seq(
            "Firmware Transfer Alert",
            ALERT_CODE,
            leaf("Execution Date Time", "time"),
            leaf("Entity Id", "octets"),
            leaf("Firmware Version", "octets"),
            _result(
                "Response Code",
                {
                    0: "Success",
                    1: "Image Discarded",
                    2: "Hardware Version Mismatch",
                    3: "File Transfer Failure",
                },
            ),
        ),
    ),
]


def schema_for(message_code: int, cra: Cra) -> Schema | None:
    for codes, kind, schema in _SCHEMAS:
        if message_code in codes and kind is cra:
            return schema
    return None
