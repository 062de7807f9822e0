"""The convention's own rules, as the managers, the operator and the délégant meet them: its period and its
termination (art. 7), a suspension (art. 5), the fin de gestion of each year, amendments kept in the audit trail
(art. 6), and the délégant's managers told of the art. 5 alerts.

The world is the demo's (convention MC-DINUM-2024, 1 November 2024 → 31 December 2026; managers Camille Martin
and Hugo Bernard), the clock Thursday 5 November 2026.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.demo import demo_reference_text
from handlers.i18n import Translator
from handlers.importer import ImportFileError, parse_reference
from handlers.markup import plain
from handlers.refusals import explain
from storage import ledger, rules
from storage.db import SessionFactory, alembic_config, make_engine, session_factory, unit_of_work, upgrade
from storage.errors import LedgerRefusal
from storage.models import Allocation, AuditEvent, Convention, Person
from storage.reference import import_reference
from tests.chat import RecordingSender, runtime_of
from tests.conftest import NOW, Clock, mattermost_id, slack_id, throwaway_pg_database
from tests.stub import StubChat, StubPlatform

PARIS = ZoneInfo("Europe/Paris")
CONVENTION = "convention:MC-DINUM-2024"
T = Translator("fr")


def paris(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=PARIS)


def reimport(sessions: SessionFactory, text: str, now: datetime = NOW) -> None:
    """The admin imports the demo reference file as changed in ``text`` (the people keep their chat ids)."""
    data = parse_reference(text)
    for person in data.people:
        data.accounts.setdefault(person.id, {}).update(slack=slack_id(person.id), mattermost=mattermost_id(person.id))
    with unit_of_work(sessions) as session:
        import_reference(session=session, data=data, now=now)


def demo(*, sides: dict[str, str] | None = None, replace: tuple[tuple[str, str], ...] = ()) -> str:
    """The demo reference file of 2026, with people's ``side`` keys and some lines replaced."""
    text = demo_reference_text(NOW.year)
    for person_id, side in (sides or {}).items():
        text = text.replace(f'id = "{person_id}"\n', f'id = "{person_id}"\nside = "{side}"\n', 1)
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def refusal(sessions: SessionFactory, when: datetime, year: int | None = None) -> str | None:
    """What a validation or an order is told at ``when`` (None: it may go on)."""
    with unit_of_work(sessions) as session:
        try:
            rules.check_orders_open(session=session, now=when, year=year or when.year)
        except LedgerRefusal as exc:
            return plain(explain(T, exc))
    return None


def trail(sessions: SessionFactory, subject: str) -> list[tuple[str, str | None, dict[str, object]]]:
    with unit_of_work(sessions) as session:
        return [(e.action, e.actor_id, json.loads(e.after) if e.after else {})
                for e in ledger.audit_trail(session=session, subject=subject)]


@pytest.fixture
def talk(engine: Engine, world: SessionFactory, clock: Clock) -> StubChat:
    """The bot in the terminal, with a platform that records what each person and the managers' channel get."""
    stub = StubPlatform()
    return StubChat(runtime_of(engine, clock, stub), stub)


# --------------------------------------------------------------------------- the convention's period


def test_nothing_is_validated_before_the_convention_starts_nor_after_it_ends(world: SessionFactory) -> None:
    """On 31 October 2024 the convention has not started, on 1 January 2027 it has ended: the answer says so, in
    French, with the date; on its first and its last day a validation goes on."""
    assert refusal(world, paris(2024, 10, 31)) == (
        "La convention MC-DINUM-2024 n'a pas encore commencé : elle prend effet le 1er novembre 2024. Aucun devis "
        "ne peut être validé ni commandé avant cette date ; rien n'a changé.")
    assert refusal(world, paris(2024, 11, 1)) is None
    assert refusal(world, paris(2026, 11, 5)) is None
    assert refusal(world, paris(2027, 1, 4), 2027) == (
        "La convention MC-DINUM-2024 a pris fin le 31 décembre 2026 : aucun devis ne peut plus être validé ni "
        "commandé ; rien n'a changé. Un avenant ou une nouvelle convention doit prendre le relais.")


# --------------------------------------------------------------------------- fin de gestion


