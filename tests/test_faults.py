"""Faults: the server killed mid-burst, Slack failing, the database locked, a sweeper killed mid-send,
two sweepers at once. Nothing acknowledged is lost, nothing is sent twice, the ledger adds up.

Each test is bounded in time; the only waits are short polls for a subprocess to come up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.compose import compose
from bot.config import Settings
from bot.runtime import Runtime
from handlers.types import Action, Request
from storage import ledger, outbox
from storage.db import SessionFactory, session_factory, unit_of_work
from storage.models import Allocation, AuditEvent, OutboxMessage, Quote, ServiceDone
from tests.chat_slack import SIGNING_SECRET, sign
from tests.conftest import Clock, load_world, slack_id
from tests.fake_slack import BOT_TOKEN, TEAM, FakeSlack
from tests.servers import free_port, http_client, wait_healthy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PARIS = ZoneInfo("Europe/Paris")
JULIEN = slack_id("julien.moreau")  # the intrapreneur of Dédale
START_TIMEOUT = 30.0
# How long a restarted server may take to finish what the stopped one acknowledged: polled, so a fast run
# does not wait; generous, because the inbox workers are niced (they yield to acks) and a machine shared
# with other jobs starves niced threads (20 s was seen to run out under a load of 17 on 2 cores).
RESUME_DEADLINE = 60.0


def db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def slack_env(fake: FakeSlack, url: str) -> dict[str, str]:
    """The environment of an incubot process: this database, Slack on the fake Web API, nothing else."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "VIRTUAL_ENV")}
    return {**keep, "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def slack_settings(fake: FakeSlack, url: str) -> Settings:
    return Settings(database_url=url, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                    slack_api_url=fake.api_url)


def slack_runtime(fake: FakeSlack, engine: Engine, clock: Clock) -> Runtime:
    """A runtime whose courier posts to the fake Slack; delivery is driven by the test, retries do not pause."""
    from bot.platforms import slack

    plug = replace(slack.PLUG, build=partial(slack.build, sleep=lambda _seconds: None))
    return compose(slack_settings(fake, db_url(engine)), clock=clock, engine=engine, migrate=False, plugs=[plug],
                   delivery="manual").runtime


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


class Served:
    """``incubot serve`` in a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path, *, scheduler: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 *([] if scheduler else ["--no-scheduler"])], env=env, cwd=log.parent, stdout=out,
                stderr=subprocess.STDOUT)
        try:
            wait_healthy(self.url, self.process, START_TIMEOUT)
        except RuntimeError as exc:
            self.kill()
            raise AssertionError(f"{exc}:\n{log.read_text()[-3000:]}") from None

    def kill(self) -> None:
        """``kill -9``: no shutdown hook, no flush, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        """``SIGTERM``: what a process manager sends; ``serve`` stops accepting, drains, exits."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def rss_kb(self) -> int:
        """The process's resident memory, from /proc (Linux)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


# --------------------------------------------------------------------------- the world


def submit_quotes(sessions: SessionFactory, n: int, euros: int, now: datetime) -> list[str]:
    refs = []
    with unit_of_work(sessions) as session:
        for i in range(n):
            quote = ledger.create_quote(session=session, startup_id="dedale", submitted_by="lea.dupont",
                                        amount_cents=euros * 100, amount_ht_cents=None, supplier="Scopyleft",
                                        object=f"Sprint {i}", platform="console", now=now, year=now.year)
            refs.append(quote.reference)
    return refs


def orders_with_service_done(sessions: SessionFactory, n: int, euros: int, now: datetime) -> list[str]:
    """``n`` validated quotes, each with a service done of ``euros`` waiting for certification."""
    refs = submit_quotes(sessions, n, euros * 2, now)
    sds = []
    with unit_of_work(sessions) as session:
        for ref in refs:
            ledger.validate_quote(session=session, reference=ref, actor_id="julien.moreau", platform="console",
                                  now=now, year=now.year)
            row, _ = ledger.create_service_done(session=session, quote_reference=ref, submitted_by="lea.dupont",
                                                amount_cents=euros * 100, period="novembre", platform="console",
                                                now=now, year=now.year)
            sds.append(row.reference)
    return sds


def assert_ledger_adds_up(sessions: SessionFactory) -> None:
    """Per year: validated quotes sum to AE committed, certified service done to CP à payer, under the ceilings.

    Read in one snapshot: a server may still be deciding (the clicks it resumed), and under PostgreSQL's
    READ COMMITTED each statement would see its own moment — a decision committed between reading the
    counter and summing the quotes would look like a ledger that does not add up."""
    with unit_of_work(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE already holds the writers
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        for allocation in session.exec(select(Allocation)).all():
            committed = session.exec(select(sa.func.coalesce(sa.func.sum(Quote.amount_cents), 0)).where(
                Quote.status == "validated", Quote.commitment_year == allocation.year)).one()
            consumed = session.exec(select(sa.func.coalesce(sa.func.sum(ServiceDone.amount_cents), 0)).where(
                ServiceDone.status == "certified", ServiceDone.consumption_year == allocation.year)).one()
            assert (allocation.year, committed) == (allocation.year, allocation.ae_committed_cents)
            assert (allocation.year, consumed) == (allocation.year, allocation.cp_to_pay_cents)
            assert allocation.ae_committed_cents <= allocation.ae_cents
            assert allocation.cp_consumed_cents <= allocation.cp_cents


# --------------------------------------------------------------------------- (a) kill -9 mid-burst


@dataclass(frozen=True)
class Click:
    ref: str
    action: str  # quote.validate | service_done.certify


def click_body(click: Click, response_url: str) -> bytes:
    """A signed-able ``block_actions`` payload: Julien clicks Valider/Certifier in his DM with the bot."""
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": JULIEN, "team_id": TEAM},
        "api_app_id": "A0INCUBOT", "token": "legacy", "trigger_id": f"trigger-{click.ref}",
        "container": {"type": "message", "channel_id": "D" + JULIEN[1:], "is_ephemeral": True},
        "channel": {"id": "D" + JULIEN[1:]}, "response_url": response_url,
        "actions": [{"type": "button", "action_id": f"{click.action}#0", "block_id": "b",
                     "text": {"type": "plain_text", "text": "Valider"}, "value": click.ref, "action_ts": "1"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def post_click(client: httpx.Client, url: str, click: Click, response_url: str) -> int | None:
    body = click_body(click, response_url)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    try:
        return client.post(f"{url}/slack/events", content=body, headers=headers, timeout=10).status_code
    except httpx.TransportError:  # the server died under this request: not acknowledged
        return None


def decided(sessions: SessionFactory, click: Click) -> bool:
    """The click's decision is in the database: validated/certified, or refused for lack of credits (the day's
    grouped alert exists and the quote does not fit in what is left)."""
    with unit_of_work(sessions) as session:
        if click.action == "service_done.certify":
            return ledger.get_service_done(session=session, reference=click.ref).status == "certified"
        quote = ledger.get_quote(session=session, reference=click.ref)
        if quote.status == "validated":
            return True
        alerts = session.exec(select(OutboxMessage.id).where(
            OutboxMessage.kind == "alert.insufficient_credits")).all()
        left = ledger.year_balance(session=session, year=quote.created_at.year).ae_available_cents
        return bool(alerts) and quote.amount_cents > left


def test_kill_9_in_a_burst_of_signed_clicks_loses_no_acknowledged_decision(
        any_engine: Engine, fake_slack: FakeSlack, tmp_path: Path) -> None:
    """`kill -9` of `incubot serve` mid-burst: after restart every click answered 200 is decided, the ledger adds up."""
    sessions = session_factory(any_engine)
    now = datetime.now(PARIS)
    load_world(sessions, now)
    # 20 orders of 40 000 € validated (800 000 € of AE), each with 20 000 € of service done to certify;
    # then 30 quotes of 50 000 €: only 14 fit in the 1 500 000 € of AE, the others must be refused.
    certifications = [Click(ref, "service_done.certify") for ref in orders_with_service_done(sessions, 20, 20_000, now)]
    validations = [Click(ref, "quote.validate") for ref in submit_quotes(sessions, 30, 50_000, now)]
    clicks = [c for pair in zip(validations, certifications + [None] * 10, strict=True) for c in pair if c]

    server = Served(slack_env(fake_slack, db_url(any_engine)), tmp_path / "serve.log")
    acknowledged: list[Click] = []
    answered = threading.Event()
    with http_client() as client, ThreadPoolExecutor(8) as pool:
        futures = {pool.submit(post_click, client, server.url, c, fake_slack.new_response_url()): c for c in clicks}
        for future in as_completed(futures, timeout=60):
            if future.result() == 200:
                acknowledged.append(futures[future])
                if len(acknowledged) == 20 and not answered.is_set():
                    answered.set()
                    server.kill()
    assert answered.is_set(), "the burst ended before the kill"
    assert 20 <= len(acknowledged) < len(clicks)

    server = Served(slack_env(fake_slack, db_url(any_engine)), tmp_path / "serve.log")
    try:
        # Slack never resends a click: the Slack platform stores it in the inbox before it acks, so a 200 means
        # stored; the restarted server resumes what the killed one left and decides it.
        deadline = time.monotonic() + RESUME_DEADLINE
        while not all(decided(sessions, c) for c in acknowledged) and time.monotonic() < deadline:
            time.sleep(0.05)
        lost = [c.ref for c in acknowledged if not decided(sessions, c)]
        assert lost == [], f"{len(lost)} of {len(acknowledged)} clicks answered 200 were lost by kill -9: {lost}"
        assert_ledger_adds_up(sessions)  # whatever was cut short, nothing is half-written
        # What is not decided still shows its buttons: the intrapreneur clicks again, on the restarted server.
        with http_client() as client:
            for c in clicks:
                if not decided(sessions, c):
                    assert post_click(client, server.url, c, fake_slack.new_response_url()) == 200
        deadline = time.monotonic() + RESUME_DEADLINE
        while not all(decided(sessions, c) for c in clicks) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(decided(sessions, c) for c in clicks)
        assert_ledger_adds_up(sessions)
        with unit_of_work(sessions) as session:
            balance = ledger.year_balance(session=session, year=now.year)
        assert balance.ae_committed_cents == (20 * 40_000 + 14 * 50_000) * 100
        assert balance.cp_to_pay_cents == 20 * 20_000 * 100
    finally:
        server.kill()


# --------------------------------------------------------------------------- two serve processes, one database


@pytest.mark.postgres
def test_two_serve_processes_on_one_postgresql_database_share_the_ceiling(
        pg_database: str, fake_slack: FakeSlack, tmp_path: Path) -> None:
    """Two `incubot serve` (one with the scheduler) take alternate clicks: exactly what fits is validated, once."""
    from storage.db import make_engine
    from tests.conftest import _truncate_all

    engine = make_engine(pg_database)
    _truncate_all(engine)
    sessions = session_factory(engine)
    now = datetime.now(PARIS)
    load_world(sessions, now)
    certifications = [Click(ref, "service_done.certify") for ref in orders_with_service_done(sessions, 10, 20_000, now)]
    validations = [Click(ref, "quote.validate") for ref in submit_quotes(sessions, 30, 50_000, now)]
    clicks = validations + certifications  # 10 orders of 40 000 € committed: 22 of the 30 quotes fit

    env = slack_env(fake_slack, pg_database)
    servers = [Served(env, tmp_path / "a.log", scheduler=True), Served(env, tmp_path / "b.log")]
    try:
        with http_client() as client, ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda ic: post_click(client, servers[ic[0] % 2].url, ic[1],
                                                        fake_slack.new_response_url()), enumerate(clicks)))
            # The same clicks again, on the other instance: a second click changes nothing.
            again = list(pool.map(lambda ic: post_click(client, servers[(ic[0] + 1) % 2].url, ic[1],
                                                        fake_slack.new_response_url()), enumerate(clicks)))
        assert set(codes) == set(again) == {200}
        deadline = time.monotonic() + RESUME_DEADLINE
        while not all(decided(sessions, c) for c in clicks) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for server in servers:
            server.kill()
    assert all(decided(sessions, c) for c in clicks)
    assert_ledger_adds_up(sessions)
    with unit_of_work(sessions) as session:
        balance = ledger.year_balance(session=session, year=now.year)
        statuses = Counter(ledger.get_quote(session=session, reference=c.ref).status for c in validations)
        audit = Counter(e.subject for e in session.exec(select(AuditEvent).where(
            AuditEvent.action == "quote.validated")).all())
    assert statuses == {"validated": 22, "pending": 8}
    assert balance.ae_committed_cents == (10 * 40_000 + 22 * 50_000) * 100 <= balance.ae_cents
    assert balance.cp_to_pay_cents == 10 * 20_000 * 100
    assert set(audit.values()) == {1}, "a quote was validated twice"
    engine.dispose()


# --------------------------------------------------------------------------- (b) Slack 500 then 200


@pytest.mark.parametrize("failures", [1, 3], ids=["client-retry", "outbox-retry"])
def test_slack_answering_500_then_200_delivers_the_message_once(
        engine: Engine, world: SessionFactory, clock: Clock, fake_slack: FakeSlack, failures: int) -> None:
    """chat.postMessage answers 500 (once: the client retries; three times: the outbox retries later): one DM."""
    runtime = slack_runtime(fake_slack, engine, clock)
    fake_slack.fail_next("chat.postMessage", 500, times=failures, retry_after=None, error="internal_error")
    said = runtime.bot.message(Request("slack", slack_id("lea.dupont"), "devis dedale; 12 500; Scopyleft; Sprint 7"))
    assert "D-2026-0001" in said.text

    runtime.courier.flush()
    clock.advance(minutes=5)  # past the outbox backoff of a failed attempt
    runtime.courier.flush()
    runtime.courier.flush()

    requests = [m for m in fake_slack.dm(JULIEN) if "D-2026-0001" in m["text"] or "D-2026-0001" in json.dumps(m)]
    assert len(requests) == 1
    with unit_of_work(world) as session:
        rows = [m for m in outbox.messages(session=session) if m.target == "person:julien.moreau"]
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1 if failures == 1 else 2)]


