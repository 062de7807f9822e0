"""Every table of incubot, in one place.

Money is stored as integer cents (``*_cents`` columns), never as ``Numeric``:
SQLite would silently round-trip it through binary floating point. Datetimes are stored as
naive UTC and handed back as aware UTC (:class:`UTCDateTime`).

The money invariants are CHECK constraints here and guarded UPDATEs in
:mod:`storage.ledger`: the constraints are the backstop if a query is ever wrong.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from storage.platforms import PlatformName


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive UTC on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Phase(enum.StrEnum):
    INVESTIGATION = "investigation"
    CONSTRUCTION = "construction"
    ACCELERATION = "acceleration"
    CONSOLIDATION = "consolidation"


class StartupRole(enum.StrEnum):
    INTRAPRENEUR = "intrapreneur"
    COACH = "coach"


class QuoteStatus(enum.StrEnum):
    """The order chain of a quote (SPEC, "The order chain"): pending → validated (AE réservées) →
    ordered (bon de commande, EJ: AE engagées) → closed (soldé); or refused, or withdrawn."""

    PENDING = "pending"
    VALIDATED = "validated"
    ORDERED = "ordered"
    CLOSED = "closed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


# A quote whose AE are held (réservées or engagées): service done may be filed on it.
OPEN_ORDER_STATUSES = (QuoteStatus.VALIDATED.value, QuoteStatus.ORDERED.value)


class ServiceDoneStatus(enum.StrEnum):
    """pending → certified (CP à payer) → paid (CP consommés); or refused."""

    PENDING = "pending"
    CERTIFIED = "certified"
    PAID = "paid"
    REFUSED = "refused"


class AuditAction(enum.StrEnum):
    """``audit_event.action``: the kind of the request, a dot, what happened to it."""

    QUOTE_SUBMITTED = "quote.submitted"
    QUOTE_VALIDATED = "quote.validated"
    QUOTE_REFUSED = "quote.refused"
    QUOTE_ORDERED = "quote.ordered"
    QUOTE_CLOSED = "quote.closed"
    QUOTE_WITHDRAWN = "quote.withdrawn"
    SERVICE_DONE_SUBMITTED = "service_done.submitted"
    SERVICE_DONE_CERTIFIED = "service_done.certified"
    SERVICE_DONE_REFUSED = "service_done.refused"
    SERVICE_DONE_PAID = "service_done.paid"
    # The convention's own life (subject ``convention:<reference>``), its allocations (``allocation:<year>``),
    # and the délégant told of an art. 5 alert (subject: the convention, or the request refused).
    CONVENTION_SUSPENDED = "convention.suspended"
    CONVENTION_RESUMED = "convention.resumed"
    CONVENTION_TERMINATED = "convention.terminated"
    ALLOCATION_CREATED = "allocation.created"
    ALLOCATION_CHANGED = "allocation.changed"
    DELEGANT_INFORMED = "alert.delegant_informed"


class OutboxStatus(enum.StrEnum):
    """A message's state; a delivery's (one per platform) uses the same words, plus ``skipped``."""

    PENDING = "pending"
    CLAIMED = "claimed"  # a delivery only: one platform's worker is sending it
    SENT = "sent"
    FAILED = "failed"  # retries exhausted (on at least one platform, for a message)
    SKIPPED = "skipped"  # a delivery only: nobody to reach on that platform, or nothing to update there
    UNDELIVERABLE = "undeliverable"  # a message only: nobody to reach on any configured platform


def _dt() -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=False)


def _dt_null() -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=True)


class Side(enum.StrEnum):
    """The two parties of the convention."""

    DELEGANT = "delegant"
    DELEGATAIRE = "delegataire"


class Convention(SQLModel, table=True):
    """The delegation agreement: parties, dates, notice period, CHORUS references."""

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=300)
    delegant: str = Field(max_length=200)
    delegataire: str = Field(max_length=200)
    operational_unit: str = Field(max_length=64)
    starts: date
    ends: date
    notice_months: int = Field(default=3, ge=0)
    chorus_axe_ministeriel: str = Field(default="", max_length=120)
    chorus_domaine_fonctionnel: str = Field(default="", max_length=64)
    chorus_centre_financier: str = Field(default="", max_length=64)
    chorus_activite: str = Field(default="", max_length=64)
    chorus_centre_de_cout: str = Field(default="", max_length=64)
    # Art. 7 and art. 5 (migration 0011), set by the operator (``incubot convention end``) and by the managers
    # (``suspendre`` / ``reprendre``), never by the reference file: an import leaves them as they are.
    terminated_on: date | None = None
    termination_reason: str | None = Field(default=None, max_length=1000)
    suspended_at: datetime | None = Field(default=None, sa_column=_dt_null())
    suspended_by: str | None = Field(default=None, max_length=100)
    suspension_reason: str | None = Field(default=None, max_length=1000)


class Allocation(SQLModel, table=True):
    """One year of credits and its running counters, moved only by guarded UPDATEs
    (migration 0010 for the order chain); the CHECKs make an overrun impossible.

    * ``ae_committed`` = AE réservées + engagées of the year (the ceiling is on it);
      ``ae_engaged`` the engagées part (orders placed that year); réservées = the difference;
    * ``cp_to_pay``: service done certified that year, not paid yet (no ceiling: a fact is
      never refused; the managers are alerted when it outgrows what the year can pay);
    * ``cp_consumed``: payments recorded that year (the ceiling is on it);
    * ``restes``: restes à payer of the orders engaged that year (engaged − paid − released).
    """

    __table_args__ = (
        sa.CheckConstraint("ae_cents >= 0 AND cp_cents >= 0", name="allocation_non_negative"),
        sa.CheckConstraint(
            "ae_committed_cents >= 0 AND ae_committed_cents <= ae_cents", name="allocation_ae_ceiling"
        ),
        sa.CheckConstraint(
            "cp_consumed_cents >= 0 AND cp_consumed_cents <= cp_cents", name="allocation_cp_ceiling"
        ),
        sa.CheckConstraint(
            "ae_engaged_cents >= 0 AND ae_engaged_cents <= ae_committed_cents", name="allocation_ae_engaged"
        ),
        sa.CheckConstraint("cp_to_pay_cents >= 0 AND restes_cents >= 0", name="allocation_chain_non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    convention_id: int = Field(foreign_key="convention.id", index=True)
    year: int = Field(unique=True)
    ae_cents: int = Field(default=0, sa_type=sa.BigInteger)
    cp_cents: int = Field(default=0, sa_type=sa.BigInteger)
    ae_committed_cents: int = Field(default=0, sa_type=sa.BigInteger)
    cp_consumed_cents: int = Field(default=0, sa_type=sa.BigInteger)
    ae_engaged_cents: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    cp_to_pay_cents: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    restes_cents: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    # Fin de gestion and amendments (migration 0011); None: the default of the year (storage/rules.py).
    orders_until: date | None = None
    payments_until: date | None = None
    amendment: str | None = Field(default=None, max_length=200)
    amended_on: date | None = None


class Person(SQLModel, table=True):
    """Someone the bot knows. ``id`` is the stable key of the reference file."""

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=200)
    is_manager: bool = False
    is_admin: bool = False
    # False once the person is left out of the reference file: unknown to the bot from then on,
    # never deleted (their quotes, decisions and audit rows keep naming them).
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # Which party of the convention the person works for (migration 0011): "delegant", "delegataire" or unknown.
    side: str | None = Field(default=None, max_length=16)


class Startup(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    phase: str = Field(default=Phase.INVESTIGATION.value, max_length=32)
    phase_started: date | None = None
    # False once the startup is left out of the reference file: no new quote, history kept.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class PlatformAccount(SQLModel, table=True):
    """A person's user id on one chat platform (migration 0007): how a platform finds who is talking,
    and where the courier sends a person's direct messages. One account per person per platform;
    an id belongs to one person."""

    __tablename__ = "platform_account"
    __table_args__ = (sa.UniqueConstraint("person_id", "platform", name="platform_account_one_per_person"),)

    platform: str = Field(primary_key=True, max_length=20)
    external_id: str = Field(primary_key=True, max_length=255)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=100)


class Channel(SQLModel, table=True):
    """A channel (room) on one chat platform, owned by a startup or by the managers of a convention
    (exactly one of ``startup_id`` / ``convention_id``; migration 0007): where the courier posts a
    ``startup:<id>`` or a ``managers`` message."""

    __tablename__ = "channel"
    __table_args__ = (
        sa.UniqueConstraint("platform", "startup_id", name="channel_one_per_startup"),
        sa.UniqueConstraint("platform", "convention_id", name="channel_one_per_convention"),
        sa.CheckConstraint("(startup_id IS NULL) <> (convention_id IS NULL)", name="channel_one_owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    external_id: str = Field(max_length=255)
    startup_id: str | None = Field(default=None, foreign_key="startup.id", max_length=100)
    convention_id: int | None = Field(default=None, foreign_key="convention.id")


class Membership(SQLModel, table=True):
    """A person's role in a startup (intrapreneur or coach)."""

    startup_id: str = Field(foreign_key="startup.id", primary_key=True, max_length=100)
    person_id: str = Field(foreign_key="person.id", primary_key=True, max_length=100)
    role: str = Field(primary_key=True, max_length=32)


