"""Preparing a committee and watching envelopes, as the scheduler drives them: the coaches are asked for their
startups' inputs 14 days before (once), the managers get the committee file 2 days before, and an envelope
about to run out is announced to its coaches and the managers (once).

The demo world: committees on 16 June and 15 December 2026; Léa coaches Collectif Objets and Dédale,
Thomas coaches Euphrosyne and Locadocs.
"""

from __future__ import annotations

import pytest

from handlers import envelopes, preparation
from handlers.importer import parse_reference
from handlers.types import Action, Request, Submission
from storage import reference
from storage.db import unit_of_work
from tests.test_reminders import Incubator, commit, make_incubator, paris

INPUTS = {"usable": "98 % des recherches aboutissent", "used": "1 200 agents par mois", "useful": "2 h gagnées",
          "impactful": "délais d'instruction divisés par deux", "stats_url": "https://dedale.beta.gouv.fr/stats",
          "objectives": "Ouvrir à trois nouvelles DRAC", "budget": "180 000"}


@pytest.fixture
def incubator(engine, world, clock) -> Incubator:  # type: ignore[no-untyped-def]
    return make_incubator(engine, clock)


def kinds(fired: list, kind: str) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return sorted((r.target, r.occurrence) for r in fired if r.kind == kind)


def test_each_coach_is_asked_for_the_inputs_14_days_before_once_and_fills_the_form(incubator: Incubator) -> None:
    """1 December at 09:00 (J-14): Léa is asked for Collectif Objets and Dédale, Thomas for his two; not again; Léa's
    button opens the form, and what she gives is stored and stops the request for Dédale."""
    assert kinds(incubator.sweep(paris(2026, 12, 1, 8, 59)), preparation.INPUTS_REQUEST) == []
    fired = incubator.sweep(paris(2026, 12, 1))
    assert kinds(fired, preparation.INPUTS_REQUEST) == [
        ("person:lea.dupont", "2026-12-15:collectif-objets"), ("person:lea.dupont", "2026-12-15:dedale"),
        ("person:thomas.roux", "2026-12-15:euphrosyne"), ("person:thomas.roux", "2026-12-15:locadocs")]
    assert kinds(incubator.sweep(paris(2026, 12, 1, 9, 5)), preparation.INPUTS_REQUEST) == []
    asked = incubator.dms("lea.dupont", "Préparation du comité du 15 décembre 2026")
    assert len(asked) == 2 and "(dans 14 jours) : Dédale y passe" in asked[1] and "preparer dedale" in asked[1]

    bot = incubator.runtime.bot
    opened = bot.action(Action("console", "lea.dupont", "committee.inputs", "2026-12-15:dedale"))
    assert opened.form is not None and opened.form.title == "Comité du 15 décembre 2026 — Dédale"
    wrong = bot.submit(Submission("console", "lea.dupont", opened.form.callback, opened.form.value,
                                  {**INPUTS, "stats_url": "dedale/stats"}))
    assert set(wrong.errors) == {"stats_url"}
    done = bot.submit(Submission("console", "lea.dupont", opened.form.callback, opened.form.value, INPUTS))
    assert not done.errors and "les éléments de Dédale pour le comité du 15 décembre 2026 sont enregistrés" in done.text
    stranger = bot.submit(Submission("console", "thomas.roux", opened.form.callback, opened.form.value, INPUTS))
    assert "Seuls les coachs de Dédale et les gestionnaires" in stranger.text

    file_fired = incubator.sweep(paris(2026, 12, 13))
    assert kinds(file_fired, preparation.COMMITTEE_FILE) == [("managers", "2026-12-15")]
    assert kinds(incubator.sweep(paris(2026, 12, 13, 10)), preparation.COMMITTEE_FILE) == []
    sent = incubator.managers("Dossier du comité du 15 décembre 2026")
    assert len(sent) == 1
    page = sent[0].split("## Dédale")[1].split("---")[0]
    for expected in ("Phase : construction", "Pas d'enveloppe", "Utilisable : 98 % des recherches aboutissent",
                     "Page /stats : https://dedale.beta.gouv.fr/stats", "Budget demandé : 180 000,00 €"):
        assert expected in page
    assert "Les éléments n'ont pas encore été transmis." in sent[0].split("## Euphrosyne")[1]


