"""A job's kind and its visit PIN in the manifest: checked strictly, the PIN never quoted."""

from __future__ import annotations

import json

import pytest

from webapp.workpack.manifest import FORMAT, parse_manifest

SECRET = "97531"


def _manifest(**job_fields: object) -> bytes:
    job = {
        "id": "J1",
        "site": "5 Elm Row",
        "address": "5 Elm Row, Leeds",
        "mpxn": "1012345678925",
        "appointment": "2026-12-05",
        "service_requests": [],
        "device_sets": [],
        **job_fields,
    }
    doc = {
        "format": FORMAT,
        "pack_id": "P1",
        "supplier": {"eui": "90B3D51F30DE0001", "name": "S"},
        "files": {},
        "jobs": [job],
    }
    return json.dumps(doc).encode()


def _problems(**job_fields: object) -> list[str]:
    manifest, problems = parse_manifest(_manifest(**job_fields))
    assert manifest is not None
    return [p for p in problems if "kind" in p or "installer_pin" in p or "hub_install" in p]


def test_a_maintenance_visit_with_a_pin_is_read() -> None:
    assert _problems(kind="maintenance", installer_pin=SECRET) == []
    assert _problems() == []  # an install by default


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"kind": "repair"}, "kind must be one of install, maintenance"),
        ({"installer_pin": "1234"}, "installer_pin is for a maintenance visit only"),
        ({"kind": "maintenance", "installer_pin": "12a4"}, "must be 4 to 8 digits"),
        ({"kind": "maintenance", "installer_pin": 1234}, "must be 4 to 8 digits"),
        ({"kind": "maintenance", "installer_pin": "123456789"}, "must be 4 to 8 digits"),
        (
            {"kind": "maintenance", "hub_install": {"chf_location": "Deep indoors"}},
            "carries no hub_install",
        ),
    ],
)
def test_bad_visit_fields_are_refused_by_name(fields: dict, expected: str) -> None:
    problems = _problems(**fields)
    assert len(problems) == 1 and expected in problems[0]


def test_a_bad_pin_is_never_quoted() -> None:
    wrong = "98765x"
    problems = _problems(kind="maintenance", installer_pin=wrong)
    assert problems and all(wrong not in p for p in problems)