# --------------------------------------------------------------------------- (c) database locked


def test_a_validation_waits_for_a_locked_database_and_succeeds(
        engine: Engine, world: SessionFactory, clock: Clock) -> None:
    """Another connection holds the SQLite write lock for 0.5 s: five validations wait, then all succeed."""
    from tests.chat import RecordingSender, runtime_of

    runtime = runtime_of(engine, clock, RecordingSender())
    refs = submit_quotes(world, 5, 10_000, clock())
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        conn = sqlite3.connect(engine.url.database or "", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(0.5)  # the fault itself: a writer that keeps the lock for half a second
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert locked.wait(5)
    start = time.monotonic()
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda ref: runtime.bot.action(Action("console", "julien.moreau", "quote.validate",
                                                                      ref)), refs))
    waited = time.monotonic() - start
    holder.join(5)

    assert waited >= 0.2, "the validations did not wait for the lock"
    assert all("validé" in r.text for r in results), [r.text for r in results]
    with unit_of_work(world) as session:
        assert {ledger.get_quote(session=session, reference=r).status for r in refs} == {"validated"}
    assert_ledger_adds_up(world)


# --------------------------------------------------------------------------- (d) sweeper killed mid-send

SWEEP_KILLED_BETWEEN_CLAIM_AND_SEND = """
import os, signal, sys
from datetime import datetime
from dataclasses import replace
from bot.compose import compose
from bot.config import Settings
from bot.platforms import slack
from bot.scheduler import sweep

class Dying(slack.SlackSender):
    def post_direct(self, *args, **kwargs):  # the process is killed after claiming, before Slack hears anything
        os.kill(os.getpid(), signal.SIGKILL)

    post_channel = post_direct

def build(runtime):
    platform = slack.build(runtime)
    return replace(platform, sender=Dying(platform.client))

runtime = compose(Settings.from_env(), migrate=False, plugs=[replace(slack.PLUG, build=build)]).runtime
sweep(runtime, datetime.fromisoformat(sys.argv[1]))
raise SystemExit("not killed")
"""


