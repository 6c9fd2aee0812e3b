"""The error every DUIS reader and writer raises, naming the problem plainly."""

from __future__ import annotations


class DuisError(ValueError):
    """DUIS XML that lacks or misplaces something, or a value DUIS does not allow."""