def test_preparer_opens_the_same_form_from_the_chat(incubator: Incubator) -> None:
    """Léa types `preparer dedale`: the inputs form for the next committee opens; Julien (intrapreneur) is refused."""
    bot = incubator.runtime.bot
    reply = bot.message(Request("console", "lea.dupont", "preparer dedale"))
    assert reply.form is not None and reply.form.value == "2026-12-15:dedale"
    assert "Seuls les coachs de Dédale" in bot.message(Request("console", "julien.moreau", "preparer dedale")).text


def test_an_envelope_projected_to_run_out_within_45_days_is_announced_once(incubator: Incubator) -> None:
    """Dédale validated 60 000 € over the last three months and its envelope is 20 000 €: it runs out in about a
    month, so Léa (its coach) and the managers are told to plan the committee — once."""
    for month in (8, 9, 10):
        commit(incubator, "dedale", 20_000_00, paris(2026, month, 15))
    said = incubator.say("camille.martin", "decision dedale; relais; 20 000; 2027-03-31", paris(2026, 11, 5, 10))
    assert "Décision enregistrée" in said
    budget = incubator.say("camille.martin", "budget dedale", paris(2026, 11, 5, 10))
    assert "Rythme des trois derniers mois : 20 000,00 € par mois." in budget
    assert "À ce rythme, l'enveloppe sera épuisée vers le" in budget
    fired = incubator.sweep(paris(2026, 11, 5, 10, 1))
    envelope = [r for r in fired if r.kind == envelopes.ENVELOPE_ALERT]
    assert sorted(r.target for r in envelope) == ["managers", "person:lea.dupont"]
    assert "Planifiez son passage en comité" in incubator.dms("lea.dupont", "L'enveloppe de Dédale")[0]
    assert [r for r in incubator.sweep(paris(2026, 11, 6, 10)) if r.kind == envelopes.ENVELOPE_ALERT] == []


def test_the_committee_keys_of_the_reference_file(incubator: Incubator) -> None:
    """`president` and `startups` of a [[committee]] are imported: comite names the president and the startups
    reviewed, and only their coaches are asked for inputs; an unknown person is refused with its key."""
    from bot.demo import demo_reference_text
    from handlers.importer import ImportFileError

    text = demo_reference_text(2026).replace('[[committee]]\ndate = 2026-12-15',
                                             '[[committee]]\ndate = 2026-12-15\npresident = "hugo.bernard"\n'
                                             'startups = ["dedale"]')
    with unit_of_work(incubator.runtime.services.sessions) as session:
        reference.import_reference(session=session, data=parse_reference(text))
    comite = incubator.say("lea.dupont", "comite", paris(2026, 11, 20))
    assert "Présidé par Hugo Bernard." in comite and "Startups examinées : Dédale." in comite
    fired = incubator.sweep(paris(2026, 12, 1))
    assert kinds(fired, preparation.INPUTS_REQUEST) == [("person:lea.dupont", "2026-12-15:dedale")]
    with pytest.raises(ImportFileError) as refused:
        parse_reference(text.replace('president = "hugo.bernard"', 'president = "nobody"'))
    assert "committee[4].president" in str(refused.value)


def test_comite_dossier_shows_the_file_of_the_next_committee_to_managers(incubator: Incubator) -> None:
    """Camille types `comite dossier`: the file of 15 December, one page per startup; Léa (a coach) is refused."""
    shown = incubator.say("camille.martin", "comite dossier", paris(2026, 11, 20))
    assert "# Comité d'investissement du 15 décembre 2026" in shown
    assert [line for line in shown.splitlines() if line.startswith("## ")] == [
        "## Collectif Objets", "## Dédale", "## Euphrosyne", "## Locadocs"]
    assert "réservée aux gestionnaires" in incubator.say("lea.dupont", "comite dossier", paris(2026, 11, 20))