def test_a_sweep_killed_between_claim_and_send_is_resumed_after_the_stale_claim_delay(
        engine: Engine, world: SessionFactory, fake_slack: FakeSlack, tmp_path: Path) -> None:
    """The sweeper dies holding a claim: the reminder is not sent before the stale delay, then once, never twice."""
    at = datetime(2026, 12, 14, 9, 0, tzinfo=PARIS)  # J-1 of the committee of 15 December
    done = subprocess.run([sys.executable, "-c", SWEEP_KILLED_BETWEEN_CLAIM_AND_SEND, at.isoformat()],
                          env=slack_env(fake_slack, db_url(engine)), cwd=tmp_path, timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    with unit_of_work(world) as session:
        claimed = [m for m in outbox.messages(session=session)
                   if [d.status for d in outbox.deliveries(session=session, message_id=m.id or 0)] == ["claimed"]]
        enqueued = len(outbox.messages(session=session))
    assert len(claimed) == 1 and enqueued > 1
    orphan = claimed[0]
    assert fake_slack.calls_to("chat.postMessage") == []

    from bot.scheduler import sweep

    clock = Clock(at + timedelta(minutes=1))
    runtime = slack_runtime(fake_slack, engine, clock)
    sweep(runtime, clock())  # the others go; the orphan's claim is still fresh
    with unit_of_work(world) as session:
        row = session.get(OutboxMessage, orphan.id)
        assert row is not None and row.status == "pending"  # its Slack delivery is still claimed
        assert [d.status for d in outbox.deliveries(session=session, message_id=orphan.id or 0)] == ["claimed"]
        assert {m.status for m in outbox.messages(session=session) if m.id != orphan.id} == {"sent"}
    posted_before = len(fake_slack.calls_to("chat.postMessage"))

    clock.advance(minutes=outbox.STALE_CLAIM.total_seconds() / 60)
    sweep(runtime, clock())  # the claim is stale: taken over and sent
    sweep(runtime, clock())  # nothing left
    clock.advance(hours=1)
    sweep(runtime, clock())
    with unit_of_work(world) as session:
        row = session.get(OutboxMessage, orphan.id)
        assert row is not None and row.status == "sent" and row.attempts == 2
    assert len(fake_slack.calls_to("chat.postMessage")) == posted_before + 1
    texts = Counter((m["channel"], m["text"]) for ms in fake_slack.messages.values() for m in ms)
    assert texts and max(texts.values()) == 1


# --------------------------------------------------------------------------- (e) two sweepers on PostgreSQL

SWEEP_ON_GO = """
import sys, time
from datetime import datetime
from pathlib import Path
from bot.compose import compose
from bot.config import Settings
from bot.scheduler import sweep

runtime = compose(Settings.from_env(), migrate=False).runtime  # Slack, configured by the environment
Path(sys.argv[2]).touch()
go = Path(sys.argv[3])
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
total = 0
for _ in range(10):  # one sweep sends at most a page of the outbox: sweep again, as the next minute would
    sent = sweep(runtime, datetime.fromisoformat(sys.argv[1])).sent
    total += sent
    if not sent:
        break
print(total)
"""


@pytest.mark.postgres
def test_two_processes_sweeping_the_same_outbox_on_postgresql_send_each_message_once(
        pg_database: str, fake_slack: FakeSlack, tmp_path: Path) -> None:
    """Two sweepers start at the same instant on one PostgreSQL outbox: every message is posted exactly once."""
    from storage.db import make_engine
    from tests.conftest import _truncate_all

    engine = make_engine(pg_database)
    _truncate_all(engine)
    sessions = session_factory(engine)
    at = datetime(2026, 12, 14, 9, 0, tzinfo=PARIS)
    load_world(sessions, at)
    from handlers.types import Reply

    people = ["claire.petit", "julien.moreau", "sophie.laurent", "nadia.benali", "lea.dupont", "thomas.roux"]
    with unit_of_work(sessions) as session:
        for i in range(240):
            outbox.enqueue(session=session, kind="bench.note", target=f"person:{people[i % 6]}",
                           occurrence=str(i), payload={"reply": Reply(f"Note {i}").to_dict()}, due_at=at)
    env = slack_env(fake_slack, pg_database)
    procs = [subprocess.Popen([sys.executable, "-c", SWEEP_ON_GO, at.isoformat(), str(tmp_path / f"ready{i}"),
                               str(tmp_path / "go")], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), procs[0].stderr
            time.sleep(0.01)
        (tmp_path / "go").touch()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    sent = [int(out.strip().splitlines()[-1]) for out, _ in outputs]

    notes = Counter(m["text"] for ms in fake_slack.messages.values() for m in ms if m["text"].startswith("Note "))
    assert len(notes) == 240 and set(notes.values()) == {1}
    with unit_of_work(sessions) as session:
        rows = outbox.messages(session=session)
        assert {m.status for m in rows} == {"sent"}
        workers = Counter(m.claimed_by for m in rows if m.kind == "bench.note")
    assert len(workers) == 2 and min(workers.values()) > 0, f"the sweeps did not overlap: {workers}, sent {sent}"
    engine.dispose()


# --------------------------------------------------------------------------- (f) SIGTERM / kill -9 mid-burst

LEA = slack_id("lea.dupont")
BURST = 100


def command_body(n: int, response_url: str) -> bytes:
    """A signed-able `/incubot devis …` from Léa, the n-th of the burst (its object says which)."""
    return urlencode({
        "token": "legacy", "team_id": TEAM, "team_domain": "incubateur", "channel_id": "C0GENERAL",
        "channel_name": "general", "user_id": LEA, "user_name": "lea", "command": "/incubot",
        "text": f"devis dedale; 1000; Arawa; Rafale {n}", "api_app_id": "A0INCUBOT",
        "response_url": response_url, "trigger_id": f"trigger-burst-{n}",
    }).encode()


def post_command(client: httpx.Client, url: str, n: int, response_url: str) -> int | None:
    body = command_body(n, response_url)
    try:
        return client.post(f"{url}/slack/events", content=body, timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)}).status_code
    except httpx.TransportError:  # the server stopped under this request: not acknowledged
        return None


