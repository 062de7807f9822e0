"""Simultaneous clicks on a file database (SQLite, then PostgreSQL): the AE ceiling and a startup's
envelope hold, and a request is decided once, however many threads click at the same instant."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.compose import compose
from bot.config import Settings
from bot.runtime import Runtime
from handlers.types import Action, Request
from storage import ledger
from storage.db import unit_of_work
from storage.models import Allocation, AuditEvent, Quote
from tests.conftest import NOW, Clock
from tests.test_storage import run_together

YEAR = NOW.year
CLICKS = 50


@pytest.fixture
def runtime(any_world: Engine) -> Runtime:
    """The whole bot (handlers, ledger, outbox) on a file database, in the demo world."""
    return compose(Settings(database_url=str(any_world.url)), clock=Clock(), engine=any_world,
                         migrate=False, plugs=()).runtime


def submit_quotes(runtime: Runtime, amounts: list[int]) -> list[str]:
    refs = []
    for cents in amounts:
        euros, rest = divmod(cents, 100)
        said = runtime.bot.message(Request("console", "lea.dupont", f"devis dedale; {euros},{rest:02d}; Arawa; Sprint"))
        refs.append(said.text.split("**")[1])
    return refs


def set_ae(runtime: Runtime, cents: int) -> None:
    with unit_of_work(runtime.services.sessions) as session:
        allocation = session.exec(select(Allocation).where(Allocation.year == YEAR)).one()
        allocation.ae_cents = cents
        session.add(allocation)


def test_fifty_simultaneous_validations_never_exceed_the_allocation(runtime: Runtime) -> None:
    """50 intrapreneur clicks at once on 50 quotes: only those that fit commit; committed = their sum ≤ AE."""
    rng = random.Random(7)
    amounts = [rng.randint(5_000_00, 40_000_00) for _ in range(CLICKS)]
    ae = sum(amounts) // 3  # roughly a third fits
    set_ae(runtime, ae)
    refs = submit_quotes(runtime, amounts)
    assert len(set(refs)) == CLICKS

    def click(i: int) -> str:
        result = runtime.bot.action(Action("console", "julien.moreau", "quote.validate", refs[i]))
        return result.text

    answers = run_together(CLICKS, click)

    assert not [a for a in answers if isinstance(a, Exception)], answers
    with unit_of_work(runtime.services.sessions) as session:
        quotes = {q.reference: q for q in session.exec(select(Quote)).all()}
        balance = ledger.year_balance(session=session, year=YEAR)
        validated_audit = session.exec(
            select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "quote.validated")
        ).one()
    validated = [q for q in quotes.values() if q.status == "validated"]
    refused_for_credits = [a for a in answers if "Crédits insuffisants" in str(a)]
    assert 0 < len(validated) < CLICKS
    assert len(validated) + len(refused_for_credits) == CLICKS
    assert balance.ae_committed_cents == sum(q.amount_cents for q in validated) <= ae
    assert validated_audit == len(validated)
    assert all(q.status == "pending" for q in quotes.values() if q.status != "validated")
    # Whatever was refused for lack of credits did not fit in what was left at the end.
    smallest_refused = min(q.amount_cents for q in quotes.values() if q.status == "pending")
    assert smallest_refused > balance.ae_available_cents


def test_two_simultaneous_clicks_on_the_same_quote_commit_once(runtime: Runtime) -> None:
    """A double click (two threads, same quote, same instant) validates once and commits the amount once."""
    (ref,) = submit_quotes(runtime, [12_345_67])

    answers = run_together(2, lambda i: runtime.bot.action(
        Action("console", "julien.moreau", "quote.validate", ref)).text)

    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert sum("C'est fait" in str(a) for a in answers) == 1
    assert sum("déjà validé" in str(a) for a in answers) == 1
    with unit_of_work(runtime.services.sessions) as session:
        assert ledger.year_balance(session=session, year=YEAR).ae_committed_cents == 12_345_67
        events = ledger.audit_trail(session=session, subject=ref)
    assert [e.action for e in events] == ["quote.submitted", "quote.validated"]


def test_validate_and_refuse_at_the_same_instant_decide_once(runtime: Runtime) -> None:
    """One intrapreneur validates while the same quote is refused: exactly one decision stands."""
    (ref,) = submit_quotes(runtime, [2_000_00])

    def decide(i: int) -> str:
        verb = "valider" if i == 0 else "refuser"
        args = ref if i == 0 else f"{ref}; doublon"
        return runtime.bot.message(Request("console", "julien.moreau", f"{verb} {args}")).text

    answers = run_together(2, decide)
    assert sum("C'est fait" in str(a) for a in answers) == 1, answers
    with unit_of_work(runtime.services.sessions) as session:
        quote = ledger.get_quote(session=session, reference=ref)
        committed = ledger.year_balance(session=session, year=YEAR).ae_committed_cents
    assert committed == (2_000_00 if quote.status == "validated" else 0)


def record_envelope(runtime: Runtime, euros: int) -> None:
    """Camille records Dédale's relais after the June committee: its envelope is ``euros`` until 31 January."""
    said = runtime.bot.message(Request("console", "camille.martin",
                                       f"decision dedale; relais; {euros}; jusqu'au {YEAR + 1}-01-31"))
    assert "Décision enregistrée" in said.text, said.text


