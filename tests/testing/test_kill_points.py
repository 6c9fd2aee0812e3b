"""Pull the plug (SIGKILL) at every point of the command life cycle, restart, audit.

A bounded campaign runs here; `make soak` runs a long one (60 points and more).
"""

from __future__ import annotations

import sys

import pytest

from webapp.faults import POINTS
from webapp.testing import crash
from webapp.testing.crash import campaign

POINTS_IN_SUITE = len(POINTS) + 2  # every life-cycle point once, plus random passes


def test_no_kill_point_loses_or_doubles_anything(tmp_path, capsys):
    report = campaign(POINTS_IN_SUITE, seed=11, workdir=tmp_path)
    with capsys.disabled():
        print(
            f"\ncrash harness: {report['kill_points_tried']} kill points tried, "
            f"{report['killed']} killed, {report['commands_executed_twice']} commands executed "
            f"twice, {report['responses_lost']} responses lost, "
            f"{report['responses_doubled']} stored twice"
        )
    assert report["kill_points_tried"] == POINTS_IN_SUITE
    assert {t["point"] for t in report["trials"]} == set(POINTS)
    assert report["killed"] == POINTS_IN_SUITE, report["failed_trials"]
    assert report["unreached"] == []
    assert report["commands_executed_twice"] == 0
    assert report["responses_lost"] == 0
    assert report["responses_doubled"] == 0
    assert report["failed_trials"] == []
    # the restart really had work left: at least one trial needed a resume
    assert all(t["restarts"] >= 1 for t in report["trials"])


def test_a_kill_point_never_reached_fails_the_campaign(monkeypatch, capsys):
    unreached = crash.Trial("delivered-committed", 4, problems=["no kill"])
    report = {
        "kill_points_tried": 1,
        "killed": 0,
        "unreached": ["delivered-committed:4"],
        "commands_executed_twice": 0,
        "responses_lost": 0,
        "responses_doubled": 0,
        "failed_trials": [crash.asdict(unreached)],
        "trials": [crash.asdict(unreached)],
    }
    monkeypatch.setattr(crash, "campaign", lambda points, seed: report)
    monkeypatch.setattr(sys, "argv", ["crash", "--points", "1"])
    with pytest.raises(SystemExit) as exit_:
        crash.main()
    assert exit_.value.code != 0
    err = capsys.readouterr().err
    assert "never reached" in err and "delivered-committed:4" in err
