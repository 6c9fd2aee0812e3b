from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from webapp.cli import main


def test_scan_lists_hubs_and_marks_expected_ones(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo", "--data-dir", str(tmp_path)]).exit_code == 0
    result = runner.invoke(main, ["scan", "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    beacons = json.loads(result.output)
    assert beacons and {"channel", "pan_id", "extended_pan_id", "lqi", "band"} <= set(beacons[0])
    assert any(b["expected_by_job"] for b in beacons)


def test_connect_to_an_unknown_hub_prints_the_instruction(tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["init", "--demo", "--data-dir", str(tmp_path)])
    result = runner.invoke(
        main, ["connect", "0123456789ABCDEF", "--json", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["code"] == "not-found"


def test_connect_prints_every_stage_with_its_duration(tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["init", "--demo", "--data-dir", str(tmp_path)])
    beacons = json.loads(
        runner.invoke(main, ["scan", "--json", "--data-dir", str(tmp_path)]).output
    )
    hub = next(b["extended_pan_id"] for b in beacons if b["expected_by_job"])
    result = runner.invoke(main, ["connect", hub, "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    stages = json.loads(result.output)["stages"]
    assert [s["stage"] for s in stages] == [
        "interpan-cbke",
        "install-code",
        "join",
        "han-cbke",
        "tunnel",
        "ready",
    ]
    assert all(s["result"] == "ok" and s["seconds"] >= 0 for s in stages)
    # the Inter-PAN key establishment takes the hub three slow steps: it is not instant
    assert stages[0]["seconds"] > 0.5
