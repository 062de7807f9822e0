"""Whole conversations, as people have them; each runs on every chat platform, Matrix included
(people on a real Synapse: reactions for buttons, questions one by one for forms, see tests/chat_matrix.py)."""

from __future__ import annotations

from tests.chat import ChatDriver
from tests.conftest import ON_EVERY_PLATFORM

pytestmark = ON_EVERY_PLATFORM


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
    assert "réservées 15 000,00 €" in budget.text


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
    assert "réservées 0,00 €" in chat.say("lea.dupont", "budget").text


def test_second_click_changes_nothing(chat: ChatDriver) -> None:
    """A double click validates once; the second click says it is already decided."""
    chat.say("lea.dupont", "devis dedale; 3000; Arawa; Audit")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    again = chat.say("julien.moreau", "valider D-2026-0001")
    assert "déjà validé" in again.text
    assert "réservées 3 000,00 €" in chat.say("camille.martin", "budget").text


def test_service_done_is_certified_and_is_cp_to_pay(chat: ChatDriver) -> None:
    """A partial service done shows its share of the order; certifying it puts CP à payer (consumed at payment)."""
    chat.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    said = chat.say("lea.dupont", "service-fait D-2026-0001; 2 500; octobre")
    assert "SF-2026-0001" in said and "25 %" in said.text
    request = chat.inbox("julien.moreau")[-1]
    assert request.buttons == ["Certifier", "Refuser"]
    chat.click("julien.moreau", "SF-2026-0001", "Certifier")
    assert "à payer 2 500,00 €" in chat.say("lea.dupont", "budget").text


def test_stranger_is_told_whom_to_ask(chat: ChatDriver) -> None:
    """Someone the bot does not know is told whom to ask, and nothing happens."""
    said = chat.say("inconnu", "devis dedale; 3000; Arawa; Audit")
    assert "Je ne vous connais pas" in said.text and "Camille Martin" in said.text


def test_help_says_what_each_person_can_do_given_their_roles(chat: ChatDriver) -> None:
    """`aide` lists what this person may do: coaches submit, intrapreneurs decide, managers get the report."""
    coach = chat.say("lea.dupont", "aide").text
    assert "Bonjour Léa Dupont" in coach and "coach de Dédale" in coach
    assert "devis STARTUP; MONTANT; FOURNISSEUR; OBJET" in coach and "budget [ANNÉE] [STARTUP]" in coach
    assert "valider" not in coach and "rapport" not in coach

    intrapreneur = chat.say("julien.moreau", "help").text
    assert "intrapreneur de Dédale" in intrapreneur and "refuser RÉF; MOTIF" in intrapreneur
    assert "Valider / Refuser" in intrapreneur and "rapport" not in intrapreneur

    manager = chat.say("camille.martin", "aide").text
    assert "gestionnaire" in manager and "rapport [AAAA-MM]" in manager and "valider" not in manager


def test_budget_breakdown_and_pending_quotes_are_for_managers_only(chat: ChatDriver) -> None:
    """Everyone known sees the year's totals; only managers see the per-startup breakdown and pending quotes."""
    chat.say("lea.dupont", "devis dedale; 12 500 HT; Scopyleft; Sprint 7")
    coach = chat.say("lea.dupont", "budget").text
    assert "allouées 1 500 000,00 €" in coach and "alloués 1 700 000,00 €" in coach
    assert "Par startup" not in coach and "D-2026-0001" not in coach

    manager = chat.say("camille.martin", "budget").text
    assert "allouées 1 500 000,00 €" in manager and "Par startup" in manager
    assert ("Dédale : AE 0,00 € / 0,00 € · CP 0,00 € / 0,00 € · restes 0,00 € — 1 devis en attente (15 000,00 €)"
            in manager)
    assert "Devis en attente : 1, pour 15 000,00 €" in manager and "D-2026-0001 · Dédale · 15 000,00 €" in manager


def test_budget_of_a_startup_and_of_another_year(chat: ChatDriver) -> None:
    """`budget dedale` gives the team its figures; `budget 2025` another year; an unknown year lists the known ones."""
    chat.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    team = chat.say("julien.moreau", "budget dedale").text
    assert "Budget 2026 — Dédale" in team and "AE réservées : 10 000,00 €" in team
    assert "allouées 800 000,00 €" in chat.say("lea.dupont", "budget 2025").text
    unknown = chat.say("lea.dupont", "budget 2031").text
    assert "Aucune dotation n'est enregistrée pour 2031. Années connues : 2024, 2025, 2026." in unknown