def test_after_orders_until_a_validation_is_refused_with_the_date_of_the_next_possible_one(
        world: SessionFactory) -> None:
    """12 December is the last day of 2026's validations and orders; on the 13th the answer gives the first day of
    2027 once 2027 has an allocation inside the convention, and says the convention ends when it does not."""
    assert refusal(world, paris(2026, 12, 12)) is None
    assert refusal(world, paris(2026, 12, 13)) == (
        "Fin de gestion 2026 : plus de validation de devis ni de commande après le 12 décembre 2026 ; rien n'a "
        "changé. La convention prend fin le 31 décembre 2026 : il n'y en aura plus d'autre.")

    reimport(world, demo(replace=(("ends = 2026-12-31", "ends = 2027-12-31"),)))
    assert refusal(world, paris(2026, 12, 13)).endswith(  # type: ignore[union-attr]
        "Elles reprendront le 1er janvier 2027, une fois la dotation 2027 importée.")

    with_2027 = demo(replace=(("ends = 2026-12-31", "ends = 2027-12-31"),
                              ("[[person]]",
                               '[[allocation]]\nyear = 2027\nae = "900000"\ncp = "900000"\n\n[[person]]')))
    reimport(world, with_2027)
    assert refusal(world, paris(2026, 12, 13)) == (
        "Fin de gestion 2026 : plus de validation de devis ni de commande après le 12 décembre 2026 ; rien n'a "
        "changé. La prochaine sera possible le 1er janvier 2027, sur les crédits 2027.")
    assert refusal(world, paris(2027, 1, 4)) is None


def test_orders_until_and_payments_until_come_from_the_reference_file(world: SessionFactory) -> None:
    """`orders_until = 2026-12-18` moves the last day of validations; importing the same file again changes nothing."""
    text = demo(replace=(('year = 2026\nae = "1500000"\ncp = "1700000"',
                          'year = 2026\nae = "1500000"\ncp = "1700000"\norders_until = 2026-12-18\n'
                          'payments_until = 2026-12-04'),))
    reimport(world, text)
    assert refusal(world, paris(2026, 12, 18)) is None
    assert "après le 18 décembre 2026" in (refusal(world, paris(2026, 12, 19)) or "")
    with unit_of_work(world) as session:
        allocation = session.exec(select(Allocation).where(Allocation.year == 2026)).one()
        assert rules.fin_de_gestion(allocation) == rules.FinDeGestion(2026, date(2026, 12, 18), date(2026, 12, 4))
        count = len(session.exec(select(AuditEvent)).all())
    data = parse_reference(text)
    for person in data.people:
        data.accounts.setdefault(person.id, {}).update(slack=slack_id(person.id), mattermost=mattermost_id(person.id))
    with unit_of_work(world) as session:
        assert not import_reference(session=session, data=data, now=NOW).changed
        assert len(session.exec(select(AuditEvent)).all()) == count


@pytest.mark.parametrize(("line", "key", "reason"), [
    ("orders_until = 2027-01-10", "allocation[3].orders_until", "date de l'année 2026 attendue"),
    ('payments_until = "30/11/2026"', "allocation[3].payments_until", "date attendue (AAAA-MM-JJ)"),
    ("amended_on = 2026-10-15", "allocation[3].amended_on", "nommez-le aussi"),
])
def test_bad_fin_de_gestion_or_amendment_keys_are_refused_with_key_and_line(line: str, key: str,
                                                                           reason: str) -> None:
    """A date outside the allocation's year, a date written as text, an amendment's date without its name: the file
    is refused with the key, the line and why."""
    text = demo(replace=(('year = 2026\nae = "1500000"', f'year = 2026\n{line}\nae = "1500000"'),))
    with pytest.raises(ImportFileError) as refused:
        parse_reference(text)
    assert refused.value.key == key and reason in refused.value.reason and "(ligne " in refused.value.reason


def test_an_unknown_side_is_refused_and_changes_nothing(world: SessionFactory) -> None:
    """`side = "ministere"` is refused with the two sides the file may say; nobody's side changes."""
    with pytest.raises(ImportFileError) as refused:
        parse_reference(demo(sides={"hugo.bernard": "ministere"}))
    assert refused.value.key == "person[2].side" and '"delegant" ou "delegataire"' in refused.value.reason
    with unit_of_work(world) as session:
        assert session.get(Person, "hugo.bernard").side is None  # type: ignore[union-attr]


