"""The reference data file: the example loads, every broken file is refused with its key and reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from handlers.importer import ImportFileError, parse_reference
from tests.chat import runtime_of

EXAMPLE = (Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml").read_text(encoding="utf-8")


def test_the_example_file_is_the_seed_convention() -> None:
    """examples/convention-culture.toml holds the seed agreement, its three allocations (in cents) and CHORUS refs."""
    data = parse_reference(EXAMPLE)
    assert data.convention is not None
    assert (data.convention.reference, data.convention.starts, data.convention.ends) == (
        "MC-DINUM-2020", date(2020, 11, 1), date(2022, 12, 31))
    assert data.convention.chorus_centre_de_cout == "CCCSG21075"
    assert data.managers_channels == {"slack": "C0PILOTAGE", "mattermost": "pilotage-channel-id",
                                      "matrix": "!pilotage:agent.tchap.example.org"}
    assert data.accounts["claire.petit"] == {"slack": "U01CLAIRE",
                                             "matrix": "@claire.petit-culture.gouv.fr:agent.tchap.example.org"}
    assert data.allocations == [(2020, 5_000_000, 0), (2021, 80_000_000, 65_000_000),
                                (2022, 150_000_000, 170_000_000)]
    assert [p.id for p in data.people] == ["camille.martin", "claire.petit", "lea.dupont"]
    startup, intrapreneurs, coaches = data.startups[0]
    assert (startup.id, startup.phase, intrapreneurs, coaches) == ("archives-ouvertes", "construction",
                                                                   ["claire.petit"], ["lea.dupont"])
    assert date(2022, 6, 15) in data.committees


BROKEN = {
    "not TOML": (EXAMPLE + "\n[[oops", "fichier", "TOML invalide"),
    "unknown section": (EXAMPLE + '\n[[budget]]\nyear = 2023\n', "budget", "section inconnue"),
    "float amount": (EXAMPLE.replace('ae = "800000"', "ae = 800000.5"), "allocation[2].ae", "jamais"),
    "negative amount": (EXAMPLE.replace('ae = "800000"', "ae = -800000"), "allocation[2].ae", "montant négatif"),
    "absurd amount": (EXAMPLE.replace('ae = "800000"', "ae = 9000000000000000000"), "allocation[2].ae",
                      "montant trop élevé (au plus 1 000 000 000 000 €)"),
    "amount as words": (EXAMPLE.replace('ae = "800000"', 'ae = "huit cent mille"'), "allocation[2].ae",
                        "n'est pas un montant"),
    "amount with three decimals": (EXAMPLE.replace('ae = "800000"', 'ae = "800000,001"'), "allocation[2].ae",
                                   "trop de décimales"),
    "missing amount": (EXAMPLE.replace('ae = "1500000"\n', ""), "allocation[3].ae", "montant obligatoire absent"),
    "year twice": (EXAMPLE.replace("year = 2021", "year = 2020"), "allocation[2].year", "apparaît deux fois"),
    "year not a year": (EXAMPLE.replace("year = 2021", 'year = "2021"'), "allocation[2].year", "année attendue"),
    "missing convention key": (EXAMPLE.replace('delegataire = "DINUM"\n', ""), "convention.delegataire",
                               "clé obligatoire absente"),
    "end before start": (EXAMPLE.replace("ends = 2022-12-31", "ends = 2019-12-31"), "convention.ends",
                         "doit être après convention.starts"),
    "bad date": (EXAMPLE.replace("starts = 2020-11-01", 'starts = "1er novembre"'), "convention.starts",
                 "date attendue"),
    "bad person id": (EXAMPLE.replace('id = "lea.dupont"', 'id = "Léa Dupont"'), "person[3].id",
                      "identifiant en minuscules"),
    "person twice": (EXAMPLE.replace('id = "lea.dupont"', 'id = "claire.petit"'), "person[3].id",
                     "apparaît deux fois"),
    "unknown role": (EXAMPLE.replace('roles = ["manager", "admin"]', 'roles = ["boss"]'), "person[1].roles",
                     "liste parmi"),
    "same slack id twice": (EXAMPLE.replace('slack_id = "U01LEA"', 'slack_id = "U01CLAIRE"'), "person.slack_id",
                            "U01CLAIRE"),
    "unknown intrapreneur": (EXAMPLE.replace('intrapreneurs = ["claire.petit"]', 'intrapreneurs = ["nobody"]'),
                             "startup[1].intrapreneurs", "personne inconnue « nobody »"),
    "unknown phase": (EXAMPLE.replace('phase = "construction"', 'phase = "croissance"'), "startup[1].phase",
                      "investigation, construction, acceleration ou consolidation"),
    "unknown platform": (EXAMPLE.replace('channel = { slack = "C0ARCHIVES"', 'channel = { teams = "T1", slack = "C0"'),
                         "startup[1].channel", "plateforme inconnue : teams"),
    "too long name": (EXAMPLE.replace('name = "Archives Ouvertes"', f'name = "{"A" * 300}"'), "startup[1].name",
                      "200 caractères au plus"),
    "bad committee date": (EXAMPLE.replace("date = 2022-06-15", 'date = "juin"'), "committee[3].date",
                           "date attendue"),
}


@pytest.mark.parametrize(("text", "key", "reason"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_is_refused_with_the_key_and_the_reason(text: str, key: str, reason: str) -> None:
    """Each mistake names where it is (section[n].key) and why, in French."""
    with pytest.raises(ImportFileError) as refused:
        parse_reference(text)
    assert refused.value.key == key
    assert reason in refused.value.reason


def test_files_that_are_not_utf8_or_too_big_are_refused() -> None:
    """Bytes that are not UTF-8, or a file of several megabytes, are refused before parsing."""
    with pytest.raises(ImportFileError, match="UTF-8"):
        parse_reference("[convention]\ntitle = \"é\"".encode("latin-1"))
    with pytest.raises(ImportFileError, match="trop volumineux"):
        parse_reference(b"#" * 6_000_000)


def test_amounts_can_be_integers_or_strings_in_euros() -> None:
    """`ae = 1500000` and `ae = "1 500 000,00"` mean the same; `cp = "0"` is allowed."""
    as_int = parse_reference(EXAMPLE.replace('ae = "1500000"', "ae = 1500000"))
    as_text = parse_reference(EXAMPLE.replace('ae = "1500000"', 'ae = "1 500 000,00"'))
    assert as_int.allocations == as_text.allocations
    assert as_int.allocations[0] == (2020, 5_000_000, 0)


def test_people_and_startups_left_out_of_the_file_are_deactivated_not_deleted(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Re-importing without Thomas and without Locadocs: both become inactive, their history stays, the bot
    no longer knows Thomas, and Locadocs takes no new quote; putting them back reactivates them."""
    from bot.demo import demo_reference_text
    from handlers.importer import parse_reference
    from handlers.markup import plain
    from handlers.types import Request
    from storage.db import session_factory, unit_of_work
    from storage.models import Person, Startup
    from storage.reference import import_reference

    sessions = session_factory(engine)
    text = demo_reference_text(clock().year)
    with unit_of_work(sessions) as session:
        import_reference(session=session, data=parse_reference(text))
    bot = runtime_of(engine, clock).bot
    submitted = bot.message(Request("console", "thomas.roux", "devis locadocs; 1000; Arawa; Audit"))
    assert "enregistré" in plain(submitted.text)

    data = parse_reference(text)
    data.people = [p for p in data.people if p.id != "thomas.roux"]
    data.startups = [(s, i, [c for c in cs if c != "thomas.roux"]) for s, i, cs in data.startups if s.id != "locadocs"]
    with unit_of_work(sessions) as session:
        report = import_reference(session=session, data=data)
    assert report.deactivated == {"person": 1, "startup": 1}
    with unit_of_work(sessions) as session:
        thomas, locadocs = session.get(Person, "thomas.roux"), session.get(Startup, "locadocs")
        assert thomas is not None and not thomas.active and locadocs is not None and not locadocs.active
    assert "Je ne vous connais pas encore" in bot.message(Request("console", "thomas.roux", "budget")).text
    refused = plain(bot.message(Request("console", "camille.martin", "devis locadocs; 1000; Arawa; Audit")).text)
    assert "n'est plus suivie par l'incubateur" in refused
    history = plain(bot.message(Request("console", "camille.martin", "historique D-2026-0001")).text)
    assert "Thomas Roux" in history  # the trail still names him

    with unit_of_work(sessions) as session:
        import_reference(session=session, data=parse_reference(text))
    assert "Je ne vous connais pas" not in bot.message(Request("console", "thomas.roux", "budget")).text
