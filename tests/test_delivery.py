"""Delivery per platform: Slack failing never holds a Mattermost message back; what gives up is failed,
logged at ERROR and alerted once (grouped) through the other platform; in-place updates keep their order.

Slack is the fake Web API answering 500, Mattermost the fake REST server; the clock is injected and the
courier is driven by explicit flushes (or its background threads, joined), never by sleeps.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from datetime import time as dtime
from functools import partial

import pytest
from sqlalchemy.engine import Engine

from bot.background import BackgroundDelivery
from bot.compose import compose
from bot.config import Settings
from bot.delivery import DELIVERY_FAILED
from bot.runtime import Runtime
from handlers.types import Reply, Request
from storage import outbox
from storage.db import SessionFactory, unit_of_work
from tests.chat_mattermost import SECRET, mm_id
from tests.chat_slack import SIGNING_SECRET
from tests.conftest import Clock, slack_id
from tests.fake_mattermost import BOT_TOKEN as MM_TOKEN
from tests.fake_mattermost import FakeMattermost
from tests.fake_slack import BOT_TOKEN, FakeSlack

JULIEN = "julien.moreau"  # the intrapreneur of Dédale: the quote requests go to him
QUOTE = "devis dedale; 12 500; Scopyleft; Sprint 7"


@dataclass
class TwoPlatforms:
    """One incubot with Slack and Mattermost on, both fakes; deliveries driven by the test."""

    runtime: Runtime
    slack: FakeSlack
    mattermost: FakeMattermost
    clock: Clock

    def say(self, who: str, text: str) -> str:
        return self.runtime.bot.message(Request("slack", slack_id(who), text)).text

    def slack_dms(self, who: str, contains: str = "") -> list[str]:
        return [json.dumps(m, ensure_ascii=False) for m in self.slack.dm(slack_id(who))
                if contains in json.dumps(m, ensure_ascii=False)]

    def mattermost_dms(self, who: str, contains: str = "") -> list[str]:
        return [json.dumps(p, ensure_ascii=False) for p in self.mattermost.direct_posts(mm_id(who))
                if contains in json.dumps(p, ensure_ascii=False)]

    def slack_down(self) -> None:
        self.slack.fail_next("chat.postMessage", 500, times=10_000, retry_after=None, error="internal_error")

    def slack_back(self) -> None:
        with self.slack.lock:
            self.slack.failures.clear()


@pytest.fixture
def two(engine: Engine, world: SessionFactory, clock: Clock) -> Iterator[TwoPlatforms]:
    from bot.platforms import mattermost, slack
    from bot.platforms.mattermost import MattermostClient

    with FakeSlack() as fake_slack:
        fake_mm = FakeMattermost().start()
        settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                            slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=fake_slack.api_url, mattermost_url=fake_mm.url,
                            mattermost_bot_token=MM_TOKEN, mattermost_command_tokens=("c",), secret=SECRET,
                            public_url="http://testserver")
        client = MattermostClient(fake_mm.url, MM_TOKEN, sleep=lambda _s: None)
        plugs = [replace(slack.PLUG, build=partial(slack.build, sleep=lambda _seconds: None)),
                 replace(mattermost.PLUG, build=partial(mattermost.build, client=client))]
        runtime = compose(settings, clock=clock, engine=engine, migrate=False, plugs=plugs,
                          delivery="manual").runtime  # the test flushes
        try:
            yield TwoPlatforms(runtime, fake_slack, fake_mm, clock)
        finally:
            if runtime.background is not None:
                runtime.background.executor.join(10)
            client.close()
            fake_mm.stop()


def statuses(runtime: Runtime, target: str) -> list[tuple[str, list[tuple[str, str, int]]]]:
    """Each message to ``target``: its status and, per platform, (platform, status, attempts)."""
    with unit_of_work(runtime.services.sessions) as session:
        return [(m.status, [(d.platform, d.status, d.attempts)
                            for d in outbox.deliveries(session=session, message_id=m.id or 0)])
                for m in outbox.messages(session=session) if m.target == target]


def test_with_slack_answering_500_the_mattermost_dm_still_goes_in_the_same_pass(two: TwoPlatforms) -> None:
    """Slack answers 500 to every post: the Mattermost DM leaves at once; Slack's copy waits its backoff, then goes."""
    two.slack_down()
    assert "D-2026-0001" in two.say("lea.dupont", QUOTE)

    two.runtime.courier.flush()

    assert len(two.mattermost_dms(JULIEN, "D-2026-0001")) == 1
    assert two.slack_dms(JULIEN, "D-2026-0001") == []
    assert statuses(two.runtime, f"person:{JULIEN}") == [("pending", [("mattermost", "sent", 1),
                                                                       ("slack", "pending", 1)])]
    two.slack_back()
    two.runtime.courier.flush()  # Slack's backoff has not elapsed: nothing yet
    assert two.slack_dms(JULIEN, "D-2026-0001") == []
    two.clock.advance(seconds=outbox.backoff(1).total_seconds())
    two.runtime.courier.flush()
    assert len(two.slack_dms(JULIEN, "D-2026-0001")) == 1
    assert len(two.mattermost_dms(JULIEN, "D-2026-0001")) == 1  # never twice
    assert statuses(two.runtime, f"person:{JULIEN}") == [("sent", [("mattermost", "sent", 1), ("slack", "sent", 2)])]