# --------------------------------------------------------------------------- amendments


def test_an_amendment_that_raises_the_allocation_is_in_the_audit_trail_and_in_historique(
        talk: StubChat, world: SessionFactory, clock: Clock) -> None:
    """Avenant n°1 raises the AE of 2026 to 1 800 000 €: the import keeps before, after and the amendment in the audit
    trail; `historique 2026` shows it to a manager, not to a coach."""
    clock.now = paris(2026, 11, 6, 9)
    amended = 'year = 2026\namendment = "Avenant n°1"\namended_on = 2026-10-15\nae = "1800000"'
    reimport(world, demo(replace=(('year = 2026\nae = "1500000"', amended),)), clock.now)
    rows = trail(world, "allocation:2026")
    assert [a for a, _who, _after in rows] == ["allocation.created", "allocation.changed"]
    with unit_of_work(world) as session:
        changed = session.exec(select(AuditEvent).where(AuditEvent.action == "allocation.changed")).one()
        assert json.loads(changed.before or "")["ae_cents"] == 1_500_000_00
        after = json.loads(changed.after or "")
        assert after["ae_cents"] == 1_800_000_00 and after["amendment"] == "Avenant n°1"
        assert after["amended_on"] == "2026-10-15"

    shown = talk.say("camille.martin", "historique 2026").text
    assert "Dotation 2026 — historique" in shown
    assert "dotation modifiée : AE 1 500 000,00 € → 1 800 000,00 €, Avenant n°1 du 15 octobre 2026" in shown
    assert "réservé aux gestionnaires" in talk.say("lea.dupont", "historique 2026").text
    assert "Aucune dotation n'est enregistrée pour 2031" in talk.say("camille.martin", "historique 2031").text


# --------------------------------------------------------------------------- suspension


def test_a_manager_suspends_then_resumes_from_the_console(talk: StubChat, world: SessionFactory,
                                                           clock: Clock) -> None:
    """`suspendre MOTIF`: the managers' channel and the délégant's manager are told, validations and orders are
    refused with the reason; `reprendre` lifts it; both are audited on the convention."""
    reimport(world, demo(sides={"hugo.bernard": "delegant", "camille.martin": "delegataire"}))
    said = talk.say("camille.martin", "suspendre Crédits 2026 épuisés, avenant attendu").text
    assert said.startswith("C'est fait : ⏸️ Exécution de la convention MC-DINUM-2024 suspendue par Camille Martin")
    assert "motif : Crédits 2026 épuisés, avenant attendu" in said
    assert "Délégant prévenu par message direct : Hugo Bernard." in said
    assert "suspendue par Camille Martin" in talk.managers_channel()[-1].text
    assert "suspendue par Camille Martin" in talk.inbox("hugo.bernard")[-1].text

    refused = refusal(world, clock.now.astimezone(PARIS))
    assert refused is not None and "est suspendue depuis le 5 nov. 2026 à 10 h 00 par Camille Martin" in refused
    assert "Crédits 2026 épuisés" in refused and "les paiements des services faits continuent" in refused

    again = talk.say("hugo.bernard", "suspendre autre motif").text
    assert "Elle l'est déjà : rien n'a changé" in again and "Crédits 2026 épuisés" in again

    clock.advance(days=6)
    resumed = talk.say("camille.martin", "reprendre").text
    assert "Exécution de la convention MC-DINUM-2024 reprise par Camille Martin le 11 nov. 2026" in resumed
    assert "après la suspension du 5 nov. 2026 à 10 h 00" in resumed
    assert "reprise par Camille Martin" in talk.inbox("hugo.bernard")[-1].text
    assert refusal(world, clock.now.astimezone(PARIS)) is None
    assert "n'est pas suspendue : rien n'a changé" in talk.say("camille.martin", "reprendre").text

    assert [(a, who, after.get("told")) for a, who, after in trail(world, CONVENTION)] == [
        ("convention.suspended", "camille.martin", None),
        ("alert.delegant_informed", "camille.martin", ["hugo.bernard"]),
        ("convention.resumed", "camille.martin", None),
        ("alert.delegant_informed", "camille.martin", ["hugo.bernard"]),
    ]


