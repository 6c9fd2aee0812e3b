"""Helpers for the web tests: hypothesis settings, JSON junk, a dump of the database, and a
job run to its end on the app's own radio."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from webapp.web.context import loop, station

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# tables a refused request may legitimately touch: failed logins are counted on purpose,
# and a session's last-seen time (or a login form's new session) is written as it goes
COUNTED = {"auth_failures", "login_failures", "sessions", "users"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


def dump(app) -> dict:  # type: ignore[no-untyped-def]
    """Every table's rows, except those a refused request may touch."""
    with app.app_context():
        db = station().store.reader()
        return {
            table: db.execute(f"SELECT * FROM [{table}] ORDER BY rowid").fetchall()
            for table in db.table_names()
            if table not in COUNTED
        }


def run_job_to_end(app, job: dict) -> None:  # type: ignore[no-untyped-def]
    """Run ``job`` to its end on the app's simulated radio, as the installer's phone does."""
    with app.app_context():
        st, radio_loop = station(), loop()

    async def run() -> None:
        st.han.power_cycle(job["expected_hub_id"])
        await st.runner.connect(job["id"], job["expected_hub_id"])
        await st.runner.start(job["id"])
        await st.runner.wait(job["id"])

    radio_loop.call(run())
    assert st.store.reader()["jobs"].get(job["id"])["status"] == "completed"
