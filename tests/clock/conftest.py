from tests.jobs.conftest import rig_factory  # noqa: F401  (the same runner rig as the job tests)
