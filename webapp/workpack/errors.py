"""The one error a work pack, an archive or an unload raises: every problem, by name."""

from __future__ import annotations


class WorkPackError(ValueError):
    """A work pack (or unload request) that was refused, with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))
