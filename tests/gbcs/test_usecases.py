from __future__ import annotations

from webapp.gbcs.usecases import alert_name, message_code_name, use_case_for


def test_use_cases():
    assert use_case_for(0x0019) == ("ECS01a", "Set Tariff and Price on ESME")
    assert use_case_for(0x0001) == ("CCS01", "Add Device to CHF device log")
    assert use_case_for(0x011B) == ("CS02f", "CS02f")
    assert use_case_for(0x0004) == ("CCS05/CCS04", "CCS05/CCS04")
    assert use_case_for(0x1000) is None
    assert use_case_for(0xFFFF) is None


def test_names():
    assert message_code_name(0x1000) == "Generic Critical Alert"
    assert message_code_name(0x0019) == "ECS01a Set Tariff and Price on ESME"
    assert message_code_name(0xFFFE) is None
    assert alert_name(0x8F66) == "Future-date HAN Interface Command Successfully Actioned"
    assert alert_name(0x0001) is None
