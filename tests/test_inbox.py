"""The inbox: what a platform saw acknowledged is stored first, processed once by the workers,
resumed after a stop; a replay of the same signed request is a no-op."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.inbox import AcksFirst, Admission, InboxWorkers
from bot.runtime import Runtime
from storage import inbox
from storage.db import unit_of_work
from storage.models import InboxStatus, Quote
from tests.chat import runtime_of
from tests.chat_mattermost import MattermostChat
from tests.chat_slack import SlackChat, seen_message, slack_chat, slack_id
from tests.conftest import Clock

LEA, JULIEN = slack_id("lea.dupont"), slack_id("julien.moreau")


def quotes(runtime: Runtime) -> int:
    with unit_of_work(runtime.services.sessions) as session:
        return int(session.exec(select(sa.func.count()).select_from(Quote)).one())


def rows(runtime: Runtime) -> list[tuple[str, str, int]]:
    with unit_of_work(runtime.services.sessions) as session:
        return [(i.kind, i.status, i.attempts) for i in inbox.items(session=session)]


# --------------------------------------------------------------------------- replays


def test_the_same_signed_command_three_times_makes_one_quote_and_one_answer(slack: SlackChat) -> None:
    """A signed `/incubot devis …` body with its timestamp, received three times: one quote, one answer."""
    response_url = slack.fake.new_response_url()
    body = urlencode({"command": "/incubot", "text": "devis dedale; 3000; Arawa; Audit", "user_id": LEA,
                      "channel_id": "C0GENERAL", "team_id": "T0INCUBOT", "trigger_id": "t-1",
                      "response_url": response_url}).encode()
    stamp = int(time.time())
    codes = [slack.post(body, "application/x-www-form-urlencoded", timestamp=stamp).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert quotes(slack.runtime) == 1
    [answer] = slack.fake.responses_to(response_url)
    assert "D-2026-0001" in answer["text"]
    assert len(slack.fake.dm(JULIEN)) == 1
    assert rows(slack.runtime) == [("slack.command", "done", 1)]


def test_a_replayed_click_is_decided_once_and_answered_once(slack: SlackChat) -> None:
    """The same signed click received three times: one validation, one confirmation (no « déjà validé »)."""
    slack.command(LEA, "devis dedale; 3000; Arawa; Audit")
    request = slack.fake.dm(JULIEN)[-1]
    valider = next(e for b in request["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["text"]["text"] == "Valider")
    clicked_url = slack.fake.new_response_url()
    payload = {"type": "block_actions", "user": {"id": JULIEN}, "team": {"id": "T0INCUBOT"}, "trigger_id": "t",
               "container": {"type": "message", "message_ts": request["ts"], "channel_id": request["channel"]},
               "response_url": clicked_url,
               "actions": [{"type": "button", "action_id": valider["action_id"], "value": "D-2026-0001"}]}
    stamp = int(time.time())
    assert [slack.interaction(payload, timestamp=stamp).status_code for _ in range(3)] == [200, 200, 200]
    answers = [r for r in slack.fake.responses_to(clicked_url) if not r.get("replace_original")]
    assert len(answers) == 1 and "validé" in answers[0]["text"] and "déjà" not in answers[0]["text"]
    assert "réservées 3 000,00 €" in slack.say("camille.martin", "budget").text


def test_a_replayed_view_submission_makes_one_quote(slack: SlackChat) -> None:
    """The quote modal's submission received three times (same body, same timestamp): one quote, one confirmation."""
    _, trigger_id, _ = slack.command(LEA, "devis")
    view = slack.fake.opened_views[trigger_id]
    values = {"startup": "dedale", "amount": "3 000", "supplier": "Arawa", "object": "Audit"}
    stamp = int(time.time())
    for _ in range(3):
        assert slack.view_submission(LEA, view, values, timestamp=stamp).content == b""
    assert quotes(slack.runtime) == 1
    assert len([e for e in slack.fake.ephemeral if e["user"] == LEA and "D-2026-0001" in e["text"]]) == 1
    assert len(slack.fake.dm(JULIEN)) == 1