def quotes_by_object(sessions: SessionFactory) -> Counter[str]:
    with unit_of_work(sessions) as session:
        return Counter(q.object for q in session.exec(select(Quote)).all())


def inbox_pending(sessions: SessionFactory) -> int:
    from storage import inbox

    with unit_of_work(sessions) as session:
        return inbox.pending_count(session=session)


# Each stop on one backend, not every pair: kill -9 where durability is the process's own business (SQLite's
# WAL in the killed process's files), SIGTERM's drain on PostgreSQL (its pool closed under the drain). The
# inbox and its resume are the same code on both; each serve start costs two Python starts of incubot.
@pytest.mark.parametrize(("any_engine", "stop"), [
    ("sqlite", "kill-9"),
    pytest.param("postgresql", "sigterm", marks=pytest.mark.postgres),
], indirect=["any_engine"], ids=["sqlite-kill-9", "postgresql-sigterm"])
def test_every_command_acknowledged_before_a_stop_is_one_quote_and_answered_after_the_restart(
        any_engine: Engine, fake_slack: FakeSlack, tmp_path: Path, stop: str) -> None:
    """A burst of 100 signed `devis`, `incubot serve` stopped after 30 acks (SIGTERM or kill -9) with more in
    flight, the rest sent while it is down, restarted: every command answered 200 is exactly one quote and got
    its answer on its response_url; nothing else was made."""
    sessions = session_factory(any_engine)
    load_world(sessions, datetime.now(PARIS))
    env = {**slack_env(fake_slack, db_url(any_engine)), "INCUBOT_DRAIN_SECONDS": "5"}
    server = Served(env, tmp_path / "serve.log")
    urls = [fake_slack.new_response_url() for _ in range(BURST)]
    acked: list[int] = []
    stopped, gone = threading.Event(), threading.Event()

    def stop_server() -> None:
        try:
            if stop == "sigterm":
                assert server.terminate() == 0, (tmp_path / "serve.log").read_text()[-3000:]
            else:
                server.kill()
        finally:
            gone.set()

    # The first 30 + 16 (those in flight when the 30th ack comes) go at once; the rest wait until the server
    # is gone, so the stop always falls inside the burst, however fast this machine acks.
    free = 30 + 16

    def post(n: int) -> int | None:
        if n >= free:
            gone.wait(60)
        return post_command(client, server.url, n, urls[n])

    stopper: threading.Thread | None = None
    with http_client(limits=httpx.Limits(max_connections=16)) as client, ThreadPoolExecutor(16) as pool:
        futures = {pool.submit(post, n): n for n in range(BURST)}
        for future in as_completed(futures, timeout=60):
            if future.result() == 200:
                acked.append(futures[future])
                if len(acked) == 30 and not stopped.is_set():
                    stopped.set()
                    stopper = threading.Thread(target=stop_server)
                    stopper.start()
    assert stopper is not None, "the burst ended before the stop"
    stopper.join(40)
    assert 30 <= len(acked) <= free, f"{len(acked)} acked: the stop came too late to test anything"

    server = Served(env, tmp_path / "serve.log")
    try:
        deadline = time.monotonic() + RESUME_DEADLINE
        while time.monotonic() < deadline and (inbox_pending(sessions) or not all(
                fake_slack.responses_to(urls[n]) for n in acked)):
            time.sleep(0.05)
        made = quotes_by_object(sessions)
        assert [n for n in acked if made[f"Rafale {n}"] != 1] == [], "an acked command is not exactly one quote"
        assert max(made.values()) == 1, "a command made two quotes"
        unanswered = [n for n in acked if not any("D-" in r.get("text", "") for r in fake_slack.responses_to(urls[n]))]
        assert unanswered == [], f"acknowledged commands never answered: {unanswered}"
        assert inbox_pending(sessions) == 0
    finally:
        server.kill()
    log = (tmp_path / "serve.log").read_text()
    if stop == "sigterm":
        assert "Traceback" not in log, log[-3000:]


