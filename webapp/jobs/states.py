"""Job and command states, and what each means to the people who see them."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class JobStatus(StrEnum):
    READY = "ready"  # loaded, not started
    RUNNING = "running"
    PAUSED = "paused"  # stopped at an exact, resumable point
    COMPLETED = "completed"  # every command answered successfully
    FAILED = "failed"  # finished, but a service request failed
    ABORTED = "aborted"  # the installer gave up, with a reason


FINISHED_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.ABORTED})
#: Jobs that may still send commands: loaded, running or paused.
OPEN_JOB_STATUSES = frozenset({JobStatus.READY, JobStatus.RUNNING, JobStatus.PAUSED})


class PauseReason(StrEnum):
    """Why a job is paused, as a code (the message beside it is for people)."""

    INSTALLER = "installer"  # the installer pressed pause
    LINK_LOST = "link-lost"  # the radio link to the hub dropped
    STICK_UNPLUGGED = "stick-unplugged"  # the radio stick was pulled out
    NO_ANSWER = "no-answer"  # a device did not answer after the last try
    STORAGE_FULL = "storage-full"  # the terminal's disk is full
    RESTARTED = "restarted"  # the terminal restarted while the job ran
    INTERNAL_ERROR = "internal-error"  # an unexpected error; see the log


class CommandState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # intent committed, attempt n under way
    DELIVERED = "delivered"  # the hub accepted it into the tunnel
    ANSWERED = "answered"  # response committed, device said success
    FAILED = "failed"  # response committed, device said failure
    REJECTED = "rejected"  # device refused it as a repeat or stale counter
    TIMED_OUT = "timed_out"  # no answer after the last attempt
    SKIPPED = "skipped"  # an earlier command of its service request failed


IN_FLIGHT_STATES = frozenset({CommandState.SENDING, CommandState.DELIVERED})
# A command in one of these states is never sent again.
DONE_STATES = frozenset(
    {CommandState.ANSWERED, CommandState.FAILED, CommandState.REJECTED, CommandState.SKIPPED}
)
# Settled with the device's agreement: the service request goes on.
GOOD_STATES = frozenset({CommandState.ANSWERED, CommandState.REJECTED})

COMMAND_STATE_LABELS = {
    CommandState.QUEUED: "Waiting",
    CommandState.SENDING: "Sending",
    CommandState.DELIVERED: "Awaiting answer",
    CommandState.ANSWERED: "Done",
    CommandState.FAILED: "Device refused",
    CommandState.REJECTED: "Already done or out of date",
    CommandState.TIMED_OUT: "No answer",
    CommandState.SKIPPED: "Not sent",
}

JOB_STATUS_LABELS = {
    JobStatus.READY: "Ready",
    JobStatus.RUNNING: "Running",
    JobStatus.PAUSED: "Paused",
    JobStatus.COMPLETED: "Completed",
    JobStatus.FAILED: "Finished with failures",
    JobStatus.ABORTED: "Aborted",
}

# What a command of a paused job says while it is in flight: the terminal is not waiting for
# its answer now, and on resume it finds out whether the device acted on it.
PAUSED_IN_FLIGHT_LABEL = "Paused: sent, answer not yet received"


def command_label(state: str, job_status: str | None = None) -> str:
    """A command's state in the words every page uses, consistent with its job's status."""
    command_state = CommandState(state)
    if job_status == JobStatus.PAUSED and command_state in IN_FLIGHT_STATES:
        return PAUSED_IN_FLIGHT_LABEL
    return COMMAND_STATE_LABELS[command_state]


class ServiceRequestState(StrEnum):
    WAITING = "waiting"
    IN_PROGRESS = "in-progress"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"


SERVICE_REQUEST_STATE_LABELS = {
    ServiceRequestState.WAITING: "Waiting",
    ServiceRequestState.IN_PROGRESS: "In progress",
    ServiceRequestState.PAUSED: "Paused",
    ServiceRequestState.DONE: "Done",
    ServiceRequestState.FAILED: "Failed",
}


def service_request_state(
    command_states: Iterable[str], job_status: str | None = None
) -> ServiceRequestState:
    """A service request's state from its commands', consistent with its job's status: a
    request under way in a paused job is paused, not in progress."""
    states = [CommandState(s) for s in command_states]
    if states and all(s in GOOD_STATES for s in states):
        return ServiceRequestState.DONE
    if any(s in (CommandState.FAILED, CommandState.SKIPPED) for s in states):
        return ServiceRequestState.FAILED
    if CommandState.TIMED_OUT in states and job_status in FINISHED_JOB_STATUSES:
        return ServiceRequestState.FAILED
    if any(s != CommandState.QUEUED for s in states):
        if job_status == JobStatus.PAUSED:
            return ServiceRequestState.PAUSED
        return ServiceRequestState.IN_PROGRESS
    return ServiceRequestState.WAITING


# The devices by the names an installer uses (the roles' codes stay behind "Details").
DEVICE_ROLE_NAMES = {
    "hub": "Hub",
    "chf": "Hub",
    "gpf": "Gas proxy in the hub",
    "esme": "Electricity meter",
    "gsme": "Gas meter",
    "ihd": "In-home display",
}


def device_name(role: str | None) -> str:
    return DEVICE_ROLE_NAMES.get((role or "").lower(), (role or "device").upper())


ABORT_REASONS = {
    "no-wan": "No WAN signal at the property",
    "no-access": "No access to the property or meters",
    "unsafe": "Unsafe to work",
    "refused": "Customer refused",
    "other": "Other",
}


def sql_in(values: Iterable[StrEnum]) -> tuple[str, list[str]]:
    """``(?, ?, ...)`` and its parameters, for a SQL ``IN`` over a set of states."""
    ordered = sorted(v.value for v in values)
    return "(" + ", ".join("?" * len(ordered)) + ")", ordered
