"""The stick tests share the simulated-HAN fixtures (a fast HAN, a site, commands)."""

from tests.sim.han.conftest import clock, command, han, site, supplier  # noqa: F401