def test_pending_shows_my_decisions_to_an_intrapreneur_and_everything_to_a_manager(chat: ChatDriver) -> None:
    """`en-attente`: the intrapreneur sees their startup's requests (with a button), the manager sees all."""
    chat.say("lea.dupont", "devis dedale; 3 000; Arawa; Audit")
    chat.say("thomas.roux", "devis locadocs; 4 000; Atelier Pixel; Entretiens")

    julien = chat.say("julien.moreau", "en-attente")
    assert "D-2026-0001" in julien and "D-2026-0002" not in julien
    assert julien.buttons == ["Valider D-2026-0001"]

    manager = chat.say("camille.martin", "pending")
    assert "2 devis" in manager.text and "D-2026-0001" in manager and "D-2026-0002" in manager
    assert manager.buttons == []

    assert "Rien n'est en attente" in chat.say("claire.petit", "en-attente").text


def test_history_shows_the_whole_trail_of_a_quote(chat: ChatDriver) -> None:
    """`historique REF`: submitted, validated, service done requested, certified, refused with its reason."""
    chat.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    chat.say("lea.dupont", "service-fait D-2026-0001; 2 500; octobre")
    chat.click("julien.moreau", "SF-2026-0001", "Certifier")
    chat.say("lea.dupont", "service-fait D-2026-0001; 1 000; novembre")
    chat.say("julien.moreau", "refuser SF-2026-0002; pas encore livré")

    trail = chat.say("lea.dupont", "historique D-2026-0001").text
    for line in ("devis soumis par Léa Dupont", "devis validé par Julien Moreau",
                 "service fait demandé par Léa Dupont", "service fait certifié par Julien Moreau",
                 "service fait refusé par Julien Moreau", "motif : pas encore livré",
                 "Certifié à ce jour : 2 500,00 € sur 10 000,00 € (25 %) ; reste à certifier 7 500,00 € ; "
                 "payé 0,00 €."):
        assert line in trail, line
    assert trail.index("devis soumis") < trail.index("devis validé") < trail.index("service fait certifié")
    assert "service fait demandé" in chat.say("lea.dupont", "history SF-2026-0001").text


def test_committee_gives_the_date_the_countdown_and_what_to_prepare(chat: ChatDriver) -> None:
    """`comite`: the next investment committee, in how many days, and the list of what to prepare."""
    said = chat.say("lea.dupont", "comite").text
    assert "Prochain comité d'investissement : 15 décembre 2026 (dans 40 jours)." in said
    assert "À préparer" in said and "page /stats à jour" in said
    assert "15 décembre 2026" in chat.say("julien.moreau", "committee").text


def test_startups_lists_phases_people_and_budget_used(chat: ChatDriver) -> None:
    """`startups`: each startup with its phase, intrapreneurs, coaches and what it committed this year."""
    chat.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    said = chat.say("lea.dupont", "startups").text  # Dédale's coach: its money is hers to see
    assert "Startups de l'incubateur (4)" in said
    assert "Dédale" in said and "construction depuis le 1er février 2026" in said
    assert "intrapreneur(s) : Julien Moreau · coach(s) : Léa Dupont" in said
    assert "AE réservées 10 000,00 €" in said and "accélération" in said


def test_monthly_report_is_for_managers(chat: ChatDriver) -> None:
    """`rapport` gives managers last month's report; anyone else is told it is for managers."""
    report = chat.say("camille.martin", "rapport").text
    assert "Rapport mensuel — octobre 2026" in report and "Devis en attente" in report
    assert "Rapport mensuel — septembre 2026" in chat.say("hugo.bernard", "report 2026-09").text
    for who in ("lea.dupont", "julien.moreau"):
        refused = chat.say(who, "rapport").text
        assert "réservée aux gestionnaires" in refused and "Rapport mensuel" not in refused


def test_quote_form_opened_by_devis_without_arguments(chat: ChatDriver) -> None:
    """`devis` alone opens the form; filling it submits the quote exactly like the one-line command."""
    chat.say("lea.dupont", "/incubot devis")
    done = chat.fill("lea.dupont", {"startup": "dedale", "amount": "12 500", "tax": "HT", "supplier": "Scopyleft",
                                    "object": "Sprint 7"})
    assert "D-2026-0001" in done and "15 000,00 € TTC" in done.text
    request = chat.inbox("julien.moreau")[-1]
    assert "D-2026-0001" in request and request.buttons == ["Valider", "Refuser"]