def test_while_suspended_the_intrapreneurs_valider_click_is_refused_with_the_reason_and_nothing_changes(
        talk: StubChat, world: SessionFactory) -> None:
    """Léa's quote waits for Julien; the managers suspend; Julien's Valider is answered with the suspension and
    its reason, the quote stays pending and no AE move; after `reprendre` the same button validates it."""
    submitted = talk.say("lea.dupont", "devis dedale; 12 000; Scopyleft; Sprint 7").text
    ref = re.search(r"D-\d{4}-\d{4}", submitted).group(0)  # type: ignore[union-attr]
    talk.say("camille.martin", "suspendre Crédits épuisés, avenant attendu")
    with unit_of_work(world) as session:
        before = ledger.year_balance(session=session, year=2026).ae_committed_cents

    said = talk.click("julien.moreau", ref, "Valider").text
    assert "suspendue" in said and "Crédits épuisés, avenant attendu" in said
    with unit_of_work(world) as session:
        assert ledger.get_quote(session=session, reference=ref).status == "pending"
        assert ledger.year_balance(session=session, year=2026).ae_committed_cents == before

    talk.say("camille.martin", "reprendre")
    assert "C'est fait" in talk.click("julien.moreau", ref, "Valider").text
    with unit_of_work(world) as session:
        assert ledger.get_quote(session=session, reference=ref).status == "validated"


def test_suspend_and_resume_are_for_managers_and_speak_english_words_too(talk: StubChat,
                                                                         world: SessionFactory) -> None:
    """A coach's `suspendre` is refused and changes nothing; `aide` lists the words for managers only; `suspend`
    and `resume` are the English aliases; a suspension without a reason is refused."""
    assert "réservée aux gestionnaires" in talk.say("lea.dupont", "suspendre on arrête tout").text
    assert "réservée aux gestionnaires" in talk.say("julien.moreau", "reprendre").text
    assert "Précisez le motif" in talk.say("camille.martin", "suspendre").text
    assert trail(world, CONVENTION) == [] and talk.managers_channel() == []
    with unit_of_work(world) as session:
        assert session.exec(select(Convention)).one().suspended_at is None

    assert "suspendre MOTIF" in talk.say("camille.martin", "aide").text
    assert "reprendre" in talk.say("camille.martin", "aide").text
    assert "suspendre" not in talk.say("lea.dupont", "aide").text

    assert "suspendue par Camille Martin" in talk.say("camille.martin", "suspend budget gap").text
    assert "reprise par Camille Martin" in talk.say("camille.martin", "resume").text


# --------------------------------------------------------------------------- the délégant told


def test_an_insufficient_credits_alert_reaches_the_delegants_manager_with_its_audit_row(
        talk: StubChat, world: SessionFactory, clock: Clock) -> None:
    """A validation refused for lack of AE: the managers' channel and, by direct message, the délégant's manager
    are told at once; the audit trail says who was told, when; a second refusal that day is counted, not re-told."""
    reimport(world, demo(sides={"hugo.bernard": "delegant"}))
    for _ in range(2):
        talk.say("lea.dupont", "devis dedale; 1 600 000; Scopyleft; Refonte")
    talk.say("julien.moreau", "valider D-2026-0001")
    talk.say("julien.moreau", "valider D-2026-0002")
    assert [m.text for m in talk.inbox("hugo.bernard") if "Crédits insuffisants" in m.text] != []
    assert len([m for m in talk.inbox("hugo.bernard") if "Crédits insuffisants" in m.text]) == 1
    assert len([m for m in talk.managers_channel() if "Crédits insuffisants" in m.text]) == 1
    assert talk.inbox("camille.martin") == []  # on no side: the channel is enough
    told = [(who, after) for action, who, after in trail(world, CONVENTION) if action == "alert.delegant_informed"]
    assert told == [("julien.moreau", {"alert": "alert.insufficient_credits", "occurrence": "AE:2026@2026-11-05",
                                       "told": ["hugo.bernard"]})]
    with unit_of_work(world) as session:
        row = session.exec(select(AuditEvent).where(AuditEvent.action == "alert.delegant_informed")).one()
        assert row.at == clock.now