# --------------------------------------------------------------------------- (g) 64 MB unsigned bodies

MB = 1024 * 1024


def stream_unsigned(port: int, path: str, total: int, *, declare_length: bool) -> tuple[bytes, int]:
    """POST ``total`` unsigned bytes to ``path`` over a real loopback socket in 64 KiB chunks (chunked encoding
    when no length is declared), until the server answers or closes. Returns (its answer, bytes sent)."""
    chunk = b"x" * 65_536
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {total}" if declare_length else "Transfer-Encoding: chunked"]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        if declare_length:  # refused on the headers alone: the answer comes before any byte of the body
            return conn.recv(65_536), 0
        sent, answer = 0, b""
        try:
            while sent < total and not answer:
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                conn.setblocking(False)
                try:
                    answer = conn.recv(65_536)
                except BlockingIOError:
                    pass
                finally:
                    conn.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):  # answered and closed while we were sending
            with contextlib.suppress(OSError):
                answer = answer or conn.recv(65_536)
        return answer, sent


def test_64_mb_unsigned_bodies_are_refused_413_while_memory_stays_flat(
        engine: Engine, fake_slack: FakeSlack, tmp_path: Path) -> None:
    """Unsigned 64 MB POSTs (with and without Content-Length) to Slack's and Mattermost's endpoints: 413 before
    the body is read, the process's memory grows by less than 20 MB, and it still serves /healthz."""
    env = {**slack_env(fake_slack, db_url(engine)), "MATTERMOST_URL": "http://127.0.0.1:9",
           "MATTERMOST_BOT_TOKEN": "x", "MATTERMOST_COMMAND_TOKENS": "t", "INCUBOT_SECRET": "s" * 32}
    server = Served(env, tmp_path / "serve.log")
    try:
        before = server.rss_kb()
        peak = before
        for path in ("/slack/events", "/mattermost/command", "/mattermost/actions", "/mattermost/dialogs"):
            for declare in (True, False):
                answer, sent = stream_unsigned(server.port, path, 64 * MB, declare_length=declare)
                # The 413 is read, or the connection was cut long before the 64 MB were taken.
                assert answer.startswith(b"HTTP/1.1 413") or (not answer and sent < 8 * MB), (path, declare, sent)
                peak = max(peak, server.rss_kb())
        assert peak - before < 20 * 1024, f"RSS grew from {before} kB to {peak} kB"
        with http_client() as client:
            assert client.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        server.kill()