def test_background_delivery_sends_on_mattermost_while_slack_fails(two: TwoPlatforms) -> None:
    """With the background threads (one pass per platform), Slack failing does not hold the Mattermost DM back."""
    background = BackgroundDelivery(two.runtime.courier.flush_platform, two.runtime.courier.platforms)
    two.slack_down()
    two.say("lea.dupont", QUOTE)
    started = time.monotonic()
    background.kick()
    background.executor.join(20)
    took = time.monotonic() - started
    assert len(two.mattermost_dms(JULIEN, "D-2026-0001")) == 1 and two.slack_dms(JULIEN) == []
    logging.getLogger("tests").info("Mattermost DM sent %.3f s after the kick while Slack answered 500", took)


def test_exhausted_retries_mark_failed_log_error_and_alert_the_managers_once_through_mattermost(
        two: TwoPlatforms, caplog: pytest.LogCaptureFixture) -> None:
    """Two DMs Slack never takes: after the last try each is failed, one ERROR line each, one alert counting 2."""
    two.slack_down()
    two.say("lea.dupont", QUOTE)
    two.say("lea.dupont", "devis dedale; 1 000; Arawa; Audit")
    with caplog.at_level(logging.WARNING, logger="incubot.delivery"):
        for _ in range(2 * outbox.MAX_ATTEMPTS):
            two.runtime.courier.flush()
            two.clock.advance(hours=1)
    assert [s for s, _ in statuses(two.runtime, f"person:{JULIEN}")] == ["failed", "failed"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all(f"kind=quote.request target=person:{JULIEN} platform=slack" in r.getMessage() for r in errors)
    assert all("last error: SlackApiError" in r.getMessage() for r in errors)

    alerts = [p["message"] for p in two.mattermost.channel_posts("pilotage") if "non remis" in p["message"]]
    assert alerts == [alerts[0]] and "2 message(s) abandonné(s)" in alerts[0] and "incubot outbox" in alerts[0]
    assert not [m for ms in two.slack.messages.values() for m in ms if "non remis" in m.get("text", "")]
    with unit_of_work(two.runtime.services.sessions) as session:
        alert = [m for m in outbox.messages(session=session) if m.kind == DELIVERY_FAILED]
    assert [(a.status, a.repeats) for a in alert] == [("sent", 1)]


def test_an_alert_that_cannot_go_is_never_alerted_about(two: TwoPlatforms,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Slack down and no other platform: the alert never goes through Slack (undeliverable), and no alert about it."""
    two.runtime.courier.senders = [s for s in two.runtime.courier.senders if s.platform == "slack"]
    two.slack_down()
    two.say("lea.dupont", QUOTE)
    with caplog.at_level(logging.WARNING, logger="incubot.delivery"):
        for _ in range(outbox.MAX_ATTEMPTS + 2):
            two.runtime.courier.flush()
            two.clock.advance(hours=1)
    with unit_of_work(two.runtime.services.sessions) as session:
        alerts = [(m.status, m.repeats) for m in outbox.messages(session=session) if m.kind.startswith("alert.")]
    assert alerts == [("undeliverable", 0)]
    assert "marked undeliverable" in caplog.text


def test_a_decision_updates_the_copy_on_each_platform_even_when_slack_posted_late(two: TwoPlatforms) -> None:
    """The request reached Julien on Mattermost only (Slack 500); his decision updates the Mattermost copy at once,
    and on Slack the update waits for the request, which is then posted and updated in that order."""
    two.slack_down()
    two.say("lea.dupont", QUOTE)
    two.runtime.courier.flush()
    two.runtime.bot.action(__import__("handlers.types", fromlist=["Action"]).Action(
        "mattermost", mm_id(JULIEN), "quote.validate", "D-2026-0001"))
    two.runtime.courier.flush()
    request = two.mattermost_dms(JULIEN, "D-2026-0001")
    assert len(request) == 1 and "validé" in request[0].lower()
    assert statuses(two.runtime, "subject:D-2026-0001")[0][1] == [("mattermost", "sent", 1),
                                                                   ("slack", "pending", 0)]  # waits its request
    two.slack_back()
    two.clock.advance(minutes=5)
    two.runtime.courier.flush()
    slack_copy = [m for m in two.slack.dm(slack_id(JULIEN)) if "D-2026-0001" in json.dumps(m, ensure_ascii=False)]
    assert len(slack_copy) == 1 and "validé" in json.dumps(slack_copy[0], ensure_ascii=False).lower()
    assert two.slack.calls_to("chat.update")


def test_a_target_nobody_can_reach_is_undeliverable_not_sent(two: TwoPlatforms,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """A person with no id on either platform: the message is undeliverable (warned), listed, never counted sent."""
    with unit_of_work(two.runtime.services.sessions) as session:
        outbox.enqueue(session=session, kind="note", target="person:nobody", occurrence="1",
                       payload={"reply": Reply("Bonjour").to_dict()}, due_at=two.clock())
    with caplog.at_level(logging.WARNING, logger="incubot.delivery"):
        assert two.runtime.courier.flush() == 0
    assert statuses(two.runtime, "person:nobody") == [("undeliverable", [("mattermost", "skipped", 1),
                                                                          ("slack", "skipped", 1)])]
    assert "nobody to reach on slack, mattermost" in caplog.text
    with unit_of_work(two.runtime.services.sessions) as session:
        lines = outbox.open_lines(session=session)
    assert {(line.message.target, line.delivery.platform if line.delivery else None) for line in lines} == {
        ("person:nobody", "slack"), ("person:nobody", "mattermost")}


def test_migration_0005_carries_the_outbox_up_and_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Up from 0004: a message the old courier had claimed is pending again, sent and failed stay; down folds the
    deliveries back (attempts, last error; undeliverable becomes failed) and removes what 0005 added."""
    import sqlalchemy as sa
    from alembic import command

    from storage.db import alembic_config, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0004")
    insert = sa.text("INSERT INTO outbox (kind, target, occurrence, due_at, payload, status, attempts, claimed_by) "
                     "VALUES ('note', 'managers', :o, '2026-12-01 08:00:00', '{}', :s, :a, :c)")
    with engine.begin() as conn:
        for occurrence, status, attempts, by in (("1", "claimed", 1, "web-1"), ("2", "sent", 1, "web-1"),
                                                 ("3", "failed", 8, "web-1"), ("4", "pending", 0, None)):
            conn.execute(insert, {"o": occurrence, "s": status, "a": attempts, "c": by})
    upgrade(engine)
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT occurrence, status, claimed_by, repeats FROM outbox ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("1", "pending", None, 0), ("2", "sent", "web-1", 0),
                                            ("3", "failed", "web-1", 0), ("4", "pending", None, 0)]
        conn.execute(sa.text("INSERT INTO outbox_delivery (outbox_id, platform, status, attempts, due_at, last_error) "
                             "VALUES (1, 'slack', 'pending', 3, '2026-12-01 08:00:00', 'boom')"))
        conn.execute(sa.text("UPDATE outbox SET status = 'undeliverable' WHERE occurrence = '4'"))
    command.downgrade(alembic_config(engine), "0004")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT occurrence, status, attempts, last_error FROM outbox ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("1", "pending", 3, "boom"), ("2", "sent", 1, None), ("3", "failed", 8, None),
                                        ("4", "failed", 0, None)]
    tables = set(sa.inspect(engine).get_table_names())
    assert "outbox_delivery" not in tables and "heartbeat" not in tables
    assert "repeats" not in {c["name"] for c in sa.inspect(engine).get_columns("outbox")}
    engine.dispose()


