"""A short soak in the suite (make soak runs 1,000 jobs): faults, resumes, no leaks."""

from __future__ import annotations

import asyncio

from webapp.testing.soak import build_day, run_day


def test_a_short_day_with_faults_loses_and_doubles_nothing(tmp_path):
    job_ids = build_day(tmp_path, 30, seed=5)
    report = asyncio.run(run_day(tmp_path, job_ids, seed=5))
    assert report["job_statuses"] == {"completed": 30}
    assert report["resumable_stops_resumed"] > 0  # the faults really happened
    assert report["commands_executed_twice"] == 0
    assert report["answers_lost"] == 0
    assert report["answers_doubled"] == 0
    assert report["end"]["open_fds"] <= report["start"]["open_fds"] + 2
    assert report["end"]["threads"] == report["start"]["threads"]
