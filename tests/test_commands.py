"""Bad input and forbidden requests: each gets a precise French answer, that answer only, and changes
nothing (same rows, same counters, same audit trail, nothing queued to send).

The cases run on the transcript stub (tests/stub.py), which fails on any message beyond the answer;
how each platform shows an answer, a form's field errors and hostile text is tested on every platform
(the ``chat`` tests below, tests/test_slack.py, tests/test_mattermost.py)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.chat import ChatDriver, runtime_of
from tests.stub import StubChat

HUGE = "x" * 100_000  # 100 kB typed or pasted in one go


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    with engine.connect() as conn:
        counts = {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("quote", "service_done", "audit_event", "outbox", "membership", "person", "startup")
        }
        counters = conn.execute(sa.text(
            "SELECT year, ae_committed_cents, cp_consumed_cents FROM allocation ORDER BY year")).all()
        statuses = conn.execute(sa.text("SELECT reference, status, certified_cents FROM quote ORDER BY id")).all()
    return {"counts": counts, "counters": counters, "statuses": statuses}


@pytest.fixture
def ready(stub: StubChat, engine: Engine) -> StubChat:
    """Dédale has a validated order D-2026-0001 (10 000 €) and a pending quote D-2026-0002 (3 000 €)."""
    stub.say("lea.dupont", "devis dedale; 10 000; Scopyleft; Sprints")
    stub.click("julien.moreau", "D-2026-0001", "Valider")
    stub.say("lea.dupont", "devis dedale; 3 000; Arawa; Audit")
    stub.forget_so_far()
    return stub


def refused(chat: StubChat, engine: Engine, who: str, text: str, *expected: str) -> str:
    """``who`` types ``text``: the answer, to them only, holds every ``expected`` sentence; nothing changed
    and nothing else was said to anyone."""
    before = snapshot(engine)
    chat.say(who, text)
    said = chat.expect(who, kind="reply")
    for sentence in expected:
        assert sentence in said.text, f"{text[:80]!r} → {said.text[:500]!r}"
    assert "erreur inattendue" not in said.text
    chat.expect_nothing_more()
    assert snapshot(engine) == before, f"{text[:80]!r} changed something"
    return said.text


BAD_QUOTES = {
    "amount abc": ("devis dedale; abc; Arawa; Audit", "« abc » n'est pas un montant."),
    "negative amount": ("devis dedale; -5; Arawa; Audit", "Le montant doit être positif (-5 est négatif)."),
    "zero": ("devis dedale; 0; Arawa; Audit", "Le montant doit être supérieur à zéro."),
    "1e400": ("devis dedale; 1e400; Arawa; Audit", "« 1e400 » n'est pas un montant."),
    "absurdly large": ("devis dedale; 999999999999; Arawa; Audit",
                       "dépasse le plafond de 100 000 000,00 € pour une demande."),
    "too large once VAT is added": ("devis dedale; 100000000 HT; Arawa; Audit", "Montant TTC trop élevé."),
    "too many decimals": ("devis dedale; 12,3456; Arawa; Audit",
                          "Un montant s'arrête au centime : « 12,3456 » a trop de décimales."),
    "ambiguous thousands": ("devis dedale; 12,500; Arawa; Audit",
                            "« 12,500 » peut se lire de deux façons : 12 500,00 € ou 12,50 €."),
    "amount too long": ("devis dedale; " + "9" * 60 + "; Arawa; Audit",
                        "Ce montant est trop long pour être un montant."),
    "unknown startup": ("devis atlantide; 3000; Arawa; Audit", "Startup inconnue : « atlantide »"),
    "missing fields": ("devis dedale; 3000", "Il manque des champs. Format : devis STARTUP; MONTANT"),
    "empty fields": ("devis dedale; 3000; ; ", "Indiquez le fournisseur.", "Indiquez l'objet du devis."),
    "empty amount": ("devis dedale; ; Arawa; Audit", "Il manque le montant."),
    "100 kB subject": ("devis dedale; 3000; Arawa; " + HUGE, "Ce message est trop long (100 027 caractères ; "
                       "4 000 au plus) : rien n'a été enregistré."),
    "100 kB supplier": ("devis dedale; 3000; " + HUGE + "; Audit", "Ce message est trop long"),
    "long subject": ("devis dedale; 3000; Arawa; " + "x" * 1001, "L'objet tient en 1000 caractères au plus."),
    "long supplier": ("devis dedale; 3000; " + "x" * 201 + "; Audit",
                      "Le fournisseur tient en 200 caractères au plus."),
    "amount @here": ("devis dedale; @here; Arawa; Audit", "« @here » n'est pas un montant."),
    "startup <!channel>": ("devis <!channel>; 3000; Arawa; Audit", "Startup inconnue : « <!channel> »"),
    "markdown link as amount": ("devis dedale; [12 500](https://evil.example); Arawa; Audit",
                                "n'est pas un montant."),
    "control characters in the amount": ("devis dedale; 1\x1b[31m00\x07; Arawa; Audit", "n'est pas un montant."),
}


@pytest.mark.parametrize(("text", "expected"), [(v[0], v[1:]) for v in BAD_QUOTES.values()],
                         ids=BAD_QUOTES.keys())
def test_bad_quotes_are_refused_with_the_reason_and_store_nothing(ready: StubChat, engine: Engine, text: str,
                                                                  expected: tuple[str, ...]) -> None:
    """A bad `devis` line gets its precise French reason; no quote, audit row or message is created."""
    refused(ready, engine, "lea.dupont", text, *expected)


def test_several_bad_fields_are_all_named_at_once(ready: StubChat, engine: Engine) -> None:
    """Unknown startup, bad amount and missing subject are reported together."""
    refused(ready, engine, "lea.dupont", "devis atlantide; abc; Arawa; ", "Startup inconnue : « atlantide »",
            "« abc » n'est pas un montant.", "Indiquez l'objet du devis.")


BAD_SERVICE_DONE = {
    "unknown quote": ("service-fait D-2026-9999; 1000", "Je ne trouve pas le devis D-2026-9999."),
    "pending quote": ("service-fait D-2026-0002; 1000",
                      "Le devis D-2026-0002 est en attente : un service fait ne peut porter que sur un devis validé."),
    "more than the order": ("service-fait D-2026-0001; 10 000,01",
                            "Le montant (10 000,01 €) dépasse ce qu'il reste à certifier sur D-2026-0001 "
                            "(10 000,00 €)."),
    "bad amount": ("service-fait D-2026-0001; douze", "« douze » n'est pas un montant."),
    "zero": ("service-fait D-2026-0001; 0", "Le montant doit être supérieur à zéro."),
    "missing amount": ("service-fait D-2026-0001", "Il manque des champs. Format : service-fait"),
    "100 kB period": ("service-fait D-2026-0001; 100; " + HUGE, "Ce message est trop long"),
    "long period": ("service-fait D-2026-0001; 100; " + "x" * 201, "La période tient en 200 caractères au plus."),
    "hostile reference": ("service-fait <!channel>; 100", "Je ne trouve pas le devis <!channel>."),
}


@pytest.mark.parametrize(("text", "expected"), BAD_SERVICE_DONE.values(), ids=BAD_SERVICE_DONE.keys())
def test_bad_service_done_requests_are_refused_and_store_nothing(ready: StubChat, engine: Engine, text: str,
                                                                 expected: str) -> None:
    """A bad `service-fait` line gets its precise reason; nothing is numbered, consumed or sent."""
    refused(ready, engine, "lea.dupont", text, expected)


BAD_DECISIONS = {
    "no reference": ("julien.moreau", "valider", "Précisez la référence : valider D-2026-0001"),
    "unknown reference": ("julien.moreau", "valider D-2026-0404", "Je ne trouve pas le devis D-2026-0404."),
    "unknown service done": ("julien.moreau", "certifier SF-2026-0404",
                             "Je ne trouve pas le service fait SF-2026-0404."),
    "refusal without reason": ("julien.moreau", "refuser D-2026-0002", "Indiquez le motif du refus"),
    "refusal without anything": ("julien.moreau", "refuser", "Précisez la référence et le motif"),
    "100 kB reason": ("julien.moreau", "refuser D-2026-0002; " + HUGE, "Ce message est trop long"),
    "long reason": ("julien.moreau", "refuser D-2026-0002; " + "x" * 1001, "Le motif dépasse 1000 caractères."),
    "already decided": ("julien.moreau", "valider D-2026-0001", "D-2026-0001 est déjà validé (par Julien Moreau"),
    "coach decides": ("lea.dupont", "valider D-2026-0002",
                      "Seul un intrapreneur de Dédale peut décider de D-2026-0002 (Julien Moreau). Rien n'a changé."),
    "manager decides": ("camille.martin", "valider D-2026-0002", "Seul un intrapreneur de Dédale"),
    "other startup's intrapreneur refuses": ("claire.petit", "refuser D-2026-0002; non",
                                             "Seul un intrapreneur de Dédale"),
}


@pytest.mark.parametrize(("who", "text", "expected"), BAD_DECISIONS.values(), ids=BAD_DECISIONS.keys())
def test_bad_or_forbidden_decisions_change_nothing(ready: StubChat, engine: Engine, who: str, text: str,
                                                    expected: str) -> None:
    """Deciding without a reference, a reason or the right is refused with the reason; the quote stays as it was."""
    refused(ready, engine, who, text, expected)


FORBIDDEN = {
    "coach of another startup submits": ("thomas.roux", "devis dedale; 3000; Arawa; Audit",
                                         "Vous ne faites pas partie de Dédale"),
    "coach of another startup asks service done": ("thomas.roux", "service-fait D-2026-0001; 100",
                                                   "Vous ne faites pas partie de Dédale"),
    "report for a coach": ("lea.dupont", "rapport", "La commande rapport est réservée aux gestionnaires."),
    "report for an intrapreneur": ("julien.moreau", "rapport 2026-10", "réservée aux gestionnaires"),
    "another startup's budget": ("thomas.roux", "budget dedale",
                                 "Le détail de Dédale est réservé à son équipe et aux gestionnaires."),
    "another startup's history": ("thomas.roux", "historique D-2026-0001",
                                  "L'historique de D-2026-0001 est réservé à l'équipe de la startup"),
    "stranger": ("inconnu", "budget", "Je ne vous connais pas encore", "Camille Martin"),
}


@pytest.mark.parametrize(("who", "text", "expected"), [(v[0], v[1], v[2:]) for v in FORBIDDEN.values()],
                         ids=FORBIDDEN.keys())
def test_forbidden_requests_are_refused_and_change_nothing(ready: StubChat, engine: Engine, who: str, text: str,
                                                           expected: tuple[str, ...]) -> None:
    """Who may do what (SPEC): anyone else is told why, and nothing happens."""
    refused(ready, engine, who, text, *expected)


def add_person_without_role(engine: Engine, person_id: str, name: str) -> None:
    """Someone the bot knows (on every platform) who has no role in any startup and is not a manager."""
    from tests.conftest import mattermost_id, slack_id

    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO person (id, name, is_manager, is_admin) "
                             "VALUES (:id, :name, false, false)"), {"id": person_id, "name": name})
        for platform, external_id in (("slack", slack_id(person_id)), ("mattermost", mattermost_id(person_id))):
            conn.execute(sa.text("INSERT INTO platform_account (platform, external_id, person_id) "
                                 "VALUES (:platform, :external_id, :id)"),
                         {"platform": platform, "external_id": external_id, "id": person_id})


def test_startups_shows_money_only_to_the_team_and_the_managers(ready: StubChat, engine: Engine) -> None:
    """`startups`: names, phases and people for everyone known; a startup's money only to its team and managers."""
    add_person_without_role(engine, "marie.noel", "Marie Noël")
    nobody = refused(ready, engine, "marie.noel", "startups", "Startups de l'incubateur (4)",
                     "Dédale", "construction depuis le 1er février 2026", "intrapreneur(s) : Julien Moreau",
                     "Les montants de chaque startup sont réservés à son équipe et aux gestionnaires.")
    assert "AE réservées" not in nobody and "10 000,00 €" not in nobody
    refused(ready, engine, "marie.noel", "budget dedale",
            "Le détail de Dédale est réservé à son équipe et aux gestionnaires.")

    other_coach = refused(ready, engine, "thomas.roux", "startups", "Startups de l'incubateur (4)", "Dédale")
    assert "10 000,00 €" not in other_coach
    assert other_coach.count("AE réservées") == 2  # Euphrosyne and Locadocs, his two startups

    for who in ("lea.dupont", "julien.moreau", "camille.martin"):
        assert "AE réservées 10 000,00 €" in refused(ready, engine, who, "startups", "Dédale")
    assert refused(ready, engine, "camille.martin", "startups").count("AE réservées") == 4


