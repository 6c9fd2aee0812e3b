"""Whether a phone's clock agrees with the other clocks the terminal knows.

Two readings of true time agree when they differ by no more than the sum of their
uncertainties: each says "true time is within ±u of mine", and only then can both be
right.  A phone that disagrees with a better source (the kernel's synchronised clock,
a synchronised hub) is wrong; two phones that disagree cannot both be trusted, and
nothing says which.
"""

from __future__ import annotations

from dataclasses import dataclass

ANOTHER_PHONE = "another phone"


@dataclass(frozen=True)
class Reading:
    """One clock's offset from the system clock and its uncertainty, now."""

    name: str  # "hub", "system", or a phone's key
    offset_s: float
    uncertainty_s: float


@dataclass(frozen=True)
class Disagreement:
    """A phone whose clock is further from another clock than both could be wrong by."""

    phone: str
    other: str  # "hub", "system" or ANOTHER_PHONE
    by_s: float
    allowed_s: float

    @property
    def message(self) -> str:
        other = (
            "another phone's clock" if self.other == ANOTHER_PHONE else f"the {self.other} clock"
        )
        return (
            f"the phone's clock disagrees with {other} by {self.by_s:.1f} s "
            f"(they may differ by {self.allowed_s:.1f} s at most): "
            "the phone's time is not used"
        )

    def data(self) -> dict[str, object]:
        return {
            "phone": self.phone,
            "other": self.other,
            "by_s": round(self.by_s, 3),
            "allowed_s": round(self.allowed_s, 3),
        }


def disagreement(
    phone: Reading, others: list[Reading], other_name: str = ""
) -> Disagreement | None:
    """The first of ``others`` that ``phone`` disagrees with, if any (named ``other_name``
    when given, else by the other reading's own name)."""
    for other in others:
        by = abs(phone.offset_s - other.offset_s)
        allowed = phone.uncertainty_s + other.uncertainty_s
        if by > allowed:
            return Disagreement(phone.name, other_name or other.name, by, allowed)
    return None


def phones_in_dispute(phones: list[Reading]) -> Disagreement | None:
    """The widest disagreement between two phones, if any two disagree."""
    worst: Disagreement | None = None
    for index, phone in enumerate(phones):
        found = disagreement(phone, phones[index + 1 :], ANOTHER_PHONE)
        if found is not None and (worst is None or found.by_s > worst.by_s):
            worst = found
    return worst