# --------------------------------------------------------------------------- (h) documents rendered apart


def test_serve_sends_a_pdf_it_renders_in_a_child_process(engine: Engine, world: SessionFactory, fake_slack: FakeSlack,
                                                         tmp_path: Path) -> None:
    """`incubot serve` (`python -m bot serve`, as a Procfile or a unit runs it) sends the monthly report with its PDF,
    rendered in a child process: the managers' channel gets the file, and the server neither runs twice nor
    breaks."""
    from handlers import attachments
    from handlers.types import Reply

    reply = Reply("📊 Rapport mensuel — octobre 2026", files=(attachments.monthly_report(2026, 10),))
    with unit_of_work(world) as session:
        outbox.enqueue(session=session, kind="reminder.monthly_report", target="managers", occurrence="2026-10",
                       payload={"reply": reply.to_dict()}, due_at=datetime.now(PARIS) - timedelta(minutes=1))
    server = Served(slack_env(fake_slack, db_url(engine)), tmp_path / "serve.log", scheduler=True)
    try:
        deadline = time.monotonic() + RESUME_DEADLINE
        while time.monotonic() < deadline and not any(
                (u["data"] or b"").startswith(b"%PDF-") for u in fake_slack.uploads.values()):
            time.sleep(0.05)
        assert [u["filename"] for u in fake_slack.uploads.values() if (u["data"] or b"").startswith(b"%PDF-")] == [
            "rapport-2026-10.pdf"], (tmp_path / "serve.log").read_text()[-3000:]
        assert server.terminate() == 0
    finally:
        if server.process.poll() is None:
            server.kill()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]
