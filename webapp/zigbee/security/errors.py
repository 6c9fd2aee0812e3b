"""Errors of Zigbee frame security."""

from __future__ import annotations

from webapp.zigbee.types import FrameError


class SecurityError(FrameError):
    """A secured frame that cannot be opened: no key for it, a MIC that does not match, a
    truncated or unsecured frame where a secured one was required."""


class CounterError(RuntimeError):
    """The outgoing frame counter cannot be reserved (store unreadable or unwritable)."""


class CounterExhausted(CounterError):
    """Every frame counter value has been used: the key must be replaced."""