def test_the_unspent_credits_alert_reaches_the_delegants_manager_once(engine: Engine, world: SessionFactory,
                                                                      clock: Clock) -> None:
    """From October the projection of unspent credits goes to the managers' channel and, by direct message, to the
    délégant's manager; its audit row names them; a second sweep sends and records nothing more."""
    from bot.scheduler import sweep

    reimport(world, demo(sides={"hugo.bernard": "delegant"}))
    sender = RecordingSender()
    runtime = runtime_of(engine, clock, sender)
    sweep(runtime, clock.now)
    sweep(runtime, clock.now)
    assert len([r for r in sender.messages("dm:hugo.bernard") if "inemployée" in r.text]) == 1
    assert len([r for r in sender.messages("managers") if "inemployée" in r.text]) == 1
    assert [after for action, _who, after in trail(world, CONVENTION) if action == "alert.delegant_informed"] == [
        {"alert": "reminder.projection", "occurrence": "2026-11", "told": ["hugo.bernard"]}]


# --------------------------------------------------------------------------- termination, from the command line


def test_convention_end_records_a_termination_that_an_import_keeps(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`incubot convention end --on 2022-06-30 --reason …`: audited, validations refused from 1 July with the date,
    the end reminder moves to the termination (without « dénoncer »), re-importing the file keeps it; bad input
    (a wrong date, a day before the start or after the end, no reason) is refused and changes nothing."""
    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'end.db'}"
    example = Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml"
    assert main(["--database", url, "import", str(example)]) == 0
    capsys.readouterr()
    for on, reason, says in (("2022-13-01", "x", "« 2022-13-01 » n'est pas une date"),
                             ("2020-10-31", "x", "prend effet le 1er novembre 2020 : elle ne peut pas finir avant"),
                             ("2023-01-15", "x", "prend fin d'elle-même le 31 décembre 2022"),
                             ("2022-06-30", "  ", "le motif de la résiliation est obligatoire")):
        assert main(["--database", url, "convention", "end", "--on", on, "--reason", reason]) == 2
        assert says in capsys.readouterr().err
    sessions = session_factory(make_engine(url))
    assert refusal(sessions, paris(2022, 7, 1)) is None and trail(sessions, "convention:MC-DINUM-2020") == []

    assert main(["--database", url, "convention", "end", "--on", "2022-06-30", "--reason",
                 "Fin du programme"]) == 0
    out = capsys.readouterr().out
    assert "fin anticipée enregistrée, dernier jour 30 juin 2022 (art. 7). Motif : Fin du programme." in out
    assert refusal(sessions, paris(2022, 6, 30)) is None
    assert refusal(sessions, paris(2022, 7, 1)) == (
        "La convention MC-DINUM-2020 a pris fin le 30 juin 2022 (résiliation, art. 7) : aucun devis ne peut plus "
        "être validé ni commandé ; rien n'a changé. Motif : Fin du programme")
    [(action, _who, after)] = trail(sessions, "convention:MC-DINUM-2020")
    assert action == "convention.terminated" and after["terminated_on"] == "2022-06-30"

    assert main(["--database", url, "convention", "end", "--on", "2022-06-30", "--reason", "Fin du programme"]) == 0
    assert "déjà enregistrée ; rien n'a changé" in capsys.readouterr().out
    assert main(["--database", url, "import", str(example)]) == 0
    assert "déjà à jour" in capsys.readouterr().out
    assert "30 juin 2022" in (refusal(sessions, paris(2022, 7, 1)) or "")

    assert main(["--database", url, "reminders", "due", "--at", "2022-06-01T09:00"]) == 0
    listed = capsys.readouterr().out
    assert "MC-DINUM-2020:end@2022-06-30" in listed and "prend fin dans 29 jours, le 30 juin 2022" in listed
    assert "dénoncer" not in listed and "MC-DINUM-2020:notice" not in listed


def test_the_notice_reminder_of_a_fixed_term_convention_does_not_say_denoncer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fixed-term convention ends on its date: its notice reminder speaks of what follows it, not of « dénoncer »."""
    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'notice.db'}"
    example = Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml"
    assert main(["--database", url, "import", str(example)]) == 0
    assert main(["--database", url, "reminders", "due", "--at", "2022-09-23T09:00"]) == 0
    listed = capsys.readouterr().out
    assert "MC-DINUM-2020:notice" in listed and "avenant de prolongation ou une nouvelle convention" in listed
    assert "dénonc" not in listed


# --------------------------------------------------------------------------- fin de gestion reminders


