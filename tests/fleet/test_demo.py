"""``make fleet``'s setup: three demo HHTs enrolled, joined, run jobs, synced; the fleet's
``hht fleet jobs --json`` holds every job in the state its HHT shows, and a repeat adds
nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from webapp.cli.fleet_demo import DemoError, prepare_folder, setup, sync_hht
from webapp.cli.group import main
from webapp.fleet.office.cluster import Cluster

FIELDS = {"hht", "id", "status", "commands", "answered"}


def _fleet_jobs(dsn: str) -> list[dict]:
    result = CliRunner().invoke(main, ["fleet", "jobs", "--dsn", dsn, "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_the_demo_fleet_holds_every_hhts_jobs_as_the_hhts_show_them(
    pg: Cluster, fleet_url, conn, tmp_path
) -> None:
    root = tmp_path / "fleet"
    prepare_folder(root)
    hhts = setup(root, pg.dsn(), fleet_url, runs=(1, 1, 0))
    assert len({h.terminal_id for h in hhts}) == 3
    assert len({h.data_dir for h in hhts}) == 3
    listed = _fleet_jobs(pg.dsn())
    assert all(set(row) >= FIELDS for row in listed)
    held = {(row["hht"], row["id"]): row for row in listed}
    expected = {(h.terminal_id, j): s for h in hhts for j, s in h.jobs.items()}
    assert {key: row["status"] for key, row in held.items()} == expected
    ran = [row for row in listed if row["status"] == "completed"]
    assert len(ran) == 2 and all(0 < r["answered"] <= r["commands"] for r in ran)
    assert {r["hht"] for r in ran} == {hhts[0].terminal_id, hhts[1].terminal_id}
    for hht in hhts:
        again = sync_hht(hht.data_dir)
        assert (again["events"], again["jobs"], again["loose"]) == (0, 0, 0)
    assert _fleet_jobs(pg.dsn()) == listed
    assert conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"] == 1


def test_the_demo_never_clears_a_folder_that_is_not_its_own(tmp_path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(DemoError, match="not empty"):
        prepare_folder(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    demo = tmp_path / "demo"
    prepare_folder(demo)
    (demo / "van-1").mkdir()
    prepare_folder(demo)  # an earlier demo is made anew
    assert not (demo / "van-1").exists()