def test_a_view_submission_with_field_errors_stores_nothing_and_the_corrected_one_goes_through(
        slack: SlackChat) -> None:
    """A wrong amount comes back as field errors and leaves no inbox row; the corrected submission makes the quote."""
    _, trigger_id, _ = slack.command(LEA, "devis")
    view = slack.fake.opened_views[trigger_id]
    wrong = slack.view_submission(LEA, view, {"startup": "dedale", "amount": "beaucoup", "supplier": "Arawa",
                                              "object": "Audit"})
    assert wrong.json()["response_action"] == "errors"
    assert [r for r in rows(slack.runtime) if r[0] == "slack.submission"] == []
    slack.view_submission(LEA, view, {"startup": "dedale", "amount": "3 000", "supplier": "Arawa", "object": "Audit"})
    assert quotes(slack.runtime) == 1


def test_the_same_mattermost_dialog_submission_three_times_makes_one_quote(mattermost: MattermostChat) -> None:
    """A dialog's submission received three times makes one quote; the replays just close the dialog."""
    assert "[form" in mattermost.say("lea.dupont", "devis").text or mattermost.forms.get("lea.dupont")
    opened = mattermost.forms["lea.dupont"]
    values = {"startup": "dedale", "amount": "3 000", "supplier": "Arawa", "object": "Audit"}
    answers = [mattermost.submit_dialog("lea.dupont", opened, values) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json() == {} for a in answers)
    assert quotes(mattermost.runtime) == 1


def test_a_mattermost_dialog_answered_with_field_errors_can_be_submitted_again(mattermost: MattermostChat) -> None:
    """Field errors do not consume the dialog: the corrected submission with the same state makes the quote."""
    mattermost.say("lea.dupont", "devis")
    opened = mattermost.forms["lea.dupont"]
    wrong = mattermost.submit_dialog("lea.dupont", opened, {"startup": "dedale", "amount": "beaucoup",
                                                            "supplier": "Arawa", "object": "Audit"})
    assert set(wrong.json()["errors"]) == {"amount"}
    right = mattermost.submit_dialog("lea.dupont", opened, {"startup": "dedale", "amount": "3 000",
                                                            "supplier": "Arawa", "object": "Audit"})
    assert right.json() == {}
    assert quotes(mattermost.runtime) == 1


def test_two_mattermost_dialogs_opened_separately_are_two_quotes(mattermost: MattermostChat) -> None:
    """Each dialog carries its own nonce: two forms filled alike are two quotes, not a replay."""
    values = {"startup": "dedale", "amount": "3 000", "supplier": "Arawa", "object": "Audit"}
    for _ in range(2):
        mattermost.say("lea.dupont", "devis")
        assert mattermost.submit_dialog("lea.dupont", mattermost.forms["lea.dupont"], values).json() == {}
    assert quotes(mattermost.runtime) == 2


# --------------------------------------------------------------------------- workers


@pytest.fixture
def runtime(engine: Engine, world: Any, clock: Clock) -> Runtime:
    return runtime_of(engine, clock)


def test_a_stored_request_left_pending_by_a_stop_is_processed_at_the_next_start(
        runtime: Runtime, clock: Clock) -> None:
    """A row stored by a process that stopped before processing it is done by the next one's resume, once."""
    with unit_of_work(runtime.services.sessions) as session:
        inbox.put(session=session, platform="test", key="k1", kind="test.echo", payload={"n": 1}, now=clock())
    seen: list[tuple[str, Any]] = []
    workers = runtime.inbox
    workers.register("test.echo", lambda p: seen.append(("decide", p["n"])) or p["n"] * 10,
                     lambda p, answer: seen.append(("answer", answer)))
    assert workers.resume() == 1
    workers.join()
    assert workers.resume() == 0
    workers.join()
    assert seen == [("decide", 1), ("answer", 10)]
    assert rows(runtime) == [("test.echo", "done", 1)]


