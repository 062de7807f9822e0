"""Committee decisions from the console: recorded by a manager, shown by comite, startups and budget,
refused with a clear answer when wrong, an ``arret`` ending the startup's new quotes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from handlers.core import Bot
from handlers.types import Request, Submission
from storage import committees
from storage.db import session_factory, unit_of_work
from tests.chat import say

# The test clock is 5 November 2026; the demo's last committee was held on 16 June 2026, the next is 15 December.
DECISION = "decision dedale; poursuite; 120 000; jusqu'au 2027-06-30; six mois de plus"


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_decision_is_recorded_then_shown_by_comite_startups_and_budget(bot: Bot, engine: Engine) -> None:
    """Camille records Dédale's poursuite; comite lists it, startups gives it, budget dedale shows the envelope."""
    said = say(bot, "camille.martin", DECISION)
    assert "Décision enregistrée — Dédale : poursuite, 120 000,00 € jusqu'au 30 juin 2027 (comité du 16 juin 2026)" \
        in said
    assert "Enveloppe de Dédale : 120 000,00 € jusqu'au 30 juin 2027" in said
    comite = say(bot, "camille.martin", "comite")
    assert "Dernières décisions" in comite
    assert "• Dédale : poursuite, 120 000,00 € jusqu'au 30 juin 2027 (comité du 16 juin 2026) — six mois de plus" \
        in comite
    assert "dernière décision : Dédale : poursuite" in say(bot, "camille.martin", "startups")
    budget = say(bot, "camille.martin", "budget dedale")
    assert "Enveloppe (comité du 16 juin 2026, jusqu'au 30 juin 2027) : 120 000,00 €" in budget
    assert "réservé 0,00 € (0 %) · engagé 0,00 € · payé 0,00 € · reste 120 000,00 €" in budget
    assert count(engine, "committee_decision") == 1
    with engine.connect() as conn:
        action, subject = conn.execute(sa.text("SELECT action, subject FROM audit_event "
                                               "WHERE action = 'committee.decision'")).one()
    assert (action, subject) == ("committee.decision", "dedale")


def test_the_english_alias_and_the_last_decision_wins(bot: Bot, engine: Engine) -> None:
    """`decide` works too; a second decision after the same committee corrects the envelope (one envelope row)."""
    say(bot, "camille.martin", DECISION)
    said = say(bot, "camille.martin", "decide dedale; relais; 40000; 2027-01-31")
    assert "Dédale : relais, 40 000,00 € jusqu'au 31 janvier 2027" in said
    assert "Enveloppe (comité du 16 juin 2026, jusqu'au 31 janvier 2027) : 40 000,00 €" in \
        say(bot, "camille.martin", "budget dedale")
    assert count(engine, "envelope") == 1 and count(engine, "committee_decision") == 2


@pytest.mark.parametrize(("command", "answer"), [
    ("decision atlantis; poursuite; 1000; 2027-06-30", "Startup inconnue : « atlantis »"),
    ("decision dedale; continuer; 1000; 2027-06-30", "Décision inconnue : « continuer »"),
    ("decision dedale; poursuite; 12,500; 2027-06-30", "12,500"),
    ("decision dedale; poursuite; beaucoup; 2027-06-30", "beaucoup"),
    ("decision dedale; poursuite; 1000; 2026-10-01", "Le 1er octobre 2026 est déjà passé"),
    ("decision dedale; poursuite; 1000; 30/02/2027", "Date de fin illisible"),
    ("decision dedale; poursuite; 1000", "Il manque des champs"),
])
def test_a_wrong_decision_gets_a_clear_french_answer_and_stores_nothing(bot: Bot, engine: Engine, command: str,
                                                                         answer: str) -> None:
    """Unknown startup or word, unreadable amount or date, a date in the past, a missing field: said, nothing kept."""
    assert answer in say(bot, "camille.martin", command)
    assert count(engine, "committee_decision") == 0 and count(engine, "envelope") == 0


