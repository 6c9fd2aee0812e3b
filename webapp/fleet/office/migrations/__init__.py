"""The fleet office's schema migrations (Alembic), run by ``hht fleet migrate`` and ``serve``."""
