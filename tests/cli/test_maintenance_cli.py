"""Issue 18's acceptance, as an installer would type it: the demo's maintenance visit stops
at a closed window naming the meter's installer menu, the menu opens it, the job completes."""

from __future__ import annotations

import json
import re

from tests.cli.test_cli import hht


def test_a_maintenance_visit_from_the_demo_through_the_meters_menu(tmp_path):
    data = str(tmp_path / "demo")
    printed = hht("init", "--demo", "--data-dir", data).stdout
    visits = re.findall(
        r"Maintenance visit (\S+) \((.+?), hub ([0-9A-F]{16})\): meter menu PIN (\d+)", printed
    )
    assert visits, printed
    job_id, _site, hub, pin = visits[0]
    assert "Installer login: alex" in printed

    stopped = hht("run-job", job_id, "--fast", "--json", "--data-dir", data, check=False)
    assert stopped.returncode == 1
    result = json.loads(stopped.stdout)
    assert result["outcome"] == "window-closed"
    assert "electricity meter's installer menu" in result["instruction"]
    assert result["simulator"] == f"hht sim meter-menu {hub} --meter esme --pin PIN"
    assert {c["state"] for c in result["commands"]} == {"queued"}
    assert pin not in stopped.stdout + stopped.stderr

    wrong = hht(
        "sim", "meter-menu", hub, "--meter", "esme", "--pin", "0", "--data-dir", data, check=False
    )
    assert wrong.returncode == 1 and "ESME display: WRONG PIN 1/3" in wrong.stdout
    opened = hht("sim", "meter-menu", hub, "--meter", "esme", "--pin", pin, "--data-dir", data)
    assert "ESME display: WINDOW OPEN 30 MIN" in opened.stdout

    done = json.loads(hht("run-job", job_id, "--fast", "--json", "--data-dir", data).stdout)
    assert done["status"] == "completed" and "outcome" not in done
    log = json.loads(hht("sim", "log", "--json", "--data-dir", data).stdout)
    for command in done["commands"]:
        assert command["state"] == "answered" and command["outcome"] == "success"
        rows = [r for r in log if r["counter"] == command["counter"]]
        assert len(rows) == 1 and rows[0]["executions"] == 1, command