def envelope_state(runtime: Runtime) -> tuple[int, int, int, int]:
    """The envelope's amount and reserved total, how many quotes it holds and their sum, read from the database."""
    with runtime.services.sessions() as session:
        amount, reserved = session.execute(sa.text("SELECT amount_cents, reserved_cents FROM envelope")).one()
        held, held_sum = session.execute(sa.text(
            "SELECT count(*), coalesce(sum(amount_cents), 0) FROM envelope_quote")).one()
    return int(amount), int(reserved), int(held), int(held_sum)


def test_fifty_simultaneous_validations_never_exceed_the_startups_envelope(runtime: Runtime) -> None:
    """50 clicks at once on 50 quotes of Dédale, whose envelope holds about a third of them (the year's AE
    hold them all): the envelope is never exceeded, what it reserved is the sum of the quotes validated, and
    every other click is told the envelope is exceeded, naming it."""
    rng = random.Random(11)
    amounts = [rng.randint(1_000_00, 9_000_00) for _ in range(CLICKS)]
    envelope_euros = sum(amounts) // 3 // 100
    record_envelope(runtime, envelope_euros)
    refs = submit_quotes(runtime, amounts)

    answers = run_together(CLICKS, lambda i: runtime.bot.action(
        Action("console", "julien.moreau", "quote.validate", refs[i])).text)

    assert not [a for a in answers if isinstance(a, Exception)], answers
    with unit_of_work(runtime.services.sessions) as session:
        quotes = {q.reference: q for q in session.exec(select(Quote)).all()}
        balance = ledger.year_balance(session=session, year=YEAR)
    validated = [q for q in quotes.values() if q.status == "validated"]
    refused = [a for a in answers if "Enveloppe dépassée : l'enveloppe de Dédale" in str(a)]
    assert 0 < len(validated) < CLICKS
    assert len(validated) + len(refused) == CLICKS, answers
    amount, reserved, held, held_sum = envelope_state(runtime)
    assert amount == envelope_euros * 100
    assert reserved == held_sum == sum(q.amount_cents for q in validated) <= amount
    assert held == len(validated)
    assert balance.ae_committed_cents == reserved  # the year's AE moved by exactly the same quotes
    assert all(q.status == "pending" for q in quotes.values() if q.status != "validated")
    # What was refused did not fit in what the envelope had left at the end.
    assert min(q.amount_cents for q in quotes.values() if q.status == "pending") > amount - reserved


def test_the_envelope_and_the_years_ae_hold_together_under_simultaneous_clicks(runtime: Runtime) -> None:
    """The envelope and the year's AE both too small for 40 simultaneous clicks: each refusal names the guard
    that said no, and neither the envelope nor the AE is passed, nor do they disagree on what was reserved."""
    rng = random.Random(23)
    amounts = [rng.randint(2_000_00, 8_000_00) for _ in range(40)]
    total = sum(amounts)
    record_envelope(runtime, total // 2 // 100)
    set_ae(runtime, total // 3)
    refs = submit_quotes(runtime, amounts)

    answers = run_together(len(refs), lambda i: runtime.bot.action(
        Action("console", "julien.moreau", "quote.validate", refs[i])).text)

    assert not [a for a in answers if isinstance(a, Exception)], answers
    done = [a for a in answers if "C'est fait" in str(a)]
    refused = [a for a in answers if "Enveloppe dépassée" in str(a) or "Crédits insuffisants" in str(a)]
    assert done and refused and len(done) + len(refused) == len(refs), answers
    amount, reserved, held, held_sum = envelope_state(runtime)
    with unit_of_work(runtime.services.sessions) as session:
        balance = ledger.year_balance(session=session, year=YEAR)
        validated = session.exec(select(sa.func.count(), sa.func.coalesce(sa.func.sum(Quote.amount_cents), 0))
                                 .where(Quote.status == "validated")).one()
    assert reserved == held_sum == balance.ae_committed_cents == int(validated[1])
    assert held == len(done) == int(validated[0])
    assert reserved <= amount and balance.ae_committed_cents <= balance.ae_cents