def test_a_stranger_asking_for_startups_is_told_whom_to_ask(ready: StubChat, engine: Engine) -> None:
    """Someone the bot does not know gets no list at all, only whom to ask."""
    said = refused(ready, engine, "inconnu", "startups", "Je ne vous connais pas encore", "Camille Martin")
    assert "Dédale" not in said and "€" not in said


BAD_ARGUMENTS = {
    "unknown command": ("lea.dupont", "abracadabra", "Je ne connais pas la commande « abracadabra »."),
    "100 kB command": ("lea.dupont", HUGE, "Ce message est trop long (100 000 caractères ; 4 000 au plus)"),
    "long command word": ("lea.dupont", "y" * 500, "Je ne connais pas la commande « yyyyyyyy"),
    "unknown startup budget": ("lea.dupont", "budget atlantide", "Startup inconnue : « atlantide »."),
    "history without reference": ("lea.dupont", "historique", "Précisez la référence : historique D-2026-0001."),
    "history of nothing": ("lea.dupont", "historique D-2026-0404", "Je ne trouve pas le devis D-2026-0404."),
    "history of a hostile link": ("lea.dupont", "historique [D-2026-0001](https://evil.example)",
                                  "n'est pas une référence : elle s'écrit D-2026-0001 pour un devis"),
    "bad report month": ("camille.martin", "rapport 2026-13", "n'est pas un mois : écrivez AAAA-MM"),
    "report word": ("camille.martin", "rapport octobre", "« octobre » n'est pas un mois"),
    "@here as a command": ("lea.dupont", "@here", "Je ne connais pas la commande « @here »."),
}