def test_work_committed_before_a_crash_is_not_redone_only_its_answer_is_sent(runtime: Runtime, clock: Clock) -> None:
    """A row whose work committed (answering) but whose answer never left: the resume sends the answer only."""
    with unit_of_work(runtime.services.sessions) as session:
        item = inbox.put(session=session, platform="test", key="k2", kind="test.echo", payload={}, now=clock())
        assert item is not None
        inbox.answer_later(session=session, item_id=item, platform="test", key="k2", kind="test.echo",
                           payload={"n": 2, "answer": "kept"}, now=clock())
    seen: list[Any] = []
    workers = runtime.inbox
    workers.register("test.echo", lambda p: seen.append("decided again"), lambda p, answer: seen.append(answer))
    workers.resume()
    workers.join()
    assert seen == ["kept"]
    assert rows(runtime) == [("test.echo", "done", 1)]


def test_a_row_claimed_by_a_dead_process_of_this_host_is_taken_over_at_once(runtime: Runtime, clock: Clock) -> None:
    """A claim by a process of this host that no longer exists (kill -9) is resumed without waiting for staleness."""
    workers = runtime.inbox
    with unit_of_work(runtime.services.sessions) as session:
        item = inbox.put(session=session, platform="test", key="k3", kind="test.echo", payload={}, now=clock())
        assert item is not None
        dead = f"{workers.host}:999999999:gone"
        assert inbox.claim(session=session, item_id=item, now=clock(), worker=dead) is not None
        assert inbox.claim(session=session, item_id=item, now=clock(), worker="someone-else") is None
    done = threading.Event()
    workers.register("test.echo", lambda p: "ok", lambda p, answer: done.set())
    workers.resume()
    workers.join()
    assert done.is_set()
    assert rows(runtime) == [("test.echo", "done", 2)]


def test_a_claim_that_went_stale_is_taken_over_and_the_late_worker_cannot_commit(
        runtime: Runtime, clock: Clock) -> None:
    """A claim older than STALE_CLAIM is taken over; the first worker's mark then fails, so its work rolls back."""
    with unit_of_work(runtime.services.sessions) as session:
        item = inbox.put(session=session, platform="test", key="k4", kind="test.echo", payload={}, now=clock())
        assert item is not None
        assert inbox.claim(session=session, item_id=item, now=clock(), worker="slow") is not None
    clock.advance(minutes=inbox.STALE_CLAIM.total_seconds() / 60 + 1)
    with unit_of_work(runtime.services.sessions) as session:
        assert inbox.resumable_ids(session=session, now=clock()) == [item]
        assert inbox.claim(session=session, item_id=item, now=clock(), worker="fresh") is not None
        assert not inbox.mark_answering(session=session, item_id=item, worker="slow", payload={})
        assert inbox.mark_answering(session=session, item_id=item, worker="fresh", payload={"answer": 1})


