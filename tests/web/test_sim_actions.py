"""The simulator's hands-on actions on the installer's pages refuse what the simulated home
cannot do with a clear answer, never a server error."""

from __future__ import annotations

from tests.conftest import login
from webapp.web.context import station

NOT_SIMULATED_HUB = "00DB0000000000FF"


def test_an_action_on_a_hub_the_simulator_does_not_have_is_refused(app, client, demo_jobs):
    job = demo_jobs[0]
    with app.app_context(), station().store.write() as db:
        db["jobs"].update(job["id"], {"expected_hub_id": NOT_SIMULATED_HUB})
    token = login(client, "installer")
    for action in ("wake-gsme", "power-cycle"):
        answer = client.post(
            f"/api/jobs/{job['id']}/sim/{action}", json={}, headers={"X-CSRF-Token": token}
        )
        assert answer.status_code == 409, action
        assert f"no hub {NOT_SIMULATED_HUB}" in answer.get_json()["error"]
