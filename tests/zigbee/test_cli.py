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