def test_incubot_outbox_lists_what_waits_or_failed_and_retry_puts_failed_ones_back(
        tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """`incubot outbox` lists per platform (kind, target, platform, tries, due, last error), in French;
    `outbox retry ID` and `--all-failed` put failed messages back; a wrong use is one French sentence."""
    from datetime import datetime
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from bot.cli import main
    from storage.db import make_engine
    from tests.chat import RecordingSender, runtime_of

    url = f"sqlite:///{tmp_path / 'box.db'}"
    seed = Path(__file__).resolve().parents[1] / "examples" / "convention-culture.toml"
    assert main(["--database", url, "import", str(seed)]) == 0
    assert main(["--database", url, "outbox"]) == 0
    assert "Rien en attente, rien en échec." in capsys.readouterr().out

    class Down(RecordingSender):
        def post_channel(self, channel, reply, *, key=None):  # type: ignore[no-untyped-def]
            raise ConnectionError("plateforme injoignable")

    now = datetime(2026, 12, 2, 10, tzinfo=ZoneInfo("Europe/Paris"))
    engine = make_engine(url)
    runtime = runtime_of(engine, lambda: now, Down("slack"))
    runtime.courier.max_attempts = 1
    with unit_of_work(runtime.services.sessions) as session:
        for n, target in enumerate(("managers", "managers", "person:nobody")):
            outbox.enqueue(session=session, kind="note", target=target, occurrence=str(n),
                           payload={"reply": Reply(f"Note {n}").to_dict()}, due_at=now)
    runtime.courier.flush(now=now)
    capsys.readouterr()

    assert main(["--database", url, "outbox"]) == 0
    listed = capsys.readouterr().out
    assert "4 messages en attente, en échec ou non distribuables :" in listed
    assert "n° 1     en échec" in listed and "dernière erreur : ConnectionError: plateforme injoignable" in listed
    assert "slack" in listed and "essais 1" in listed and "n° 3     non distribuable" in listed
    assert "n° 4     en attente          alert.delivery_failed" in listed and "prévu 2 déc. 2026 à 10 h 05" in listed

    assert main(["--database", url, "outbox", "retry"]) == 2
    assert "précisez le numéro d'un message" in capsys.readouterr().err
    assert main(["--database", url, "outbox", "retry", "1"]) == 0
    assert "1 message remis en envoi." in capsys.readouterr().out
    assert main(["--database", url, "outbox", "retry", "1"]) == 2
    assert "le message 1 n'est ni en échec" in capsys.readouterr().err
    assert main(["--database", url, "outbox", "retry", "--all-failed"]) == 0
    assert "2 messages remis en envoi." in capsys.readouterr().out

    runtime = runtime_of(engine, None, RecordingSender("slack"))  # Slack is back
    runtime.courier.flush(now=datetime.now(ZoneInfo("UTC")))  # retry made them due at the CLI's (real) now
    with unit_of_work(runtime.services.sessions) as session:
        assert [m.status for m in outbox.messages(session=session)][:3] == ["sent", "sent", "undeliverable"]
    engine.dispose()


def test_thirty_refused_clicks_make_one_alert_at_once_and_one_count_at_the_end_of_the_day(
        engine: Engine, world: SessionFactory, clock: Clock) -> None:
    """30 clicks refused for lack of AE: the first alerts the managers at once (art. 5, sans délai), the 29 others
    are counted, not posted; at the end of the day one message gives the count, 30."""
    from sqlmodel import select

    from handlers.types import Action
    from storage import ledger
    from storage.models import Allocation
    from tests.chat import RecordingSender, runtime_of

    managers = RecordingSender()
    runtime = runtime_of(engine, clock, managers)
    year = clock().year
    with unit_of_work(world) as session:
        allocation = session.exec(select(Allocation).where(Allocation.year == year)).one()
        allocation.ae_cents = 500_00
        session.add(allocation)
        refs = [ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                    amount_cents=1_000_00, amount_ht_cents=None, supplier="Arawa",
                                    object=f"Sprint {i}", platform="console", now=clock(), year=year).reference
                for i in range(30)]
    for ref in refs:
        said = runtime.bot.action(Action("console", JULIEN, "quote.validate", ref))
        assert "Crédits insuffisants" in said.text
    runtime.courier.flush()

    alerts = [r.text for r in managers.messages("managers") if "Crédits insuffisants" in r.text]
    assert len(alerts) == 1 and refs[0] in alerts[0]
    clock.now = datetime.combine(runtime.services.today() + timedelta(days=1), dtime(0, 1), runtime.services.tz)
    runtime.courier.flush()
    alerts = [r.text for r in managers.messages("managers") if "Crédits insuffisants" in r.text]
    assert len(alerts) == 2 and f"(AE {year}) : 30 décisions refusées faute de crédits" in alerts[1]


