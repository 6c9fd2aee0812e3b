"""Pull the plug (SIGKILL) at every point of the command life cycle, restart, audit.

A bounded campaign runs here; `make soak` runs a long one (60 points and more).
"""

from __future__ import annotations

from webapp.faults import POINTS
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
    assert report["commands_executed_twice"] == 0
    assert report["responses_lost"] == 0
    assert report["responses_doubled"] == 0
    assert report["failed_trials"] == []
    # the restart really had work left: at least one trial needed a resume
    assert all(t["restarts"] >= 1 for t in report["trials"])
