"""Refusals raised by storage when a rule of the convention says no.

They carry data, not sentences: ``handlers`` turns them into French (or English).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