def test_service_done_form_opened_without_arguments(chat: ChatDriver) -> None:
    """`service-fait` alone opens the form on the open orders; filling it asks the intrapreneur to certify."""
    chat.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    chat.say("lea.dupont", "/incubot service-fait")
    errors = chat.fill("lea.dupont", {"quote": "D-2026-0001", "amount": "20 000", "period": "octobre"})
    assert "dépasse ce qu'il reste à certifier" in errors.text
    done = chat.fill("lea.dupont", {"quote": "D-2026-0001", "amount": "2 500", "period": "octobre"})
    assert "SF-2026-0001" in done and "25 %" in done.text
    assert chat.inbox("julien.moreau")[-1].buttons == ["Certifier", "Refuser"]


def test_a_validation_beyond_the_credits_is_refused_and_managers_are_told_at_once(chat: ChatDriver) -> None:
    """A validation the year's AE cannot absorb is refused; the managers get an alert at once (art. 5)."""
    chat.say("lea.dupont", "devis dedale; 1 600 000; Scopyleft; Refonte")
    refused = chat.click("julien.moreau", "D-2026-0001", "Valider")
    assert "Crédits insuffisants : il reste 1 500 000,00 € en AE 2026" in refused.text
    assert chat.inbox("julien.moreau")[-1].buttons == ["Valider", "Refuser"]
    alert = chat.managers_channel()[-1]
    assert "Crédits insuffisants" in alert and "D-2026-0001" in alert and "Julien Moreau" in alert
    assert "réservées 0,00 €" in chat.say("camille.martin", "budget").text


def test_a_manager_submits_for_any_startup_but_cannot_decide(chat: ChatDriver) -> None:
    """Managers submit for any startup; only the startup's intrapreneur decides."""
    said = chat.say("camille.martin", "devis locadocs; 4 000; Atelier Pixel; Entretiens")
    assert "D-2026-0001" in said and "Nadia Benali" in said
    assert "Seul un intrapreneur de Locadocs" in chat.say("camille.martin", "valider D-2026-0001").text
    assert "C'est fait" in chat.say("nadia.benali", "valider D-2026-0001").text


def test_typed_refusal_with_or_without_the_semicolon(chat: ChatDriver) -> None:
    """`refuser REF; motif` and `refuser REF motif` both refuse with the reason; the coach receives it."""
    chat.say("lea.dupont", "devis dedale; 3 000; Arawa; Audit")
    chat.say("lea.dupont", "sf")  # the service-done alias is known (here: nothing to certify yet)
    chat.say("lea.dupont", "devis dedale; 4 000; Arawa; Audit bis")
    assert "C'est fait" in chat.say("julien.moreau", "refuser D-2026-0001; trop cher").text
    assert "C'est fait" in chat.say("julien.moreau", "refuser D-2026-0002 déjà commandé").text
    told = [m.text for m in chat.inbox("lea.dupont")]
    assert any("trop cher" in m for m in told) and any("déjà commandé" in m for m in told)
    assert "devis refusé par Julien Moreau" in chat.say("lea.dupont", "historique D-2026-0002").text


def test_a_validated_quote_goes_to_the_managers_who_place_its_order_with_the_ej_in_a_form(chat: ChatDriver) -> None:
    """The managers' channel gets a validated quote with Passer commande; a manager fills in its EJ
    (a wrong one is refused, nothing changed) and every copy of the quote shows it ordered."""
    chat.say("lea.dupont", "/incubot devis dedale; 12 000; Scopyleft; Sprint 7")
    chat.click("julien.moreau", "D-2026-0001", "Valider")
    to_order = chat.managers_channel()[-1]
    assert "D-2026-0001" in to_order and "bon de commande à passer" in to_order
    assert to_order.buttons == ["Passer commande"]

    opened = chat.click("camille.martin", "D-2026-0001", "Passer commande", channel="managers")
    assert "Bon de commande" in opened.text
    wrong = chat.fill("camille.martin", {"ej": "12345"})
    assert "Numéro d'EJ illisible" in wrong.text
    assert chat.managers_channel()[-1].buttons == ["Passer commande"]
    assert "Commandé" not in chat.inbox("julien.moreau")[-1]
    assert "réservées 12 000,00 € · engagées 0,00 €" in chat.say("camille.martin", "budget").text

    done = chat.fill("camille.martin", {"ej": "21 0012 3456", "bc": "BC-2026-77"})
    assert "bon de commande de D-2026-0001 enregistré — EJ 2100123456" in done.text
    ordered = chat.managers_channel()[-1]
    assert "Commandé" in ordered and "EJ 2100123456" in ordered and ordered.buttons == []
    assert "Commandé" in chat.inbox("julien.moreau")[-1]
    assert "est passé : EJ 2100123456" in chat.inbox("lea.dupont")[-1]
    assert "réservées 0,00 € · engagées 12 000,00 €" in chat.say("camille.martin", "budget").text
