"""Whole conversations, as people have them; each runs on every chat platform."""

from __future__ import annotations

from tests.chat import ChatDriver


def test_coach_quote_reaches_intrapreneur_who_validates_and_coach_is_told(chat: ChatDriver) -> None:
    """Coach types `devis …` → intrapreneur gets Valider/Refuser → validates → message updated, coach told."""
    said = chat.say("lea.dupont", "/incubot devis dedale; 12 500 HT; Scopyleft; Sprint 7")
    assert "D-2026-0001" in said and "15 000,00 € TTC" in said.text and "Julien Moreau" in said.text

    request = chat.inbox("julien.moreau")[-1]
    assert "D-2026-0001" in request and "Scopyleft" in request
    assert request.buttons == ["Valider", "Refuser"]

    clicked = chat.click("julien.moreau", "D-2026-0001", "Valider")
    assert "validé" in clicked.text

    updated = chat.inbox("julien.moreau")[-1]
    assert updated.buttons == [] and "Validé" in updated and "Julien Moreau" in updated
    told = chat.inbox("lea.dupont")[-1]
    assert "D-2026-0001" in told and "validé" in told.text

    budget = chat.say("lea.dupont", "budget")
    assert "engagées 15 000,00 €" in budget.text


def test_refusal_asks_a_reason_which_the_submitter_receives(chat: ChatDriver) -> None:
    """Refuser opens a form for the reason; the reason shows in the updated message and reaches the coach."""
    chat.say("thomas.roux", "devis locadocs; 4 000; Atelier Pixel; Entretiens")
    opened = chat.click("nadia.benali", "D-2026-0001", "Refuser")
    assert "Motif" in opened.text or "form" in opened.text
    done = chat.fill("nadia.benali", {"reason": "Hors périmètre <!channel>"})
    assert "refusé" in done.text
    updated = chat.inbox("nadia.benali")[-1]
    assert updated.buttons == [] and "Refusé" in updated and "Hors périmètre" in updated
    told = chat.inbox("thomas.roux")[-1]
    assert "refusé" in told.text and "Hors périmètre" in told.text


def test_someone_else_clicking_is_refused_and_nothing_changes(chat: ChatDriver) -> None:
    """Only an intrapreneur of that startup may decide: another startup's intrapreneur is told so."""
    chat.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    other = chat.say("claire.petit", "valider D-2026-0001")
    assert "Seul un intrapreneur de Dédale" in other.text
    assert chat.inbox("julien.moreau")[-1].buttons == ["Valider", "Refuser"]
    assert "engagées 0,00 €" in chat.say("lea.dupont", "budget").text


def test_second_click_changes_nothing(chat: ChatDriver) -> None:
    """A double click validates once; the second click says it is already decided."""
    chat.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    again = chat.say("julien.moreau", "valider D-2026-0001")
    assert "déjà validé" in again.text
    assert "engagées 3 000,00 €" in chat.say("camille.martin", "budget").text


def test_service_done_is_certified_and_consumes_cp(chat: ChatDriver) -> None:
    """A partial service done shows its share of the order; certifying it consumes CP."""
    chat.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    said = chat.say("lea.dupont", "service-fait D-2026-0001; 2 500; octobre")
    assert "SF-2026-0001" in said and "25 %" in said.text
    request = chat.inbox("julien.moreau")[-1]
    assert request.buttons == ["Certifier", "Refuser"]
    chat.click("julien.moreau", "SF-2026-0001", "Certifier")
    assert "consommés 2 500,00 €" in chat.say("lea.dupont", "budget").text


def test_stranger_is_told_whom_to_ask(chat: ChatDriver) -> None:
    """Someone the bot does not know is told whom to ask, and nothing happens."""
    said = chat.say("inconnu", "devis dedale; 3000; Arawa; Audit")
    assert "Je ne vous connais pas" in said.text and "Camille Martin" in said.text
