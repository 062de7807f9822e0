"""The order chain in the chat, as people play it: the intrapreneur validates, a manager places the
order (Passer commande, the EJ in a form, or ``commande REF; EJ …``), the service done is certified,
the payment recorded (``paiement``), an order closed (``solder``), a pending quote withdrawn
(``retirer``) — every copy of the request updated once, the submitter told, the year's counters moved;
and every wrong step refused with a clear answer, nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from handlers.core import Bot
from handlers.markup import plain
from handlers.types import Request
from storage import ledger
from storage.db import session_factory, unit_of_work
from tests.chat import say
from tests.stub import StubChat

YEAR = 2026  # the test clock: 5 November 2026


def balance(engine: Engine, year: int = YEAR) -> ledger.YearBalance:
    with unit_of_work(session_factory(engine)) as session:
        return ledger.year_balance(session=session, year=year)


def status(engine: Engine, reference: str) -> str:
    table = "service_done" if reference.startswith("SF-") else "quote"
    with engine.connect() as conn:
        return str(conn.execute(sa.text(f"SELECT status FROM {table} WHERE reference = :r"), {"r": reference}).scalar())


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one())


def validated(bot: Bot, amount: str = "12 000", startup: str = "dedale", intrapreneur: str = "julien.moreau") -> str:
    """Léa's quote for ``startup``, validated by its intrapreneur; its reference."""
    said = say(bot, "lea.dupont", f"devis {startup}; {amount}; Scopyleft; Sprint 7")
    reference = said.split("D-")[1].split()[0].rstrip(".,")
    reference = "D-" + reference
    assert "C'est fait" in say(bot, intrapreneur, f"valider {reference}")
    return reference


# --------------------------------------------------------------------------- the whole chain, on the transcript


def test_a_validated_quote_goes_to_the_managers_who_place_its_order_with_the_ej_in_a_form(stub: StubChat) -> None:
    """Julien validates: the managers' channel gets the quote with Passer commande; Camille clicks it, fills
    in the EJ; she is answered, both copies of the quote show the order, and Léa is told once."""
    stub.say("lea.dupont", "devis dedale; 12 000; Scopyleft; Sprint 7")
    stub.forget_so_far()
    stub.click("julien.moreau", "D-2026-0001", "Valider")
    stub.expect("julien.moreau", "C'est fait", "validé", kind="reply")
    stub.expect("julien.moreau", "Validé", "Bon de commande pas encore enregistré", kind="update")
    stub.expect("lea.dupont", "D-2026-0001", "validé par Julien Moreau", kind="dm")
    to_order = stub.expect("managers", "Devis D-2026-0001", "bon de commande à passer", "Dédale", kind="channel")
    assert to_order.buttons == ["Passer commande"]
    stub.expect_nothing_more()

    assert stub.click("camille.martin", "D-2026-0001", "Passer commande", channel="managers").text == \
        "[form: Bon de commande D-2026-0001]"
    stub.expect("camille.martin", kind="reply")
    stub.expect_nothing_more()

    done = stub.fill("camille.martin", {"ej": "21 0012 3456", "bc": "BC-2026-77"})
    assert "C'est fait : bon de commande de D-2026-0001 enregistré — EJ 2100123456, BC BC-2026-77" in done
    assert "12 000,00 € d'AE engagées sur 2026 (Dédale)" in done
    stub.expect("camille.martin", kind="reply")
    card = stub.expect("julien.moreau", "Commandé", "EJ 2100123456", "BC BC-2026-77", "Camille Martin", kind="update")
    assert card.buttons == []
    managers = stub.expect("managers", "Commandé", "EJ 2100123456", kind="update")
    assert managers.buttons == []
    stub.expect("lea.dupont", "Le bon de commande de D-2026-0001 (Scopyleft) est passé : EJ 2100123456", kind="dm")


