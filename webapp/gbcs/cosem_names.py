"""Names of COSEM interface classes, their attributes and methods, and GBCS OBIS instances."""

from __future__ import annotations

from dataclasses import field

from .records import record


@record
class CosemClass:
    name: str
    attributes: tuple[str, ...] = ()  # from attribute 2 (attribute 1 is logical_name)
    methods: tuple[str, ...] = ()  # from method 1
    instances: dict[str, str] = field(default_factory=dict)  # OBIS text -> name


CLASSES: dict[int, CosemClass] = {
    1: CosemClass(
        "Data",
        ("value",),
        instances={
            "0-0:94.44.3.1": "Disable Privacy PIN Protection",
            "0-0:94.44.3.2": "Restrict Data Date Time",
            "0-0:94.44.10.0": "Sub GHz Configuration Settings",
            "0-0:94.44.10.1": "CHF Sub GHz Channel Scan",
            "0-0:94.44.10.2": "Operating Sub GHz Channel",
            "0-0:94.44.34.20": "Power Import Collection",
            "0-2:96.13.1.255": "Supplier Message",
        },
    ),
    3: CosemClass(
        "Register",
        ("value", "scaler_unit"),
        ("reset",),
        instances={
            "1-0:1.8.0.255": "Active Import Register",
            "1-0:2.8.0.255": "Active Export Register",
            "1-0:3.8.0.255": "Reactive Import Register",
            "1-0:4.8.0.255": "Reactive Export Register",
        },
    ),
    4: CosemClass("Extended Register", ("value", "scaler_unit", "status", "capture_time")),
    5: CosemClass(
        "Demand Register",
        (
            "current_average_value",
            "last_average_value",
            "scaler_unit",
            "status",
            "capture_time",
            "start_time_current",
            "period",
            "number_of_periods",
        ),
        ("reset", "next_period"),
    ),
    7: CosemClass(
        "Profile Generic",
        (
            "buffer",
            "capture_objects",
            "capture_period",
            "sort_method",
            "sort_object",
            "entries_in_use",
            "profile_entries",
        ),
        ("reset", "capture"),
        instances={
            "0-0:99.98.0.255": "Event Log",
            "0-17:99.98.2.255": "Auxiliary Load Control Switch Event Log",
        },
    ),
    8: CosemClass(
        "Clock",
        (
            "time",
            "time_zone",
            "status",
            "daylight_savings_begin",
            "daylight_savings_end",
            "daylight_savings_deviation",
            "daylight_savings_enabled",
            "clock_base",
        ),
        (
            "adjust_to_quarter",
            "adjust_to_measuring_period",
            "adjust_to_minute",
            "adjust_to_preset_time",
            "preset_adjusting_time",
            "shift_time",
        ),
        instances={"0-0:1.0.0.255": "Clock"},
    ),
    9: CosemClass(
        "Script Table",
        ("scripts",),
        ("execute",),
        instances={"0-0:10.0.100.255": "Tariff Block Counter Matrix TOU"},
    ),
    10: CosemClass(
        "Schedule", ("entries",), instances={"0-1:12.0.1.255": "Non-Disablement Calendar"}
    ),
    11: CosemClass(
        "Special Days Table",
        ("entries",),
        ("insert", "delete"),
        instances={
            "0-1:11.0.0.255": "Tariff Switching Table Special Days",
            "0-1:11.0.1.255": "Tariff Switching Table Secondary Element Special Days",
            "0-1:11.0.2.255": "Non-Disablement Calendar Special Days",
        },
    ),
    15: CosemClass("Association LN"),
    18: CosemClass("Image Transfer"),
    20: CosemClass(
        "Activity Calendar",
        (
            "calendar_name_active",
            "season_profile_active",
            "week_profile_table_active",
            "day_profile_table_active",
            "calendar_name_passive",
            "season_profile_passive",
            "week_profile_table_passive",
            "day_profile_table_passive",
            "activate_passive_calendar_time",
        ),
        ("activate_passive_calendar",),
        instances={
            "0-0:13.0.0.255": "Tariff Switching Table",
            "0-0:13.0.1.255": "Tariff Switching Table Secondary Element",
        },
    ),
    21: CosemClass(
        "Register Monitor",
        ("thresholds", "monitored_value", "actions"),
        instances={
            f"0-0:16.1.{11 + i}.255": f"Tariff Threshold Matrix Blocks TOU{i + 1}" for i in range(8)
        },
    ),
    22: CosemClass("Single Action Schedule", ("executed_script", "type", "execution_time")),
    30: CosemClass(
        "Data Protection",
        (),
        ("get_protected_attributes", "set_protected_attributes", "invoke_protected_method"),
        instances={
            "0-0:43.2.8.255": "Import Register Collection",
            "0-0:43.2.9.255": "Tariff TOU Register Collection",
            "0-0:43.2.10.255": "Tariff Block TOU Register Collection",
        },
    ),
    40: CosemClass("Push Setup"),
    64: CosemClass("Security Setup"),
    70: CosemClass(
        "Disconnect Control",
        ("output_state", "control_state", "control_mode"),
        ("remote_disconnect", "remote_reconnect"),
    ),
    71: CosemClass(
        "Limiter",
        (
            "monitored_value",
            "threshold_active",
            "threshold_normal",
            "threshold_emergency",
            "min_over_threshold_duration",
            "min_under_threshold_duration",
            "emergency_profile",
            "emergency_profile_group_id_list",
            "emergency_profile_active",
            "actions",
        ),
    ),
    104: CosemClass(
        "ZigBee Network Control",
        ("enable_disable_joining", "join_timeout", "active_devices"),
        (
            "register_device",
            "unregister_device",
            "unregister_all_devices",
            "backup_pan",
            "restore_pan",
        ),
        instances={"0-0:30.3.0.255": "Device Log (CHF)"},
    ),
    111: CosemClass(
        "Account",
        (
            "account_mode_and_status",
            "current_credit_in_use",
            "current_credit_status",
            "available_credit",
            "amount_to_clear",
            "clearance_threshold",
            "aggregated_debt",
            "credit_reference_list",
            "charge_reference_list",
            "credit_charge_configuration",
            "token_gateway_configuration",
            "account_activation_time",
        ),
        instances={"0-1:19.0.0.255": "Payment Mode (Account)"},
    ),
    112: CosemClass(
        "Credit",
        (
            "current_credit_amount",
            "type",
            "priority",
            "warning_threshold",
            "limit",
            "credit_configuration",
            "status",
            "preset_credit_amount",
            "credit_available_threshold",
            "period",
        ),
        ("update_amount", "set_amount_to_value", "invoke_credit"),
        instances={
            "0-0:19.10.0.255": "Meter Balance",
            "0-0:19.10.1.255": "Emergency Credit Balance",
            "0-0:19.10.2.255": "Accumulated Debt Register",
        },
    ),
    113: CosemClass(
        "Charge",
        (
            "total_amount_paid",
            "charge_type",
            "priority",
            "unit_charge_active",
            "unit_charge_passive",
            "unit_charge_activation_time",
            "period",
            "charge_configuration",
            "last_collection_time",
            "last_collection_amount",
            "total_amount_remaining",
            "proportion",
        ),
        (
            "update_unit_charge",
            "activate_passive_unit_charge",
            "collect",
            "update_total_amount_remaining",
        ),
        instances={
            "0-0:19.20.0.255": "Tariff Block Price Matrix TOU",
            "0-0:19.20.1.255": "Debt Recovery Rates 1",
            "0-0:19.20.2.255": "Debt Recovery Rates 2",
            "0-0:19.20.3.255": "Debt Recovery per Payment",
            "0-0:19.20.4.255": "Standing Charge",
            "0-0:19.20.5.255": "Secondary Tariff TOU Price Matrix",
        },
    ),
    115: CosemClass(
        "Token Gateway",
        ("token", "token_time", "token_description", "token_delivery_method", "token_status"),
        ("enter",),
        instances={"0-0:19.40.0.255": "Prepayment Credit (top up)"},
    ),
    9000: CosemClass(
        "GBCS Extended Data",
        (
            "value_active",
            "scaler_unit_active",
            "value_passive",
            "scaler_unit_passive",
            "activate_passive_value_time",
        ),
        instances={
            "0-0:63.1.1.255": "Tariff Threshold Matrix",
            "0-0:94.44.2.0": "Currency Unit",
            "0-0:94.44.2.10": "Prepayment Credit Max Credit Threshold",
            "0-0:94.44.2.20": "Prepayment Credit Max Meter Balance",
            "0-0:94.44.128.2": "Emergency Credit Limit",
            "0-0:94.44.128.3": "Emergency Credit Threshold",
            "0-0:94.44.128.9": "Low Credit Threshold",
            "0-0:94.44.128.12": "Debt Recovery Rate Cap Amount",
            "0-0:94.44.128.13": "Debt Recovery Rate Cap Period",
            "0-0:94.44.128.22": "Disablement Threshold Meter Balance",
            "0-0:94.44.128.28": "Non-Disablement Calendar",
            "0-0:94.44.128.29": "Tariff Switching Table Special Days",
            "0-0:94.44.128.30": "Tariff Switching Table Secondary Element Special Days",
            "0-0:94.44.128.31": "Non-Disablement Calendar Special Days",
            "0-0:96.13.0.255": "Supplier Telephone Number",
            "0-0:96.13.1.255": "Supplier Name",
        },
    ),
}

TOKEN_GATEWAY = 115
DATA_PROTECTION = 30


def class_name(class_id: int) -> str:
    cosem = CLASSES.get(class_id)
    return cosem.name if cosem else f"class {class_id}"


def instance_name(class_id: int, obis: str) -> str | None:
    cosem = CLASSES.get(class_id)
    if cosem and obis in cosem.instances:
        return cosem.instances[obis]
    for other in CLASSES.values():
        if obis in other.instances:
            return other.instances[obis]
    return None


def member_name(class_id: int, member_id: int, *, method: bool) -> str:
    cosem = CLASSES.get(class_id)
    if not method and member_id == 1:
        return "logical_name"
    if cosem is not None:
        names = cosem.methods if method else cosem.attributes
        index = member_id - 1 if method else member_id - 2
        if 0 <= index < len(names):
            return names[index]
    return f"{'method' if method else 'attribute'} {member_id}"
