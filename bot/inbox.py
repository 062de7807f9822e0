"""The inbox's workers: what a platform saw acknowledged is processed after the ack, once.

An adapter stores a request (``storage.inbox``, one short transaction), acks it, and
:meth:`InboxWorkers.kick` hands its id to a small bounded pool. A worker claims the row,
runs the work through ``runtime.bot`` *in a joined transaction* — the handler's own unit of
work and the row's "work done, here is the answer" (``mark_answering``) commit together —
then sends the answer (Web API calls, kept in the row) and marks the row done. So after a
crash the work is never done twice (a committed row is only re-answered) and never lost:
at start and every ``RESUME_EVERY`` the pending rows, the stale claims and the claims of
dead processes of this host are resumed. A failure is logged with its traceback; after
``storage.inbox.MAX_ATTEMPTS`` the row is failed, logged at ERROR.

:meth:`InboxWorkers.drain` is the graceful stop: no new work, what runs finishes within a
bound, what is left stays pending for the next start.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.background import TrackedExecutor
from handlers.services import Services
from storage import inbox, outbox
from storage.db import SessionFactory, unit_of_work
from storage.models import InboxStatus

log = logging.getLogger("incubot.inbox")

RESUME_EVERY = 30.0  # seconds between two looks for rows left behind (failed attempts, other processes)
PURGE_AFTER_DAYS = 3  # done rows are kept this long: replays, Slack's event retries, open dialogs find their key

_joined: contextvars.ContextVar[Session | None] = contextvars.ContextVar("incubot_joined_session", default=None)


class _JoinedSession(Session):
    """The session every unit of work of this thread shares while :meth:`InboxWorkers.joined` runs:
    ``unit_of_work``'s commit only flushes, its close does nothing; the block commits once, at its end.

    After :meth:`keep`, a unit of work that rolls back (a refusal, a failure the core turns into a
    reply) undoes only its own changes, back to that point: the claim or the row stored before stays.
    """

    _kept: Any = None

    def commit(self) -> None:
        self.flush()

    def close(self) -> None:
        pass

    def keep(self) -> None:
        """What is done so far survives the rollback of a unit of work that follows."""
        self._kept = self.begin_nested()

    def rollback(self) -> None:
        if self._kept is not None and self._kept.is_active:
            self._kept.rollback()
            self.keep()
        else:
            Session.rollback(self)

    def rollback_all(self) -> None:
        self._kept = None
        Session.rollback(self)

    def finish(self) -> None:
        self._kept = None
        Session.commit(self)

    def dispose(self) -> None:
        Session.close(self)


class JoinableSessions:
    """A session factory that gives, inside :meth:`InboxWorkers.joined`, the joined session of the thread.

    Built once by the composition root around the engine's factory, so every unit of work of a
    request handled by a worker joins the worker's transaction — and works as usual elsewhere.
    """

    def __init__(self, factory: SessionFactory) -> None:
        self.factory = factory

    def __call__(self) -> Session:
        current = _joined.get()
        return current if current is not None else self.factory()


class Admission:
    """At most ``slots`` requests in a unit of work at once, the others waiting their turn (first come,
    first served): what the database and a 2-core machine do best. 200 simultaneous clicks run as a few
    transactions at a time instead of 40 contending for the same counter rows, each lock held across
    GIL hand-overs (bench/validations.py: about 190 → 330 decisions/s on PostgreSQL with 4 slots).

    No turn is taken inside :meth:`InboxWorkers.joined` (the workers are a bounded pool already, and a
    worker may hold row locks of an earlier call of its block that a turn's holder waits for) nor again
    by a thread that has one."""

    def __init__(self, slots: int) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._held = threading.local()

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        if _joined.get() is not None or getattr(self._held, "turn", False):
            yield
            return
        with self._slots:
            self._held.turn = True
            try:
                yield
            finally:
                self._held.turn = False


@dataclass(frozen=True)
class Processor:
    """How one kind of stored request is processed.

    ``decide(payload)`` runs the work through ``runtime.bot`` and returns the answer to send
    (JSON-able); it runs in the joined transaction, so it must not call the Web API.
    ``answer(payload, answer)`` sends it (Web API calls), after the commit.
    """

    decide: Callable[[dict[str, Any]], Any]
    answer: Callable[[dict[str, Any], Any], None]


class _ClaimLost(Exception):
    """Another worker took the row over (our claim went stale): our work is rolled back."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class AcksFirst:
    """Acks have a 3-second deadline, answers a 30-minute one: work waits while a platform waits for an ack.

    An HTTP endpoint counts the requests being acked (:meth:`enter` / :meth:`leave`); a worker about
    to start a request stored at ``since`` waits until no ack is in flight — and, after a burst (acks
    begun less than ``quiet`` seconds apart), until ``quiet`` has passed without a new one — at most
    until the request is ``max_wait`` old: in a long burst each answer is late by that much, never
    more, and a lone request's work starts as soon as its ack is out. Python threads share one
    interpreter lock: without this a burst of ``budget`` answers being computed slowed down the acks of
    the requests behind them — and "none in flight" alone was seen true between two requests of a
    burst, the next one still in the socket's buffer.
    """

    def __init__(self, max_wait: float = 0.5, quiet: float = 0.02,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_wait = max_wait
        self.quiet = quiet
        self.clock = clock
        self._idle = threading.Condition()
        self._in_flight = 0
        self._last = float("-inf")  # when the last ack began
        self._burst_until = float("-inf")  # work waits for this after a burst; past _last if it was in one

    def enter(self) -> None:
        with self._idle:
            now = self.clock()
            if self._in_flight or now - self._last < self.quiet:
                self._burst_until = now + self.quiet
            self._in_flight += 1
            self._last = now

    def leave(self) -> None:
        with self._idle:
            self._in_flight -= 1
            # In a burst the waiting workers look again on their own (every ``quiet``): woken at every
            # ack, they took the interpreter lock from the acks hundreds of times a second.
            if self._in_flight == 0 and self.clock() >= self._burst_until:
                self._idle.notify_all()

    def wait(self, since: float | None = None) -> None:
        """Until the acks are done (and quiet after a burst), or the request stored at ``since``
        (``clock()``) is ``max_wait`` old."""
        deadline = (self.clock() if since is None else since) + self.max_wait
        with self._idle:
            while (now := self.clock()) < deadline:
                if self._in_flight:
                    pause = min(self.quiet, deadline - now)
                elif now < self._burst_until:
                    pause = min(self._burst_until - now, deadline - now)
                else:
                    return
                self._idle.wait(pause)

    def alone(self) -> bool:
        """Whether the caller's ack is the only one: none other in flight, and none began in the ``quiet``
        seconds before it (in a burst, the next request may still be in the socket's buffer)."""
        with self._idle:
            return self._in_flight <= 1 and self._burst_until <= self._last


class InboxWorkers:
    """A bounded pool processing inbox rows; joinable (tests), drainable (SIGTERM), resumable (start)."""

    def __init__(self, engine: Engine, services: Services, *, threads: int = 2, niceness: int = 0,
                 before_each: Callable[[float], None] = lambda since: None) -> None:
        if not isinstance(services.sessions, JoinableSessions):
            raise ValueError("the inbox workers need JoinableSessions (bot.compose builds them so)")
        self.engine = engine
        self.services = services
        self.sessions: SessionFactory = services.sessions
        self.executor = TrackedExecutor(threads, "incubot-work", niceness=niceness)
        self.processors: dict[str, Processor] = {}
        self.before_each = before_each
        self.host = socket.gethostname()
        self.name = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._queued: dict[int, float] = {}  # row id -> when it was handed over (time.monotonic)
        self._lock = threading.Lock()
        self._closing = threading.Event()  # no new work (draining)
        self._stop = threading.Event()  # what is queued is left for the next start
        self._resumer: threading.Thread | None = None

    # ------------------------------------------------------------------ adapters

    def register(self, kind: str, decide: Callable[[dict[str, Any]], Any],
                 answer: Callable[[dict[str, Any], Any], None]) -> None:
        self.processors[kind] = Processor(decide, answer)

    def store(self, platform: str, key: str, kind: str, payload: dict[str, Any]) -> int | None:
        """Keep a request (one short transaction) and hand it to a worker; None for a replay."""
        with self.engine.begin() as connection:  # the ack waits for this: no ORM session
            item_id = inbox.put(session=connection, platform=platform, key=key, kind=kind, payload=payload,
                                now=self.services.clock())
        if item_id is not None:
            self.kick(item_id)
        return item_id

    @contextlib.contextmanager
    def joined(self) -> Iterator[_JoinedSession]:
        """One transaction shared by every ``runtime.bot`` call of this thread inside the block."""
        session = _JoinedSession(self.engine, expire_on_commit=False)
        token = _joined.set(session)
        try:
            yield session
            session.finish()
        except BaseException:
            session.rollback_all()
            raise
        finally:
            _joined.reset(token)
            session.dispose()

    def kick(self, item_id: int, orphan_of: str | None = None) -> None:
        if self._closing.is_set():
            return  # stays pending: the next start resumes it
        with self._lock:
            if item_id in self._queued:
                return
            self._queued[item_id] = time.monotonic()
        self.executor.submit(self._process, item_id, orphan_of)

    # ------------------------------------------------------------------ life cycle

    def resume(self) -> int:
        """Hand to the workers what was left: pending rows, stale claims, claims of dead processes here."""
        now = self.services.clock()
        with unit_of_work(self.sessions) as session:
            ids = inbox.resumable_ids(session=session, now=now)
            orphans = [(i, by) for i, by in inbox.claims_by(session=session, prefix=self.host + ":")
                       if self._dead(by)]
            purged = inbox.purge_done(session=session, before=now - timedelta(days=PURGE_AFTER_DAYS))
        if purged:
            log.info("inbox: %d processed rows forgotten", purged)
        for item_id in ids:
            self.kick(item_id)
        for item_id, owner in orphans:
            self.kick(item_id, orphan_of=owner)
        if ids or orphans:
            log.info("inbox: %d stored requests resumed", len(ids) + len(orphans))
        return len(ids) + len(orphans)

    def _dead(self, owner: str) -> bool:
        """Whether the worker named ``owner`` (host:pid:token) belonged to a process of this host now gone."""
        _host, _, rest = owner.partition(":")
        pid_text, _, token = rest.partition(":")
        if owner == self.name or not pid_text.isdigit():
            return False
        pid = int(pid_text)
        if pid == os.getpid():  # our pid, another token: an earlier life of this container
            return True
        return not _alive(pid)

    def start(self, every: float = RESUME_EVERY) -> None:
        """Resume now, then every ``every`` seconds, on a daemon thread, until :meth:`drain`."""
        self.resume()
        if self._resumer is not None:
            return

        def loop() -> None:
            while not self._closing.wait(every):
                try:
                    self.resume()
                except Exception:
                    log.exception("inbox: resuming stored requests failed; next try in %.0f s", every)

        self._resumer = threading.Thread(target=loop, name="incubot-inbox-resume", daemon=True)
        self._resumer.start()

    def join(self, timeout: float = 30.0) -> None:
        self.executor.join(timeout)

    def drain(self, timeout: float) -> bool:
        """Stop taking work; let what runs finish within ``timeout`` s. True if nothing is left running."""
        self._closing.set()
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            self.executor.join(max(timeout, 0.0))
            drained = True
        except TimeoutError:
            drained = False
        self._stop.set()  # what is still queued is left pending
        with unit_of_work(self.sessions) as session:
            left = inbox.pending_count(session=session)
        if left:
            log.warning("inbox: %d stored requests left for the next start%s", left,
                        "" if drained else f" (drain stopped after {timeout:.0f} s)")
        else:
            log.info("inbox: drained in %.1f s", max(timeout, 0.0) - max(deadline - time.monotonic(), 0.0))
        return drained

    # ------------------------------------------------------------------ one row

    def _process(self, item_id: int, orphan_of: str | None) -> None:
        with self._lock:
            since = self._queued.pop(item_id, time.monotonic())
        if self._stop.is_set():
            return
        self.before_each(since)
        clock = self.services.clock
        kind, attempts, claimed, earlier = "?", 0, False, False
        try:
            # One transaction: the claim, the work (runtime.bot's units of work, joined) and the mark
            # "done, here is the answer". A crash inside leaves the row pending, as if never taken.
            with self.joined() as joined:
                row = inbox.claim(session=joined, item_id=item_id, now=clock(), worker=self.name, orphan_of=orphan_of)
                if row is None:
                    return
                kind, status, attempts, raw = row.kind, row.status, row.attempts, row.payload
                processor = self.processors.get(kind)
                if attempts > inbox.MAX_ATTEMPTS or processor is None:
                    reason = ("no processor for this kind" if processor is None
                              else "too many attempts (the process stopped during each)")
                    inbox.mark_failed(session=joined, item_id=item_id, worker=self.name, now=clock(), error=reason,
                                      max_attempts=0)
                    log.error("inbox: %s #%d given up after %d attempts: %s", kind, item_id, attempts, reason)
                    return
                payload = json.loads(raw)
                if status == InboxStatus.CLAIMED.value:
                    joined.keep()  # a refusal rolls the handler's work back, not our claim
                    answer = processor.decide(payload)
                    if not inbox.mark_answering(session=joined, item_id=item_id, worker=self.name,
                                                payload={**payload, "answer": answer}):
                        raise _ClaimLost
                else:  # the work was committed by an earlier attempt: only its answer is left
                    answer, earlier = payload.pop("answer", None), True
            claimed = True
            if earlier or outbox.enqueued_in(joined):  # what the work put in the outbox, now committed
                self.services.deliver()
            processor.answer(payload, answer)
            with self.engine.begin() as connection:  # no ORM session for one UPDATE
                inbox.mark_done(session=connection, item_id=item_id, worker=self.name, now=clock())
        except _ClaimLost:
            log.warning("inbox: %s #%d was taken over by another worker; ours is rolled back", kind, item_id)
        except Exception as exc:
            log.exception("inbox: %s #%d failed (attempt %d of %d)", kind, item_id, attempts, inbox.MAX_ATTEMPTS)
            self._failed(item_id, kind, attempts, f"{type(exc).__name__}: {exc}", claimed=claimed,
                         orphan_of=orphan_of)

    def _failed(self, item_id: int, kind: str, attempts: int, error: str, *, claimed: bool,
                orphan_of: str | None) -> None:
        """Count the failed attempt: the claim rolled back with the work is taken again to be counted."""
        now = self.services.clock()
        with unit_of_work(self.sessions) as session:
            if not claimed and inbox.claim(session=session, item_id=item_id, now=now, worker=self.name,
                                           orphan_of=orphan_of) is None:
                return
            status = inbox.mark_failed(session=session, item_id=item_id, worker=self.name, now=now, error=error)
        if status == InboxStatus.FAILED.value:
            log.error("inbox: %s #%d given up after %d attempts: %s", kind, item_id, attempts, error)