def test_the_whole_chain_moves_the_years_counters_as_chorus_does(bot: Bot, engine: Engine) -> None:
    """Validated: AE réservées; ordered: engagées; certified: CP à payer; paid: consommés, and the restes
    à payer come down by what was paid."""
    before = balance(engine)
    reference = validated(bot)
    after = balance(engine)
    assert after.ae_reserved_cents - before.ae_reserved_cents == 1_200_000
    say(bot, "camille.martin", f"commande {reference}; EJ 2100123456; BC 4500012345")
    ordered = balance(engine)
    assert (ordered.ae_reserved_cents, ordered.ae_engaged_cents - before.ae_engaged_cents) == \
        (before.ae_reserved_cents, 1_200_000)
    assert ordered.restes_all_years_cents - before.restes_all_years_cents == 1_200_000
    assert "SF-2026-0001" in say(bot, "lea.dupont", f"service-fait {reference}; 5 000; novembre")
    assert "C'est fait" in say(bot, "julien.moreau", "certifier SF-2026-0001")
    assert balance(engine).cp_to_pay_cents - before.cp_to_pay_cents == 500_000
    paid = say(bot, "camille.martin", "paiement SF-2026-0001")
    assert "C'est fait : paiement de SF-2026-0001 enregistré le 5 novembre 2026 — 5 000,00 € de CP 2026 consommés" \
        in paid
    assert "Reste à payer sur " + reference + " : 7 000,00 €" in paid
    end = balance(engine)
    assert end.cp_to_pay_cents == before.cp_to_pay_cents
    assert end.cp_consumed_cents - before.cp_consumed_cents == 500_000
    assert end.restes_all_years_cents - before.restes_all_years_cents == 700_000
    assert status(engine, "SF-2026-0001") == "paid" and status(engine, reference) == "ordered"
    assert "Restes à payer : 7 000,00 €" in say(bot, "camille.martin", "budget")