def test_fin_de_gestion_reminders_are_listed_by_reminders_due_once(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`reminders due --at` three weeks before 12 December lists the last-orders reminder for the managers and the
    coach; once sent it is not listed again; a week before, the next stage is."""
    from bot.cli import main
    from bot.scheduler import sweep

    url = f"sqlite:///{tmp_path / 'fdg.db'}"
    example = Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml"
    assert main(["--database", url, "import", str(example)]) == 0
    capsys.readouterr()

    def listed(at: str) -> list[str]:
        assert main(["--database", url, "reminders", "due", "--at", at]) == 0
        return [line for line in capsys.readouterr().out.splitlines()
                if "reminder.fin_de_gestion" in line and ":orders:" in line]

    first = listed("2022-11-21T09:00")
    assert len(first) == 2 and all("2022:orders:J-21" in line for line in first)
    assert "dernières validations de devis et commandes le 12 décembre 2022 (dans 21 jours)" in first[0]
    assert {"managers", "person:lea.dupont"} == {line.split()[8] for line in first}
    platform = RecordingSender()  # a platform is configured: the scheduler sends them
    sweep(runtime_of(make_engine(url), None, platform), paris(2022, 11, 21, 9))
    last_orders = "Fin de gestion 2022 : dernières validations"
    assert len([r for r in platform.messages("dm:lea.dupont") if last_orders in r.text]) == 1
    assert listed("2022-11-21T09:00") == [] and listed("2022-11-28T09:00") == []
    assert len(listed("2022-12-05T09:00")) == 2 and "2022:orders:J-7" in listed("2022-12-05T09:00")[0]


# --------------------------------------------------------------------------- the migration


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A brand-new empty database, SQLite then PostgreSQL, for migrating by hand."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    with throwaway_pg_database("incubot_0011") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_migration_0011_carries_existing_rows_up_and_down(empty_engine: Engine) -> None:
    """A convention, an allocation with commitments and a person of 0010 come through 0011 unchanged (not terminated,
    not suspended, default dates, no side) and go back down with their data."""
    from alembic import command

    engine = empty_engine
    upgrade(engine, "0010")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO convention (id, reference, title, delegant, delegataire, operational_unit, starts, ends, "
            "notice_months, chorus_axe_ministeriel, chorus_domaine_fonctionnel, chorus_centre_financier, "
            "chorus_activite, chorus_centre_de_cout) VALUES (1, 'MC-1', 'Convention', 'Culture', 'DINUM', 'U', "
            "'2024-11-01', '2026-12-31', 3, '', '', '', '', '')"))
        conn.execute(sa.text("INSERT INTO allocation (convention_id, year, ae_cents, cp_cents, ae_committed_cents, "
                             "cp_consumed_cents) VALUES (1, 2026, 100000, 50000, 2500, 0)"))
        conn.execute(sa.text("INSERT INTO person (id, name, is_manager, is_admin, active) "
                             "VALUES ('hugo.bernard', 'Hugo Bernard', true, false, true)"))
    upgrade(engine, "0011")
    with unit_of_work(session_factory(engine)) as session:
        convention = session.exec(select(Convention)).one()
        assert (convention.terminated_on, convention.suspended_at, convention.suspension_reason) == (None, None, None)
        allocation = session.exec(select(Allocation)).one()
        assert allocation.ae_committed_cents == 2500 and allocation.amendment is None
        assert rules.fin_de_gestion(allocation) == rules.FinDeGestion(2026, date(2026, 12, 12), date(2026, 11, 30))
        assert session.get(Person, "hugo.bernard").side is None  # type: ignore[union-attr]
        try:
            rules.check_orders_open(session=session, now=paris(2026, 11, 5), year=2026)
        except LedgerRefusal as exc:  # pragma: no cover - the assertion says which
            pytest.fail(f"refused after the migration: {exc!r}")
    command.downgrade(alembic_config(engine), "0010")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("allocation")}
    assert "orders_until" not in columns and "amendment" not in columns
    assert "side" not in {c["name"] for c in sa.inspect(engine).get_columns("person")}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT year, ae_committed_cents FROM allocation")).all() == [(2026, 2500)]
        assert conn.execute(sa.text("SELECT reference FROM convention")).all() == [("MC-1",)]