def test_a_failing_row_is_retried_then_failed_and_logged_as_an_error(
        runtime: Runtime, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    """Each failure is logged with its traceback and given back; after MAX_ATTEMPTS the row is failed, at ERROR."""
    with unit_of_work(runtime.services.sessions) as session:
        inbox.put(session=session, platform="test", key="k5", kind="test.boom", payload={}, now=clock())
    workers = runtime.inbox

    def boom(_payload: dict[str, Any], _answer: Any) -> None:
        raise RuntimeError("the Web API is gone")

    workers.register("test.boom", lambda p: "decided", boom)
    with caplog.at_level(logging.INFO, logger="incubot.inbox"):
        for _ in range(inbox.MAX_ATTEMPTS + 2):
            workers.resume()
            workers.join()
    failures = [r for r in caplog.records if "failed (attempt" in r.getMessage()]
    assert len(failures) == inbox.MAX_ATTEMPTS and all(r.exc_info for r in failures)
    [given_up] = [r for r in caplog.records if r.levelno == logging.ERROR and "given up" in r.getMessage()]
    assert "the Web API is gone" in given_up.getMessage()
    assert rows(runtime) == [("test.boom", "failed", inbox.MAX_ATTEMPTS)]
    with unit_of_work(runtime.services.sessions) as session:
        assert inbox.pending_count(session=session) == 0 and inbox.failed_count(session=session) == 1


def test_draining_past_its_bound_leaves_what_was_not_started_pending(runtime: Runtime, clock: Clock) -> None:
    """SIGTERM's drain waits at most its bound; the rows queued behind a slow one stay pending, untouched."""
    workers = InboxWorkers(runtime.engine, runtime.services, threads=1)
    started, release = threading.Event(), threading.Event()

    def slow(_payload: dict[str, Any]) -> str:
        started.set()
        release.wait(5)
        return "ok"

    workers.register("test.slow", slow, lambda p, answer: None)
    with unit_of_work(runtime.services.sessions) as session:  # stored before the first one holds the database
        ids = [inbox.put(session=session, platform="test", key=f"d{i}", kind="test.slow", payload={}, now=clock())
               for i in range(3)]
    for item in ids:
        assert item is not None
        workers.kick(item)
    assert started.wait(5)
    # The slow one holds SQLite's write lock, which the drain's count of what is left waits for: let it end
    # shortly after the bound instead of at its own 5 s.
    threading.Timer(0.3, release.set).start()
    assert not workers.drain(0.1)  # the first one still runs when the bound is reached
    workers.join()
    with unit_of_work(runtime.services.sessions) as session:
        statuses = [inbox.get(session=session, item_id=i).status for i in ids if i is not None]  # type: ignore[union-attr]
    assert statuses == [InboxStatus.DONE.value, InboxStatus.PENDING.value, InboxStatus.PENDING.value]


def test_draining_finishes_what_is_queued_within_its_bound(runtime: Runtime, clock: Clock) -> None:
    """Within the bound, the drain lets the workers finish every row already handed to them."""
    workers = InboxWorkers(runtime.engine, runtime.services, threads=1)
    done: list[int] = []
    workers.register("test.echo", lambda p: p["n"], lambda p, answer: done.append(answer))
    for i in range(5):
        workers.store("test", f"q{i}", "test.echo", {"n": i})
    assert workers.drain(10.0)
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert workers.store("test", "late", "test.echo", {"n": 9}) is not None  # stored, not started
    workers.join()
    assert 9 not in done
    with unit_of_work(runtime.services.sessions) as session:
        assert inbox.pending_count(session=session) == 1


def test_a_slack_command_stored_by_a_stopped_process_is_answered_on_its_response_url(
        engine: Engine, world: Any, clock: Clock, request: pytest.FixtureRequest) -> None:
    """The answer of a command acked by a process that stopped goes out from the next one, on its response_url."""
    first = slack_chat(engine, clock, request)
    first.wiring.inbox._closing.set()  # noqa: SLF001 - a process that stops right after the ack
    response, _, response_url = first.command(LEA, "devis dedale; 3000; Arawa; Audit")
    assert response.status_code == 200 and first.fake.responses_to(response_url) == []
    assert rows(first.runtime) == [("slack.command", "pending", 0)]

    second = slack_chat(engine, clock, request)
    second.fake = first.fake
    assert second.wiring.inbox.resume() == 1
    second.wiring.join()
    [answer] = first.fake.responses_to(response_url)
    assert "D-2026-0001" in seen_message(answer).text
    assert quotes(second.runtime) == 1


def test_the_inbox_payload_keeps_what_the_answer_needs(slack: SlackChat) -> None:
    """The stored command keeps its response_url and text: a worker of another process can answer it."""
    _, _, response_url = slack.command(LEA, "devis dedale; 3000; Arawa; Audit")
    with unit_of_work(slack.runtime.services.sessions) as session:
        [row] = inbox.items(session=session)
    stored = json.loads(row.payload)
    assert stored["body"]["response_url"] == response_url and stored["body"]["text"].startswith("devis dedale")
    assert "D-2026-0001" in stored["answer"]["text"]


# --------------------------------------------------------------------------- turns (bot.inbox.Admission)


def test_no_more_requests_than_the_slots_are_in_a_unit_of_work_at_once() -> None:
    """Eight simultaneous requests through two slots: two at a time inside (they meet there in pairs), never three."""
    admission = Admission(2)
    inside, peak, lock = 0, 0, threading.Lock()
    outside, pairs = threading.Barrier(8), threading.Barrier(2)

    def request() -> None:
        nonlocal inside, peak
        outside.wait(10)
        with admission():
            with lock:
                inside += 1
                peak = max(peak, inside)
            pairs.wait(10)  # passes only with a second request inside at the same time
            with lock:
                inside -= 1

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads) and peak == 2