def test_a_payment_on_a_past_day_is_recorded_on_that_day(bot: Bot, engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Certified on 2 November, ``paiement SF-REF; 04/11/2026`` on the 5th records the 4th (French or ISO date)."""
    reference = validated(bot)
    say(bot, "camille.martin", f"commande {reference}; EJ 2100123456")
    say(bot, "lea.dupont", f"service-fait {reference}; 2 000")
    clock.now = datetime(2026, 11, 2, 10, tzinfo=UTC)
    say(bot, "julien.moreau", "certifier SF-2026-0001")
    clock.now = datetime(2026, 11, 5, 10, tzinfo=UTC)
    assert "enregistré le 4 novembre 2026" in say(bot, "camille.martin", "paiement SF-2026-0001; 04/11/2026")
    with engine.connect() as conn:
        assert str(conn.execute(sa.text("SELECT paid_on FROM service_done")).scalar())[:10] == "2026-11-04"
    assert "payé le 4 novembre 2026" in say(bot, "camille.martin", "historique SF-2026-0001")


def test_a_quote_validated_in_december_and_ordered_in_january_moves_its_reservation(bot: Bot, engine: Engine,
                                                                                 clock) -> None:  # type: ignore[no-untyped-def]
    """Validated on 10 December 2025, ordered on 5 January 2026: 2025's AE are released, 2026's engaged."""
    clock.now = datetime(2025, 12, 10, 10, tzinfo=UTC)
    before_2025, before_2026 = balance(engine, 2025), balance(engine, 2026)
    reference = validated(bot, "30 000")
    assert balance(engine, 2025).ae_reserved_cents - before_2025.ae_reserved_cents == 3_000_000
    clock.now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert "3 000 000,00" not in (said := say(bot, "camille.martin", f"commande {reference}; EJ 2100000001"))
    assert "30 000,00 € d'AE engagées sur 2026" in said
    assert balance(engine, 2025).ae_committed_cents == before_2025.ae_committed_cents
    assert balance(engine, 2026).ae_engaged_cents - before_2026.ae_engaged_cents == 3_000_000


def test_closing_an_order_releases_what_was_never_certified(bot: Bot, engine: Engine) -> None:
    """An order of 12 000 € with 4 000 € certified, closed the same year: 8 000 € of AE are free again,
    and the card says soldé."""
    reference = validated(bot)
    say(bot, "camille.martin", f"commande {reference}; EJ 2100123456")
    say(bot, "lea.dupont", f"service-fait {reference}; 4 000")
    say(bot, "julien.moreau", "certifier SF-2026-0001")
    before = balance(engine)
    said = say(bot, "camille.martin", f"solder {reference}; fin de la mission")
    assert f"C'est fait : commande {reference} soldée. 8 000,00 € non certifiés libérés : des AE 2026 de nouveau " \
        "disponibles." in said
    after = balance(engine)
    assert before.ae_committed_cents - after.ae_committed_cents == 800_000
    assert before.restes_all_years_cents - after.restes_all_years_cents == 800_000
    assert status(engine, reference) == "closed"
    trail = say(bot, "camille.martin", f"historique {reference}")
    assert "bon de commande enregistré par Camille Martin (terminal) — EJ 2100123456" in trail
    assert "commande soldée par Camille Martin (terminal) — 8 000,00 € non certifiés libérés — motif : fin de la " \
        "mission" in trail


def test_the_managers_pending_list_has_the_orders_to_place_and_the_payments_to_record(bot: Bot) -> None:
    """Camille's en-attente lists the validated quote with Passer commande, and the certified service done
    to pay, saying its order is not recorded yet; Julien's does not."""
    reference = validated(bot)
    say(bot, "lea.dupont", f"service-fait {reference}; 2 000")
    say(bot, "julien.moreau", "certifier SF-2026-0001")
    reply = bot.message(Request("console", "camille.martin", "en-attente"))
    text = plain(reply.text)
    assert "1 bon de commande à enregistrer (devis validés)" in text
    assert f"• {reference} · Dédale · 12 000,00 € · Scopyleft — validé depuis 0 j" in text
    assert "1 paiement à enregistrer" in text
    assert f"• SF-2026-0001 sur {reference} · Dédale · 2 000,00 € — certifié depuis 0 j · bon de commande pas " \
        "encore enregistré" in text
    assert [b.label for b in reply.buttons] == [f"Passer commande {reference}"]
    assert "bon de commande à enregistrer" not in say(bot, "julien.moreau", "en-attente")


def test_an_order_with_a_service_done_waiting_cannot_be_closed(bot: Bot, engine: Engine) -> None:
    """solder is refused while a service done on the order waits for its certification; nothing changes."""
    reference = validated(bot)
    say(bot, "camille.martin", f"commande {reference}; EJ 2100123456")
    say(bot, "lea.dupont", f"service-fait {reference}; 4 000")
    audit = audit_count(engine)
    assert f"{reference} ne peut pas être soldé : un service fait attend encore sa certification (SF-2026-0001)" in \
        say(bot, "camille.martin", f"solder {reference}")
    assert status(engine, reference) == "ordered" and audit_count(engine) == audit


# --------------------------------------------------------------------------- retirer


def test_the_submitter_withdraws_her_pending_quote_and_the_intrapreneur_card_says_so(stub: StubChat) -> None:
    """Léa withdraws her quote: she is answered, Julien's request loses its buttons and says Retiré."""
    stub.say("lea.dupont", "devis dedale; 3 000; Arawa; Audit")
    stub.forget_so_far()
    assert "C'est fait : le devis D-2026-0001 est retiré ; rien n'était réservé." in \
        stub.say("lea.dupont", "retirer D-2026-0001; devis remplacé")
    stub.expect("lea.dupont", kind="reply")
    card = stub.expect("julien.moreau", "Retiré", "Léa Dupont", "devis remplacé", kind="update")
    assert card.buttons == []


def test_a_manager_withdraws_a_quote_and_its_submitter_is_told(stub: StubChat) -> None:
    """Camille withdraws Léa's quote: Léa gets a direct message saying who did it."""
    stub.say("lea.dupont", "devis dedale; 3 000; Arawa; Audit")
    stub.forget_so_far()
    stub.say("camille.martin", "retirer D-2026-0001")
    stub.expect("camille.martin", "retiré", kind="reply")
    stub.expect("julien.moreau", "Retiré", kind="update")
    stub.expect("lea.dupont", "Votre devis D-2026-0001 (Arawa) a été retiré par Camille Martin.", kind="dm")


def test_someone_else_cannot_withdraw_a_quote(bot: Bot, engine: Engine) -> None:
    """Thomas (a coach of another startup) and Julien (the intrapreneur who decides) cannot withdraw Léa's quote."""
    say(bot, "lea.dupont", "devis dedale; 3 000; Arawa; Audit")
    for who in ("thomas.roux", "julien.moreau"):
        assert "Seule la personne qui a soumis D-2026-0001 (Léa Dupont), ou un gestionnaire, peut le retirer" in \
            say(bot, who, "retirer D-2026-0001")
    assert status(engine, "D-2026-0001") == "pending"


def test_a_validated_quote_cannot_be_withdrawn(bot: Bot, engine: Engine) -> None:
    """Once validated, retirer says so; the reservation stays."""
    reference = validated(bot)
    assert f"{reference} est déjà validé" in say(bot, "lea.dupont", f"retirer {reference}")
    assert status(engine, reference) == "validated"


# --------------------------------------------------------------------------- wrong steps: said, nothing changed


@pytest.mark.parametrize(("command", "answer"), [
    ("commande {ref}; EJ 12345", "Numéro d'EJ illisible : « 12345 »"),
    ("commande {ref}; EJ 21001234567", "Numéro d'EJ illisible"),
    ("commande {ref}; EJ 21OO123456", "Numéro d'EJ illisible"),
    ("commande {ref}; BC 4500012345", "Indiquez l'EJ"),
    ("commande D-2026-9999; EJ 2100123456", "Je ne trouve pas le devis D-2026-9999"),
    ("commande", "Précisez le devis et l'EJ"),
    ("commande {ref}; EJ 2100123456; BC " + "9" * 41, "dépasse 40 caractères"),
    ("paiement SF-2026-0042", "Je ne trouve pas le service fait SF-2026-0042"),
    ("paiement", "Précisez le service fait"),
    ("solder {ref}", "seule une commande passée (EJ enregistré) peut être soldée"),
    ("solder D-2026-9999", "Je ne trouve pas le devis D-2026-9999"),
])
def test_a_wrong_order_step_is_answered_and_changes_nothing(bot: Bot, engine: Engine, command: str,
                                                             answer: str) -> None:
    """A bad EJ, no EJ, an unknown reference, a missing argument, a too long BC, a step out of order."""
    reference = validated(bot)
    audit = audit_count(engine)
    assert answer in say(bot, "camille.martin", command.format(ref=reference))
    assert status(engine, reference) == "validated" and audit_count(engine) == audit


def test_an_ej_serves_one_order(bot: Bot, engine: Engine) -> None:
    """The EJ of an order given again for another quote is refused with the order that carries it."""
    first, second = validated(bot), validated(bot, "4 000")
    say(bot, "camille.martin", f"commande {first}; EJ 2100123456")
    assert f"L'EJ 2100123456 est déjà celui de la commande {first}" in \
        say(bot, "camille.martin", f"commande {second}; EJ 2100123456")
    assert status(engine, second) == "validated"


def test_only_managers_place_orders_and_record_payments(bot: Bot, engine: Engine) -> None:
    """Julien (intrapreneur) and Léa (coach) are told commande, paiement and solder are for the managers."""
    reference = validated(bot)
    for who in ("julien.moreau", "lea.dupont"):
        for command in (f"commande {reference}; EJ 2100123456", "paiement SF-2026-0001", f"solder {reference}"):
            assert "réservée aux gestionnaires" in say(bot, who, command)
    assert status(engine, reference) == "validated"


@pytest.mark.parametrize(("typed", "answer"), [
    ("2026-11-06", "Le 6 novembre 2026 est dans le futur"),
    ("demain", "Date de paiement illisible : « demain »"),
    ("2026-02-30", "Date de paiement illisible"),
    ("2026-11-01", "un paiement ne peut pas le précéder"),
])
def test_a_wrong_payment_date_is_refused(bot: Bot, engine: Engine, typed: str, answer: str) -> None:
    """A future day, an unreadable one, one before the certification: said, the service done stays to pay."""
    reference = validated(bot)
    say(bot, "camille.martin", f"commande {reference}; EJ 2100123456")
    say(bot, "lea.dupont", f"service-fait {reference}; 2 000")
    say(bot, "julien.moreau", "certifier SF-2026-0001")
    assert answer in say(bot, "camille.martin", f"paiement SF-2026-0001; {typed}")
    assert status(engine, "SF-2026-0001") == "certified"


def test_a_service_done_on_an_order_not_placed_waits_for_its_ej_to_be_paid(bot: Bot, engine: Engine) -> None:
    """Filed and certified on a validated quote without its order: its card says so, and its payment is
    refused until the EJ is recorded; then it goes."""
    reference = validated(bot)
    filed = say(bot, "lea.dupont", f"service-fait {reference}; 2 000")
    assert "SF-2026-0001" in filed
    say(bot, "julien.moreau", "certifier SF-2026-0001")
    assert f"Le bon de commande de {reference} n'est pas encore enregistré : SF-2026-0001 sera payé une fois l'EJ " \
        "saisi" in say(bot, "camille.martin", "paiement SF-2026-0001")
    assert status(engine, "SF-2026-0001") == "certified"
    say(bot, "camille.martin", f"commande {reference}; EJ 2100123456")
    assert "C'est fait : paiement de SF-2026-0001" in say(bot, "camille.martin", "paiement SF-2026-0001")


def test_a_pending_service_done_cannot_be_paid(bot: Bot, engine: Engine) -> None:
    """paiement on a service done not certified yet says what the step needs."""
    reference = validated(bot)
    say(bot, "camille.martin", f"commande {reference}; EJ 2100123456")
    say(bot, "lea.dupont", f"service-fait {reference}; 2 000")
    assert "SF-2026-0001 est en attente : seul un service fait certifié peut être payé. Rien n'a changé." in \
        say(bot, "camille.martin", "paiement SF-2026-0001")
    assert status(engine, "SF-2026-0001") == "pending"