@pytest.mark.parametrize(("who", "text", "expected"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_are_explained(ready: StubChat, engine: Engine, who: str, text: str, expected: str) -> None:
    """Unknown commands, startups, references and months get a precise answer and change nothing."""
    refused(ready, engine, who, text, expected)


def test_a_long_command_word_is_not_echoed_whole(ready: StubChat, engine: Engine) -> None:
    """A pasted 3 000-character word is answered with a short echo, not the whole word back."""
    text = refused(ready, engine, "lea.dupont", "y" * 3000, "Je ne connais pas la commande")
    assert len(text) < 300


def test_form_field_errors_keep_the_form_open_and_store_nothing(chat: ChatDriver, engine: Engine) -> None:
    """The quote form answers each wrong field with its own message, and nothing is stored until it is right."""
    chat.say("lea.dupont", "/incubot devis")
    before = snapshot(engine)
    errors = chat.fill("lea.dupont", {"startup": "dedale", "amount": "-5", "tax": "TTC", "supplier": "",
                                      "object": "Audit"})
    assert "Le montant doit être positif" in errors.text and "Indiquez le fournisseur." in errors.text
    assert snapshot(engine) == before
    done = chat.fill("lea.dupont", {"startup": "dedale", "amount": "3 000", "tax": "TTC", "supplier": "Arawa",
                                    "object": "Audit"})
    assert "D-2026-0001" in done.text
    assert snapshot(engine)["counts"]["quote"] == 1


def test_hostile_text_is_kept_as_typed_but_only_shown_as_user_text(chat: ChatDriver, engine: Engine) -> None:
    """`<!channel>`, `@here`, links and control characters in a quote are stored without control characters
    and shown escaped: the intrapreneur sees the text, not a mention."""
    said = chat.say("lea.dupont", "devis dedale; 3000; <!channel> @here\x00\u202e; [clic](https://evil.example)\x07")
    assert "D-2026-0001" in said.text
    with engine.connect() as conn:
        supplier, obj = conn.execute(sa.text("SELECT supplier, object FROM quote")).one()
    assert (supplier, obj) == ("<!channel> @here", "[clic](https://evil.example)")
    request = chat.inbox("julien.moreau")[-1]
    assert "<!channel> @here" in request.text and "[clic](https://evil.example)" in request.text


def test_user_text_reaches_renderers_only_inside_user_spans(world, engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Every piece of typed text in a reply is marked as user text, so each adapter escapes it."""
    from handlers.markup import render
    from handlers.types import Request

    bot = runtime_of(engine, clock).bot
    hostile = "<!channel>"
    for text in (f"devis {hostile}; 3000; Arawa; Audit", f"historique {hostile}", f"budget {hostile}",
                 f"{hostile} budget", f"devis dedale; 3000; {hostile}; {hostile}", f"rapport {hostile}"):
        who = "camille.martin" if text.startswith("rapport") else "lea.dupont"
        reply = bot.message(Request("console", who, text))
        shown = "\n".join([reply.text] + [f.value for f in reply.facts])
        rendered = render(shown, escape=lambda s: s.replace("<", "&lt;").replace(">", "&gt;"), bold=str)
        assert hostile not in rendered, (text, rendered)


def test_pending_stays_one_readable_message_with_thousands_of_quotes(world, engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    """A manager's `en-attente` with 2 000 quotes waiting counts them all but lists only the oldest thirty."""
    from bot.demo import generate_quotes
    from handlers.markup import plain
    from handlers.types import Request

    generate_quotes(world, clock(), 2_000)
    with engine.connect() as conn:
        waiting = conn.execute(sa.text("SELECT count(*) FROM quote WHERE status = 'pending'")).scalar_one()
    bot = runtime_of(engine, clock).bot
    text = plain(bot.message(Request("console", "camille.martin", "en-attente")).text)
    lines = text.splitlines()
    assert lines[0] == f"En attente de décision : {waiting} devis, 0 service fait"
    assert len(lines) == 1 + 30 + 1 and len(text) < 5_000
    assert lines[-1] == f"… et {waiting - 30} autres demandes en attente (les plus anciennes sont en tête)."


def test_the_command_word_may_be_followed_by_any_whitespace(world, engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    """`devis` then a line break or a no-break space (pasted text) is still the quote command."""
    from handlers.types import Request

    bot = runtime_of(engine, clock).bot
    assert "D-2026-0001" in bot.message(Request("console", "lea.dupont", "devis\ndedale; 3000; Arawa; Audit")).text
    assert "D-2026-0002" in bot.message(Request("console", "lea.dupont", "devis\u00a0dedale; 10; Arawa; x")).text
    assert "allouées" in bot.message(Request("console", "lea.dupont", "/incubot\tbudget")).text
