"""The terminal's own Zigbee credentials: checked, stored owner-only, never shown."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from webapp.cli import main
from webapp.sim.zigbee_ca import TestCa
from webapp.zigbee.provisioning import (
    ProvisioningError,
    credentials_path,
    describe_credentials,
    load_credentials,
    parse_provisioned,
    save_credentials,
)
from webapp.zigbee.types import EUI64

INSTALL_CODE = "83FED3407A939723A5C639B26916D505C3B5"
HHT = EUI64.from_hex("70B3D5FFFE00A001")


@pytest.fixture(scope="module")
def parts() -> dict[str, str]:
    credentials = TestCa.create(seed="provisioning").issue(HHT)
    return {
        "certificate": credentials.certificate.hex(),
        "private_key": f"{credentials.private_key:x}",
        "ca_public_key": credentials.ca_public_key.hex(),
        "install_code": INSTALL_CODE,
    }


def test_round_trip_with_owner_only_permissions(tmp_path: Path, parts) -> None:
    provisioned = parse_provisioned(**parts)
    path = save_credentials(tmp_path, provisioned)
    assert path == credentials_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = load_credentials(tmp_path)
    assert loaded is not None and loaded.credentials.ieee == HHT
    assert loaded.install_code.hex().upper() == INSTALL_CODE
    assert describe_credentials(loaded)["subject"] == str(HHT)
    assert parts["private_key"] not in json.dumps(describe_credentials(loaded)).lower()


def test_bad_parts_are_named(parts) -> None:
    other = TestCa.create(seed="another").issue(HHT)
    cases = {
        "private key does not belong": {**parts, "private_key": f"{other.private_key:x}"},
        "install code rejected": {**parts, "install_code": INSTALL_CODE[:-2] + "00"},
        "certificate is not hex": {**parts, "certificate": "zz"},
        "credentials rejected": {**parts, "certificate": parts["certificate"][:-4]},
    }
    for expected, bad in cases.items():
        with pytest.raises(ProvisioningError, match=expected):
            parse_provisioned(**bad)


def test_a_file_others_can_read_is_refused(tmp_path: Path, parts) -> None:
    path = save_credentials(tmp_path, parse_provisioned(**parts))
    path.chmod(0o644)
    with pytest.raises(ProvisioningError, match="chmod 600"):
        load_credentials(tmp_path)
    assert load_credentials(tmp_path / "none") is None


def test_cli_provision_and_show_never_print_the_key(tmp_path: Path, parts) -> None:
    runner = CliRunner()
    args = ["zigbee", "provision", "--data-dir", str(tmp_path)]
    for name, value in parts.items():
        args += [f"--{name.replace('_', '-')}", value]
    stored = runner.invoke(main, args)
    assert stored.exit_code == 0, stored.output
    shown = runner.invoke(main, ["zigbee", "show", "--data-dir", str(tmp_path)])
    assert shown.exit_code == 0 and json.loads(shown.output)["subject"] == str(HHT)
    for output in (stored.output, shown.output):
        assert parts["private_key"] not in output.lower() and INSTALL_CODE not in output
    bad = runner.invoke(main, [*args[:4], "--certificate", "00", *args[6:]])
    assert bad.exit_code != 0 and "credentials rejected" in bad.output