def test_a_single_refusal_of_the_day_sends_no_count(engine: Engine, world: SessionFactory, clock: Clock) -> None:
    """One refused click: its alert goes at once; at the end of the day there is nothing to add, nothing posted."""
    from sqlmodel import select

    from handlers.types import Action
    from storage import ledger
    from storage.models import Allocation
    from tests.chat import RecordingSender, runtime_of

    managers = RecordingSender()
    runtime = runtime_of(engine, clock, managers)
    with unit_of_work(world) as session:
        allocation = session.exec(select(Allocation).where(Allocation.year == clock().year)).one()
        allocation.ae_cents = 500_00
        session.add(allocation)
        ref = ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                  amount_cents=1_000_00, amount_ht_cents=None, supplier="Arawa", object="Sprint",
                                  platform="console", now=clock(), year=clock().year).reference
    runtime.bot.action(Action("console", JULIEN, "quote.validate", ref))
    clock.advance(days=2)
    runtime.courier.flush()
    assert len([r for r in managers.messages("managers") if "Crédits insuffisants" in r.text]) == 1
    with unit_of_work(world) as session:
        assert {m.status for m in outbox.messages(session=session, kind_prefix="alert.")} == {"sent"}


def test_the_per_platform_queries_on_sqlite_and_postgresql(any_engine: Engine) -> None:
    """Fan-out, claim, the wait of an update for its subject, grouped repeats, the heartbeat and retry:
    the same answers on both databases."""
    from datetime import UTC

    from storage.db import session_factory

    sessions = session_factory(any_engine)
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    with unit_of_work(sessions) as session:
        for kind, target, occurrence in (("quote.request", "person:a", "D-2026-0001"),
                                         ("update", "subject:D-2026-0001", "validated")):
            outbox.enqueue(session=session, kind=kind, target=target, occurrence=occurrence, due_at=now,
                           payload={"reply": Reply("x").to_dict(), "subject": "D-2026-0001"})
        outbox.fan_out(session=session, platform="slack", now=now)
        outbox.fan_out(session=session, platform="slack", now=now)  # nothing twice
        first, update = outbox.due_on(session=session, platform="slack", now=now)
        assert outbox.earlier_about_subject_waiting(session=session, message_id=update, platform="slack",
                                                    subject="D-2026-0001")
        assert not outbox.earlier_about_subject_waiting(session=session, message_id=update, platform="slack",
                                                        subject="D-2026-000")  # a prefix is another subject
        assert outbox.claim(session=session, message_id=first, platform="slack", now=now, worker="w") is not None
        assert outbox.claim(session=session, message_id=first, platform="slack", now=now, worker="v") is None
        outcome = outbox.finish(session=session, message_id=first, platform="slack", now=now, worker="w",
                                status="sent", platforms=["slack"])
        assert outcome == outbox.Outcome("sent", "sent", 1)
        assert not outbox.earlier_about_subject_waiting(session=session, message_id=update, platform="slack",
                                                        subject="D-2026-0001")
        for _ in range(3):
            outbox.enqueue_grouped(session=session, messages=[outbox.NewMessage("alert.x", "managers", "p@1", {}, now)])
        outbox.write_probe(session=session, name="web-1", now=now)
        outbox.write_probe(session=session, name="web-1", now=now)
        assert outbox.counts(session=session) == {"pending": 2, "failed": 0}
    with unit_of_work(sessions) as session:
        assert [m.repeats for m in outbox.messages(session=session, kind_prefix="alert.")] == [2]
        assert outbox.claim(session=session, message_id=update, platform="slack", now=now, worker="w") is not None
        assert outbox.finish(session=session, message_id=update, platform="slack", now=now, worker="w",
                             status="failed", platforms=["slack"], error="boom", max_attempts=1).message == "failed"
    with unit_of_work(sessions) as session:
        assert outbox.retry(session=session, now=now) == 1
        assert [(d.status, d.attempts) for d in outbox.deliveries(session=session, message_id=update)] == [
            ("pending", 0)]


def test_only_a_request_that_notifies_someone_starts_a_delivery_pass(world: SessionFactory, clock: Clock) -> None:
    """`aide` and `budget` put nothing in the outbox and start no delivery pass (each was a transaction per
    platform, a fifth of serve's CPU under a burst of budget); a quote, which tells its intrapreneur, does."""
    from handlers.core import Bot
    from handlers.registry import register_all
    from handlers.services import Services
    from tests.chat import say

    passes: list[int] = []
    bot = Bot(Services(sessions=world, clock=clock, deliver=lambda: passes.append(1)), register_all())
    assert "Budget" in say(bot, "camille.martin", "budget") and "aide" in say(bot, "lea.dupont", "aide").lower()
    assert passes == []
    assert "D-2026-0001" in say(bot, "lea.dupont", "devis dedale; 3000; Arawa; Audit")
    assert passes == [1]
