"""What the runner raises: a refused request, or a job stopped at a resumable point."""

from __future__ import annotations

from webapp.jobs.states import PauseReason


class RunnerError(Exception):
    """A request the runner refuses, with a message for the person who asked."""


class JobInterrupted(Exception):
    """The job stopped at a resumable point (pause, lost link, no answer).

    ``message`` is for the installer; ``reason`` is the code kept with the pause."""

    def __init__(self, message: str, reason: PauseReason) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
