"""The single exception type raised by the GBCS parsers for malformed input."""

from __future__ import annotations


class GbcsError(ValueError):
    """Malformed GBCS input, located by the absolute byte offset where parsing stopped."""

    def __init__(self, offset: int, expected: str, found: str | None = None) -> None:
        self.offset = offset
        self.expected = expected
        self.found = found
        message = f"at byte {offset}: expected {expected}"
        if found is not None:
            message += f", found {found}"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[GbcsError], tuple[int, str, str | None]]:
        return (type(self), (self.offset, self.expected, self.found))