class Committee(SQLModel, table=True):
    """An investment committee (art. 2). ``president_id``: the person presiding it, on the délégant's
    side; ``startups``: the ids of the startups it reviews, as a JSON list (None: all of them)."""

    id: int | None = Field(default=None, primary_key=True)
    held_on: date = Field(unique=True)
    president_id: str | None = Field(default=None, max_length=100)
    startups: str | None = Field(default=None, sa_type=sa.Text)


class DecisionKind(enum.StrEnum):
    """What a committee decides for a startup (art. 2)."""

    POURSUITE = "poursuite"  # six months funded
    RELAIS = "relais"  # one or two months while something is settled
    ACCELERATION = "acceleration"
    ARRET = "arret"  # the startup's new quotes end


class Envelope(SQLModel, table=True):
    """A startup's money for one period: set by the last decision recorded after a committee
    (migration 0009). ``reserved_cents`` counts the quotes of the startup validated against it,
    moved only by a guarded UPDATE (``reserved + amount <= amount_cents``), like the year's AE;
    the CHECK is the backstop. A later decision after the same committee changes the envelope
    (never below what it already reserved); a decision after the next committee opens a new one."""

    __tablename__ = "envelope"
    __table_args__ = (
        sa.UniqueConstraint("startup_id", "committee_id", name="envelope_one_per_committee"),
        sa.CheckConstraint("reserved_cents >= 0 AND reserved_cents <= amount_cents", name="envelope_ceiling"),
        sa.CheckConstraint("starts_on < ends_on", name="envelope_period"),
        sa.CheckConstraint("kind IN ('poursuite', 'relais', 'acceleration', 'arret')", name="envelope_kind_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    startup_id: str = Field(foreign_key="startup.id", index=True, max_length=100)
    committee_id: int = Field(foreign_key="committee.id")
    kind: str = Field(max_length=16)
    starts_on: date
    ends_on: date
    amount_cents: int = Field(sa_type=sa.BigInteger)
    reserved_cents: int = Field(default=0, sa_type=sa.BigInteger)


class CommitteeDecision(SQLModel, table=True):
    """One decision as a manager recorded it (``decision STARTUP; …``), append-only: the envelope
    holds its effect, this row what was said, by whom and when."""

    __tablename__ = "committee_decision"
    __table_args__ = (
        sa.CheckConstraint("amount_cents >= 0", name="committee_decision_amount_non_negative"),
        sa.CheckConstraint("kind IN ('poursuite', 'relais', 'acceleration', 'arret')",
                           name="committee_decision_kind_known"),
        sa.Index("committee_decision_startup_at", "startup_id", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    envelope_id: int = Field(foreign_key="envelope.id", index=True)
    startup_id: str = Field(foreign_key="startup.id", max_length=100)
    committee_id: int = Field(foreign_key="committee.id")
    kind: str = Field(max_length=16)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    until: date
    note: str | None = Field(default=None, max_length=1000)
    decided_by: str = Field(foreign_key="person.id", max_length=100)
    decided_at: datetime = Field(sa_column=_dt())
    platform: str = Field(default=PlatformName.CONSOLE.value, max_length=20)


class EnvelopeQuote(SQLModel, table=True):
    """A validated quote and the envelope it was reserved on (with the amount reserved there):
    what an envelope's engaged and paid figures are summed over."""

    __tablename__ = "envelope_quote"

    quote_id: int = Field(foreign_key="quote.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    envelope_id: int = Field(foreign_key="envelope.id", index=True)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    reserved_at: datetime = Field(sa_column=_dt())


class CommitteeInput(SQLModel, table=True):
    """What a coach gives for a startup before a committee: the impact indicators, the /stats page,
    the next six months' objectives and the budget requested (asked 14 days before)."""

    __tablename__ = "committee_input"
    __table_args__ = (sa.CheckConstraint("budget_requested_cents >= 0", name="committee_input_budget_non_negative"),)

    committee_id: int = Field(foreign_key="committee.id", primary_key=True)
    startup_id: str = Field(foreign_key="startup.id", primary_key=True, max_length=100)
    usable: str = Field(max_length=500)
    used: str = Field(max_length=500)
    useful: str = Field(max_length=500)
    impactful: str = Field(max_length=500)
    stats_url: str = Field(max_length=500)
    objectives: str = Field(sa_type=sa.Text)
    budget_requested_cents: int = Field(sa_type=sa.BigInteger)
    given_by: str = Field(foreign_key="person.id", max_length=100)
    given_at: datetime = Field(sa_column=_dt())


class Quote(SQLModel, table=True):
    """A quote (*devis*) ``D-YYYY-NNNN``. Amount TTC. ``commitment_year`` is the year whose AE
    it holds: réservées from its validation, engagées from its order (the order's year: a quote
    validated in December and ordered in January moves there). ``certified_cents`` sums its
    certified service done, ``paid_cents`` what was paid of them, ``released_cents`` what its
    closing released (never certified)."""

    __table_args__ = (
        sa.UniqueConstraint("year", "seq", name="quote_year_seq"),
        sa.CheckConstraint("amount_cents > 0", name="quote_amount_positive"),
        sa.CheckConstraint(
            "certified_cents >= 0 AND certified_cents <= amount_cents", name="quote_certified_ceiling"
        ),
        sa.CheckConstraint("status IN ('pending', 'validated', 'ordered', 'closed', 'refused', 'withdrawn')",
                           name="quote_status_known"),
        sa.CheckConstraint("paid_cents >= 0 AND paid_cents <= certified_cents", name="quote_paid_ceiling"),
        sa.CheckConstraint("released_cents >= 0 AND released_cents + certified_cents <= amount_cents",
                           name="quote_released_ceiling"),
        # The oldest pending quotes, in order, without sorting them all (migration 0002).
        sa.Index("quote_status_created", "status", "created_at"),
        sa.Index("ix_quote_ej", "ej", unique=True),  # one order per EJ (payments are matched on it)
        sa.Index("ix_quote_decided_at", "decided_at"),  # the quotes waiting at a past month's end (migration 0012)
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True)
    year: int
    seq: int
    startup_id: str = Field(foreign_key="startup.id", index=True, max_length=100)
    submitted_by: str = Field(foreign_key="person.id", max_length=100)
    platform: str = Field(default=PlatformName.CONSOLE.value, max_length=20)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    amount_ht_cents: int | None = Field(default=None, sa_type=sa.BigInteger)
    supplier: str = Field(max_length=200)
    object: str = Field(max_length=1000)
    status: str = Field(default=QuoteStatus.PENDING.value, max_length=16, index=True)
    created_at: datetime = Field(sa_column=_dt())
    decided_at: datetime | None = Field(default=None, sa_column=_dt_null())
    decided_by: str | None = Field(default=None, foreign_key="person.id", max_length=100)
    refusal_reason: str | None = Field(default=None, max_length=1000)
    commitment_year: int | None = Field(default=None, index=True)
    certified_cents: int = Field(default=0, sa_type=sa.BigInteger)
    paid_cents: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    ej: str | None = Field(default=None, max_length=10)  # engagement juridique (CHORUS), ten digits
    bc: str | None = Field(default=None, max_length=40)  # bon de commande number, optional
    ordered_at: datetime | None = Field(default=None, sa_column=_dt_null())
    ordered_by: str | None = Field(default=None, foreign_key="person.id", max_length=100)
    closed_at: datetime | None = Field(default=None, sa_column=_dt_null())
    closed_by: str | None = Field(default=None, foreign_key="person.id", max_length=100)
    close_reason: str | None = Field(default=None, max_length=1000)
    released_cents: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})


class ServiceDone(SQLModel, table=True):
    """A service-done certification request ``SF-YYYY-NNNN`` on a validated or ordered quote;
    certifying it puts CP *à payer* in ``consumption_year`` (the year of certification), paying
    it consumes CP of ``payment_year`` (the year of ``paid_on``)."""

    __tablename__ = "service_done"
    __table_args__ = (
        sa.UniqueConstraint("year", "seq", name="service_done_year_seq"),
        sa.CheckConstraint("amount_cents > 0", name="service_done_amount_positive"),
        sa.CheckConstraint(
            "status IN ('pending', 'certified', 'paid', 'refused')", name="service_done_status_known"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True)
    year: int
    seq: int
    quote_id: int = Field(foreign_key="quote.id", index=True)
    submitted_by: str = Field(foreign_key="person.id", max_length=100)
    platform: str = Field(default=PlatformName.CONSOLE.value, max_length=20)
    amount_cents: int = Field(sa_type=sa.BigInteger)
    period: str | None = Field(default=None, max_length=200)
    status: str = Field(default=ServiceDoneStatus.PENDING.value, max_length=16, index=True)
    created_at: datetime = Field(sa_column=_dt())
    decided_at: datetime | None = Field(default=None, sa_column=_dt_null())
    decided_by: str | None = Field(default=None, foreign_key="person.id", max_length=100)
    refusal_reason: str | None = Field(default=None, max_length=1000)
    consumption_year: int | None = Field(default=None, index=True)
    paid_on: date | None = None
    payment_year: int | None = None
    paid_at: datetime | None = Field(default=None, sa_column=_dt_null())
    paid_by: str | None = Field(default=None, foreign_key="person.id", max_length=100)


class StartupYearTotal(SQLModel, table=True):
    """Per startup and year, the order chain's counters (migration 0010), moved in the same
    transaction as each step by one upsert: ``budget STARTUP``, the breakdown and ``rapport``
    read one row per startup however many orders there are (like ``pending_total``).

    ``reserved``/``engaged``: AE of the year held by the startup's validated / ordered quotes;
    ``to_pay``: service done certified that year, unpaid; ``paid``: payments of that year;
    ``restes``: restes à payer of the startup's orders engaged that year."""

    __tablename__ = "startup_year_total"
    __table_args__ = (
        sa.CheckConstraint("reserved_cents >= 0 AND engaged_cents >= 0 AND to_pay_cents >= 0 "
                           "AND paid_cents >= 0 AND restes_cents >= 0", name="startup_year_total_non_negative"),
    )

    startup_id: str = Field(foreign_key="startup.id", primary_key=True, max_length=100)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    reserved_cents: int = Field(default=0, sa_type=sa.BigInteger)
    engaged_cents: int = Field(default=0, sa_type=sa.BigInteger)
    to_pay_cents: int = Field(default=0, sa_type=sa.BigInteger)
    paid_cents: int = Field(default=0, sa_type=sa.BigInteger)
    restes_cents: int = Field(default=0, sa_type=sa.BigInteger)


class StartupMonthMove(SQLModel, table=True):
    """What each step of the order chain moved, per startup, credit year and calendar month of the step
    (``month`` = YYYYMM, in the convention's time, Europe/Paris; migration 0012): signed sums, written
    by the same upsert as ``startup_year_total``'s. A month's report adds up the moves of the months up
    to its own — a few rows per startup whatever the number of orders — so it gives the figures **as
    they stood** at the month's end, the same any day it is asked.

    ``reserved``…``restes``: as ``startup_year_total``; ``pending_quotes``/``pending_cents``: quotes
    submitted (+) and decided or withdrawn (−) that month, under the year they were submitted."""

    __tablename__ = "startup_month_move"

    startup_id: str = Field(foreign_key="startup.id", primary_key=True, max_length=100)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    month: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    reserved_cents: int = Field(default=0, sa_type=sa.BigInteger)
    engaged_cents: int = Field(default=0, sa_type=sa.BigInteger)
    to_pay_cents: int = Field(default=0, sa_type=sa.BigInteger)
    paid_cents: int = Field(default=0, sa_type=sa.BigInteger)
    restes_cents: int = Field(default=0, sa_type=sa.BigInteger)
    pending_quotes: int = Field(default=0)
    pending_cents: int = Field(default=0, sa_type=sa.BigInteger)


class ReferenceCounter(SQLModel, table=True):
    """The last number given to a reference, per prefix (``D``, ``SF``) and year.

    Moved by one guarded ``UPDATE … SET last = last + 1 … RETURNING last`` in the transaction
    that inserts the row it numbers (migration 0004): two simultaneous submissions queue on
    this row instead of both picking max(seq) + 1, and a rolled-back submission gives its
    number back, so references stay distinct and consecutive on SQLite and PostgreSQL alike.
    """

    __tablename__ = "reference_counter"
    __table_args__ = (sa.CheckConstraint("last >= 0", name="reference_counter_non_negative"),)

    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class PendingTotal(SQLModel, table=True):
    """Per startup, how many quotes are pending and for how much.

    Kept by database triggers on ``quote`` (migration 0002), in the same transaction
    as the change, so ``budget`` and ``rapport`` read one row per startup instead of
    summing every pending quote: their time stays flat as quotes pile up.
    """

    __tablename__ = "pending_total"
    __table_args__ = (sa.CheckConstraint("quotes >= 0 AND cents >= 0", name="pending_total_non_negative"),)

    startup_id: str = Field(foreign_key="startup.id", primary_key=True, max_length=100)
    quotes: int = 0
    cents: int = Field(default=0, sa_type=sa.BigInteger)


class AuditEvent(SQLModel, table=True):
    """Append-only trail: who did what, when, from which platform, before and after."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_dt())
    actor_id: str | None = Field(default=None, max_length=100)
    platform: str = Field(max_length=20)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=100, index=True)
    before: str | None = Field(default=None, sa_type=sa.Text)
    after: str | None = Field(default=None, sa_type=sa.Text)


class OutboxMessage(SQLModel, table=True):
    """Everything the bot sends: written in the same transaction as the change that
    causes it, claimed with a conditional UPDATE, sent, marked sent.

    The unique key (kind, target, occurrence) makes each message exist once, so two
    sweepers, a retry or an operator's catch-up never send it twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        sa.UniqueConstraint("kind", "target", "occurrence", name="outbox_once"),
        sa.Index("outbox_status_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    target: str = Field(max_length=200)
    occurrence: str = Field(max_length=100)
    due_at: datetime = Field(sa_column=_dt())
    payload: str = Field(sa_type=sa.Text)
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16)
    attempts: int = 0
    claimed_at: datetime | None = Field(default=None, sa_column=_dt_null())
    claimed_by: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = Field(default=None, sa_column=_dt_null())
    last_error: str | None = Field(default=None, max_length=1000)
    # How many more times the same (kind, target, occurrence) was enqueued: grouped alerts count here.
    repeats: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class OutboxDelivery(SQLModel, table=True):
    """One message on one platform (migration 0005): each platform's worker fans the due
    messages out to its own rows, claims them, sends, retries with its own backoff. So a
    platform that fails only delays its own rows; the message's ``status`` sums them up."""

    __tablename__ = "outbox_delivery"
    __table_args__ = (sa.Index("outbox_delivery_due", "platform", "status", "due_at"),)

    outbox_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("outbox.id", ondelete="CASCADE"),
                                               primary_key=True, autoincrement=False))
    platform: str = Field(primary_key=True, max_length=20)
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16)
    attempts: int = 0
    due_at: datetime = Field(sa_column=_dt())
    claimed_at: datetime | None = Field(default=None, sa_column=_dt_null())
    claimed_by: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = Field(default=None, sa_column=_dt_null())
    last_error: str | None = Field(default=None, max_length=1000)


class OutboxFile(SQLModel, table=True):
    """The bytes of a file sent with outbox messages (migration 0013), beside the payload rather than
    in it: the payload stays a few hundred bytes (it is scanned for subjects and listed by
    ``incubot outbox``), and a retry after a restart still has the file. ``key`` is ``sha256:<hex>``
    for bytes given when the message was enqueued (the same file for several messages is kept once),
    or ``outbox:<message id>:<n>`` for a document the courier made when the message first went out,
    so that every platform and every retry sends the same bytes."""

    __tablename__ = "outbox_file"

    key: str = Field(primary_key=True, max_length=120)
    size: int
    data: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = Field(sa_column=_dt())


class Heartbeat(SQLModel, table=True):
    """One row per writer (``healthz``): upserted by ``/healthz`` to prove the database takes writes."""

    __tablename__ = "heartbeat"

    name: str = Field(primary_key=True, max_length=100)
    at: datetime = Field(sa_column=_dt())


class PostedMessage(SQLModel, table=True):
    """Where a message about a subject (a quote, a certification) was posted, so a
    decision can update every copy in place."""

    __tablename__ = "posted_message"
    __table_args__ = (sa.UniqueConstraint("platform", "channel", "message_id", name="posted_once"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=100, index=True)
    platform: str = Field(max_length=20)
    channel: str = Field(max_length=100)
    message_id: str = Field(max_length=100)
    person_id: str | None = Field(default=None, max_length=100)
    at: datetime = Field(sa_column=_dt())


class SeenEvent(SQLModel, table=True):
    """Platform event ids already handled (Slack retries events)."""

    __tablename__ = "seen_event"

    platform: str = Field(primary_key=True, max_length=20)
    event_id: str = Field(primary_key=True, max_length=100)
    at: datetime = Field(sa_column=_dt())


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    ANSWERING = "answering"  # the work is committed; its answer (kept in the payload) is still to send
    DONE = "done"
    FAILED = "failed"


class InboxItem(SQLModel, table=True):
    """A request acknowledged to a platform before its work was done, stored first.

    Written in one short transaction *before* the ack; the unique (platform, key) makes a
    replayed or retried request a no-op. Workers claim rows with a conditional UPDATE,
    process them, mark them done; at start the rows left pending (or claimed by a process
    that died) are resumed. So nothing a platform saw acknowledged is lost.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        sa.UniqueConstraint("platform", "key", name="inbox_once"),
        sa.Index("inbox_status_received", "status", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    key: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    payload: str = Field(sa_type=sa.Text)
    status: str = Field(default=InboxStatus.PENDING.value, max_length=16)
    attempts: int = 0
    received_at: datetime = Field(sa_column=_dt())
    claimed_at: datetime | None = Field(default=None, sa_column=_dt_null())
    claimed_by: str | None = Field(default=None, max_length=100)
    done_at: datetime | None = Field(default=None, sa_column=_dt_null())
    last_error: str | None = Field(default=None, max_length=1000)


class PlatformState(SQLModel, table=True):
    """A platform's own small state, kept across restarts (migration 0008): a sync position,
    which room is whose direct room… ``name`` is the platform's key, ``value`` its text."""

    __tablename__ = "platform_state"

    platform: str = Field(primary_key=True, max_length=20)
    name: str = Field(primary_key=True, max_length=300)
    value: str = Field(sa_type=sa.Text)
    at: datetime = Field(sa_column=_dt())


class PostedChoice(SQLModel, table=True):
    """A choice offered on a posted message where the platform has no buttons (a reaction key on a
    Matrix message): what it does (``action`` on ``value``) and the mark the bot put there, if any."""

    __tablename__ = "posted_choice"

    platform: str = Field(primary_key=True, max_length=20)
    channel: str = Field(primary_key=True, max_length=255)
    message_id: str = Field(primary_key=True, max_length=255)
    key: str = Field(primary_key=True, max_length=32)
    label: str = Field(max_length=200)
    action: str = Field(max_length=64)
    value: str = Field(max_length=100)
    mark_id: str | None = Field(default=None, max_length=255)
    at: datetime = Field(sa_column=_dt())


class FormDialogue(SQLModel, table=True):
    """A form being filled in step by step (``handlers/steps.py``): one per person and place, so a
    restart in the middle of it resumes at the same question."""

    __tablename__ = "form_dialogue"

    platform: str = Field(primary_key=True, max_length=20)
    user_id: str = Field(primary_key=True, max_length=255)
    place: str = Field(primary_key=True, max_length=600)
    form: str = Field(sa_type=sa.Text)  # the Form, as JSON
    queue: str = Field(sa_type=sa.Text)  # the names of the fields still to ask, as a JSON list
    answers: str = Field(sa_type=sa.Text)  # {name: value} given so far, as JSON
    updated_at: datetime = Field(sa_column=_dt())