def test_a_date_before_the_committee_is_refused(bot: Bot, engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    """On the committee's own day, a period ending that very day is not after the committee."""
    from datetime import UTC, datetime

    clock.now = datetime(2026, 6, 16, 14, 0, tzinfo=UTC)
    assert "Le 16 juin 2026 précède le comité du 16 juin 2026" in \
        say(bot, "camille.martin", "decision dedale; poursuite; 1000; 2026-06-16")
    assert count(engine, "committee_decision") == 0


def test_only_managers_record_decisions(bot: Bot, engine: Engine) -> None:
    """Léa is a coach: the command, and the form submitted by hand, are refused and nothing is stored."""
    assert "réservée aux gestionnaires" in say(bot, "lea.dupont", DECISION)
    result = bot.submit(Submission("console", "lea.dupont", "committee.decision", "",
                                   {"startup": "dedale", "kind": "poursuite", "amount": "1000", "until": "2027-06-30"}))
    assert "réservée aux gestionnaires" in result.text
    assert count(engine, "committee_decision") == 0


def test_the_decision_form_gives_the_same_decision_and_the_same_field_errors(bot: Bot, engine: Engine) -> None:
    """`decision` alone opens the form; a wrong date is refused on its field; corrected, the decision is kept."""
    reply = bot.message(Request("console", "camille.martin", "decision"))
    assert reply.form is not None and [i.name for i in reply.form.inputs] == ["startup", "kind", "amount", "until",
                                                                                "note"]
    values = {"startup": "dedale", "kind": "acceleration", "amount": "200 000", "until": "2025-01-01"}
    wrong = bot.submit(Submission("console", "camille.martin", reply.form.callback, "", values))
    assert set(wrong.errors) == {"until"} and count(engine, "committee_decision") == 0
    right = bot.submit(Submission("console", "camille.martin", reply.form.callback, "",
                                  {**values, "until": "2027-06-30"}))
    assert not right.errors and "accélération, 200 000,00 €" in right.text


def test_a_startup_with_no_decision_has_no_envelope(bot: Bot) -> None:
    """budget dedale says there is no envelope, and a quote is recorded without any envelope warning."""
    assert "Pas d'enveloppe : aucune décision de comité n'est enregistrée pour Dédale" in \
        say(bot, "camille.martin", "budget dedale")
    assert "enveloppe" not in say(bot, "lea.dupont", "devis dedale; 5000; Scopyleft; Sprint 1")


def test_arret_ends_the_startups_new_quotes(bot: Bot, engine: Engine) -> None:
    """After « arret; 0 » for Locadocs, Thomas's new quote is refused with the reason; other startups go on."""
    said = say(bot, "camille.martin", "decision locadocs; arrêt; 0; jusqu'au 2026-12-31; fin de l'investigation")
    assert "Locadocs : arrêt, 0,00 €" in said and "ne peut plus soumettre de nouveau devis" in said
    refused = say(bot, "thomas.roux", "devis locadocs; 3000; Atelier Pixel; Entretiens")
    assert "Le comité du 16 juin 2026 a décidé l'arrêt de Locadocs : elle ne reçoit plus de nouveau devis." in refused
    assert count(engine, "quote") == 0
    assert "enregistré" in say(bot, "thomas.roux", "devis euphrosyne; 3000; Fabernovel; Sprint")


def test_a_quote_beyond_what_the_envelope_has_left_is_recorded_with_a_warning(bot: Bot, engine: Engine) -> None:
    """Dédale's envelope is 10 000 €: a quote of 12 000 € is recorded and Léa is warned (issue 14)."""
    say(bot, "camille.martin", "decision dedale; relais; 10 000; 2027-01-31")
    said = say(bot, "lea.dupont", "devis dedale; 12000; Scopyleft; Sprint 1")
    assert "enregistré" in said
    assert "Ce montant dépasse ce qui reste de l'enveloppe de la startup (10 000,00 € sur 10 000,00 €, jusqu'au " \
           "31 janvier 2027)" in said
    assert count(engine, "quote") == 1


def test_decisions_are_available_to_exports(bot: Bot, engine: Engine) -> None:
    """storage.committees.decisions gives every decision with its names, newest first, for reports and exports."""
    say(bot, "camille.martin", DECISION)
    say(bot, "camille.martin", "decision locadocs; arret; 0; 2026-12-31")
    with unit_of_work(session_factory(engine)) as session:
        found = committees.decisions(session=session)
    assert [(d.startup_id, d.kind, d.amount_cents, d.decided_by_name) for d in found] == [
        ("locadocs", "arret", 0, "Camille Martin"), ("dedale", "poursuite", 120_000_00, "Camille Martin")]


def test_a_validation_beyond_the_envelope_is_refused_naming_it_and_nothing_moves(bot: Bot, engine: Engine) -> None:
    """Dédale's envelope is 10 000 €: Julien validates a 6 000 € quote, then a second one of 6 000 € is refused
    with the envelope in the answer — the AE of the year and the envelope keep only the first."""
    say(bot, "camille.martin", "decision dedale; relais; 10 000; 2027-01-31")
    first = say(bot, "lea.dupont", "devis dedale; 6000; Scopyleft; Sprint 1").split("D-", 1)[1][:9]
    second = say(bot, "lea.dupont", "devis dedale; 6000; Scopyleft; Sprint 2").split("D-", 1)[1][:9]
    assert "C'est fait" in say(bot, "julien.moreau", f"valider D-{first}")
    with engine.connect() as conn:
        committed = conn.execute(sa.text("SELECT sum(ae_committed_cents) FROM allocation")).scalar_one()

    refused = say(bot, "julien.moreau", f"valider D-{second}")
    assert "Enveloppe dépassée : l'enveloppe de Dédale (comité du 16 juin 2026, jusqu'au 31 janvier 2027) est de " \
           "10 000,00 €, il en reste 4 000,00 € ; la demande est de 6 000,00 €." in refused
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT sum(ae_committed_cents) FROM allocation")).scalar_one() == committed
        assert conn.execute(sa.text("SELECT reserved_cents FROM envelope")).scalar_one() == 6_000_00
        assert conn.execute(sa.text("SELECT status FROM quote WHERE reference = :r"),
                            {"r": f"D-{second}"}).scalar_one() == "pending"
