"""Refusals raised by storage when a rule of the convention says no.

They carry data, not sentences: ``handlers`` turns them into French (or English).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


class LedgerRefusal(Exception):
    """Base class: the change was refused and nothing was written."""


@dataclass
class NotFound(LedgerRefusal):
    what: str  # "quote", "service_done", "startup", "person"
    key: str


@dataclass
class AlreadyDecided(LedgerRefusal):
    reference: str
    status: str
    decided_by: str | None
    decided_at: datetime | None


@dataclass
class NoAllocation(LedgerRefusal):
    year: int


@dataclass
class InsufficientCredits(LedgerRefusal):
    """The year's AE (``kind='ae'``) or CP (``kind='cp'``) cannot absorb the amount."""

    kind: str
    year: int
    requested_cents: int
    available_cents: int


@dataclass
class ExceedsOrder(LedgerRefusal):
    """A service done larger than what the order still has committed."""

    reference: str
    requested_cents: int
    remaining_cents: int


@dataclass
class QuoteNotValidated(LedgerRefusal):
    reference: str
    status: str


@dataclass
class WrongStatus(LedgerRefusal):
    """The request is not in a state that allows ``step`` ("order", "close", "withdraw", "pay",
    "service_done"); nothing changed."""

    reference: str
    status: str
    step: str


@dataclass
class InvalidEJ(LedgerRefusal):
    """An engagement juridique number is ten digits (CHORUS)."""

    value: str


@dataclass
class EJAlreadyUsed(LedgerRefusal):
    ej: str
    reference: str  # the order that already carries it


@dataclass
class OrderNotPlaced(LedgerRefusal):
    """A payment on a service done whose order has no bon de commande (no EJ) yet."""

    reference: str  # the service done
    order: str  # its quote


@dataclass
class ServiceDoneWaiting(LedgerRefusal):
    """An order cannot be closed while a service done on it waits for certification."""

    reference: str
    waiting: tuple[str, ...]


# --------------------------------------------------------------------------- the convention's rules (storage/rules.py)


@dataclass
class ConventionNotStarted(LedgerRefusal):
    """Nothing is validated nor ordered before the convention's first day."""

    reference: str
    starts: date


@dataclass
class ConventionEnded(LedgerRefusal):
    """Nothing is validated nor ordered after the convention's last day: its end date, or the
    last day of a termination recorded with ``incubot convention end`` (art. 7)."""

    reference: str
    ended_on: date
    terminated: bool
    reason: str | None = None


@dataclass
class ConventionSuspended(LedgerRefusal):
    """The managers suspended the execution of the delegation (art. 5): no validation, no order."""

    reference: str
    reason: str
    since: datetime
    by: str | None


@dataclass
class OrdersClosed(LedgerRefusal):
    """Fin de gestion: after ``orders_until`` no validation nor order on ``year``; ``next_possible`` is the
    first day the next year's allocation opens (None: no allocation for it, or the convention ends first)."""

    year: int
    orders_until: date
    next_possible: date | None
    next_year_known: bool
    convention_ends: date | None = None


@dataclass
class AlreadySuspended(LedgerRefusal):
    reference: str
    reason: str
    since: datetime
    by: str | None


@dataclass
class NotSuspended(LedgerRefusal):
    reference: str


@dataclass
class NoConvention(LedgerRefusal):
    """No convention is recorded (nothing was imported yet)."""
