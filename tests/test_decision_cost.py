"""What one decision costs the database, counted on SQLite and PostgreSQL: at most eleven statements
for a validation, a certification or a refusal for lack of credits — the guarded UPDATEs, one
INSERT of audit rows, one INSERT of messages, the startup's year counters and its month's moves
(the monthly report's, one upsert each) — and a guard that refuses after the load leaves
nothing of the decision behind while the request goes on to alert the managers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.compose import compose
from bot.config import Settings
from bot.runtime import Runtime
from handlers.types import Action, Request
from storage import ledger, outbox
from storage.db import unit_of_work
from storage.errors import InsufficientCredits
from storage.models import Allocation, AuditEvent, OutboxMessage
from tests.conftest import NOW, Clock

YEAR = NOW.year
MAX_STATEMENTS = 11


@pytest.fixture
def runtime(any_world: Engine) -> Runtime:
    """The bot in the demo world, on SQLite then PostgreSQL; nothing is delivered (the outbox keeps it)."""

    return compose(Settings(database_url=str(any_world.url)), clock=Clock(), engine=any_world,
                   migrate=False, plugs=(), delivery="manual").runtime


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement sent to the database inside the block (BEGIN IMMEDIATE on SQLite included)."""
    sent: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        sent.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def submit(runtime: Runtime, text: str) -> str:
    said = runtime.bot.message(Request("console", "lea.dupont", text))
    return said.text.split("**")[1]


def click(runtime: Runtime, action: str, ref: str, who: str = "julien.moreau") -> str:
    result = runtime.bot.action(Action("console", who, action, ref))
    return result.text


def messages_about(runtime: Runtime, ref: str) -> list[tuple[str, str]]:
    with unit_of_work(runtime.services.sessions) as session:
        rows = session.exec(select(OutboxMessage)).all()
    return sorted((m.kind, m.target) for m in rows if ref in m.payload and not m.kind.endswith(".request"))


def set_ae(runtime: Runtime, cents: int) -> None:
    with unit_of_work(runtime.services.sessions) as session:
        allocation = session.exec(select(Allocation).where(Allocation.year == YEAR)).one()
        allocation.ae_cents = cents
        session.add(allocation)


def test_a_validation_costs_at_most_eleven_statements_and_a_second_click_only_reads(runtime: Runtime) -> None:
    """Julien validates Léa's quote in ≤ 11 statements (AE moved, audited, card, DM and the managers' order to
    place queued); his second click reads and writes nothing more."""
    ref = submit(runtime, "devis dedale; 1 000; Arawa; Sprint")

    with statements(runtime.engine) as sent:
        said = click(runtime, "quote.validate", ref)

    assert "C'est fait" in said
    assert len(sent) <= MAX_STATEMENTS, "\n".join(sent)
    with unit_of_work(runtime.services.sessions) as session:
        assert ledger.get_quote(session=session, reference=ref).status == "validated"
        assert ledger.year_balance(session=session, year=YEAR).ae_committed_cents == 1_000_00
        assert [e.action for e in ledger.audit_trail(session=session, subject=ref)] == ["quote.submitted",
                                                                                          "quote.validated"]
    assert messages_about(runtime, ref) == [("order.to_place", "managers"), ("quote.decided", "person:lea.dupont"),
                                            ("update", f"subject:{ref}")]

    with statements(runtime.engine) as again:
        said = click(runtime, "quote.validate", ref)
    assert "déjà validé (par Julien Moreau" in said
    assert not [s for s in again if s.split()[0] in ("INSERT", "UPDATE", "DELETE", "SAVEPOINT")], again
    assert len(again) <= 3, again


def test_a_certification_costs_at_most_eleven_statements(runtime: Runtime) -> None:
    """Certifying a service done (the order and the CP moved, two audit rows, card and DM queued) takes ≤ 11."""
    ref = submit(runtime, "devis dedale; 1 000; Arawa; Sprint")
    click(runtime, "quote.validate", ref)
    sd = submit(runtime, f"service-fait {ref}; 400; octobre")

    with statements(runtime.engine) as sent:
        said = click(runtime, "service_done.certify", sd)

    assert "C'est fait" in said
    assert len(sent) <= MAX_STATEMENTS, "\n".join(sent)
    with unit_of_work(runtime.services.sessions) as session:
        assert ledger.year_balance(session=session, year=YEAR).cp_to_pay_cents == 400_00
        assert ledger.get_quote(session=session, reference=ref).certified_cents == 400_00
        on_quote = ledger.audit_trail(session=session, subject=ref)[-1]
    assert (on_quote.action, json.loads(on_quote.after or "{}")["certified_cents"]) == ("service_done.certified",
                                                                                       400_00)
    assert messages_about(runtime, sd) == [("service_done.decided", "person:lea.dupont"), ("update", f"subject:{sd}")]


def test_a_refusal_for_lack_of_credits_costs_at_most_eleven_statements_and_alerts(runtime: Runtime) -> None:
    """A quote the AE cannot absorb is refused in ≤ 11 statements: nothing moves, the managers are alerted."""
    set_ae(runtime, 500_00)
    ref = submit(runtime, "devis dedale; 1 000; Arawa; Sprint")

    with statements(runtime.engine) as sent:
        said = click(runtime, "quote.validate", ref)

    assert "Crédits insuffisants" in said and "500,00" in said
    assert len(sent) <= MAX_STATEMENTS, "\n".join(sent)
    with unit_of_work(runtime.services.sessions) as session:
        assert ledger.get_quote(session=session, reference=ref).status == "pending"
        assert ledger.year_balance(session=session, year=YEAR).ae_committed_cents == 0
    assert messages_about(runtime, ref) == [("alert.insufficient_credits", "managers")]


def test_a_guard_refusing_after_the_load_leaves_nothing_of_the_decision(runtime: Runtime) -> None:
    """Loaded without the year's balance, the quote is refused by the guarded AE UPDATE itself: its audit row,
    its messages and its status change are rolled back to the savepoint, and the transaction goes on."""
    set_ae(runtime, 500_00)
    ref = submit(runtime, "devis dedale; 1 000; Arawa; Sprint")
    queued = outbox.NewMessage("update", f"subject:{ref}", "validated", {"reply": {"text": "validé"}}, NOW)

    with unit_of_work(runtime.services.sessions) as session:
        subject = ledger.load_quote(session=session, reference=ref)  # no year: no snapshot to refuse from
        with pytest.raises(InsufficientCredits) as refused:
            ledger.validate_quote(session=session, reference=ref, actor_id="julien.moreau", platform="console",
                                  now=NOW, year=YEAR, subject=subject,
                                  then=lambda: outbox.enqueue_many(session=session, messages=[queued]))
        assert (subject.status, subject.row.decided_by) == ("pending", None)
        outbox.enqueue_many(session=session, messages=[outbox.NewMessage("alert", "managers", ref, {}, NOW)])

    assert (refused.value.requested_cents, refused.value.available_cents) == (1_000_00, 500_00)
    with unit_of_work(runtime.services.sessions) as session:
        assert ledger.get_quote(session=session, reference=ref).status == "pending"
        assert ledger.year_balance(session=session, year=YEAR).ae_committed_cents == 0
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.subject == ref)).all()
        kinds = session.exec(select(OutboxMessage.kind).where(
            sa.or_(OutboxMessage.target == f"subject:{ref}", OutboxMessage.occurrence == ref))).all()
    assert list(actions) == ["quote.submitted"]
    assert sorted(kinds) == ["alert", "quote.request"]  # the request sent at submission stays, nothing more