def test_a_thread_with_a_turn_and_a_worker_of_the_inbox_take_none_more(runtime: Runtime) -> None:
    """With the only slot held elsewhere, a request inside an inbox worker's joined block still runs (the
    workers are bounded already), and the holder itself may enter again without waiting for itself."""
    admission = Admission(1)
    held, release, ran = threading.Event(), threading.Event(), []

    def holder() -> None:
        with admission():
            held.set()
            release.wait(10)
            with admission():
                ran.append("holder again")

    def worker() -> None:
        with runtime.inbox.joined(), admission():
            ran.append("worker")

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(10)
    second = threading.Thread(target=worker)
    second.start()
    second.join(10)
    release.set()
    first.join(10)
    assert ran == ["worker", "holder again"]


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_command_is_answered_in_its_ack_only_when_no_other_ack_is_near() -> None:
    """One person typing ``budget`` is alone: answered in the ack; a second request in flight, or one that began
    less than the quiet time before, makes it a burst, where the acks go first and the answers after."""
    clock = Ticking()
    acks = AcksFirst(max_wait=0.5, quiet=0.02, clock=clock)
    acks.enter()
    assert acks.alone()
    acks.enter()  # a second request while the first is being acked
    assert not acks.alone()
    acks.leave()
    acks.leave()
    clock.now += 0.005
    acks.enter()  # the next request of a burst, 5 ms after the last one began
    assert not acks.alone()
    acks.leave()
    clock.now += 1
    acks.enter()  # a second later: alone again
    assert acks.alone()
    acks.leave()


def test_work_waits_for_the_acks_at_most_until_it_is_max_wait_old() -> None:
    """A stored request waits while acks are in flight, and after a burst until it has been quiet a moment — but
    goes at once when it is ``max_wait`` old, so a long burst delays each answer by that much, never more; a lone
    request's work starts as soon as its ack is out."""
    clock = Ticking()
    acks = AcksFirst(max_wait=0.5, quiet=0.01, clock=clock)
    acks.wait(since=clock.now)  # no ack ever: at once
    acks.enter()
    acks.wait(since=clock.now - 0.5)  # in flight, but the request is half a second old: at once

    def waiting() -> threading.Event:
        done = threading.Event()
        threading.Thread(target=lambda: (acks.wait(since=clock.now), done.set()), daemon=True).start()
        return done

    lone = waiting()
    assert not lone.wait(0.05)  # its ack is in flight: the work waits
    acks.leave()
    assert lone.wait(5)  # the lone ack is out: the work goes, the clock unmoved
    acks.enter()
    acks.enter()  # a burst: a second ack while the first is in flight
    acks.leave()
    acks.leave()
    after_burst = waiting()
    assert not after_burst.wait(0.05)  # no ack in flight, but the burst may go on: the work waits
    clock.now += 0.01  # quiet for a moment
    assert after_burst.wait(5)
