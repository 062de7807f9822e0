"""The scheduler: one sweep job every minute (APScheduler 3.11, explicit time zone).

APScheduler only *ticks*. What must be sent lives in our ``outbox`` table: the
sweep plans what is due (``handlers.reminders``), enqueues it under the unique
key (kind, target, occurrence), then the courier claims each row with a
conditional UPDATE, sends it and marks it sent. So two processes sweeping at once
(``incubot serve`` on two machines, or ``serve`` plus ``clock``) still send each
reminder once, a missed tick loses nothing, and a restart catches up.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session

from bot.delivery import Posted
from bot.platforms.console import render_reply
from bot.runtime import Runtime
from handlers import reminders
from handlers.i18n import Translator
from handlers.types import Reply
from storage import outbox
from storage.db import unit_of_work
from storage.models import Person, Startup

log = logging.getLogger("incubot.scheduler")

JOB_ID = "incubot-sweep"
SWEEP_SECONDS = 60
# A tick later than this is skipped: the next one, a minute later, does the same work
# (what is due is in the database, not in the job). Well above APScheduler's 1 s default.
MISFIRE_GRACE_SECONDS = 300
FILES_KEPT = timedelta(days=7)  # the bytes of a sent message's files (a report's PDF), then forgotten


@dataclass(frozen=True)
class SweepResult:
    enqueued: list[reminders.Reminder]
    sent: int


def sweep(runtime: Runtime, now: datetime | None = None) -> SweepResult:
    """Plan what is due, enqueue it (once, whoever else sweeps), send what the outbox holds."""
    now = now or runtime.services.clock()
    with unit_of_work(runtime.services.sessions) as session:
        enqueued = reminders.enqueue_due(session=session, t=runtime.services.t, now=now,
                                          at=runtime.settings.reminder_time)
        forgotten = outbox.forget_files(session=session, before=now - FILES_KEPT)
    if forgotten:
        log.info("outbox: the bytes of %d sent files forgotten", forgotten)
    sent = runtime.courier.flush(now=now)
    if enqueued or sent:
        log.info("sweep at %s: %d reminder(s) enqueued, %d message(s) sent", now.isoformat(), len(enqueued), sent)
    return SweepResult(enqueued, sent)


def sweep_job(runtime: Runtime) -> None:
    """The job APScheduler runs (module level, as it must be); never lets an error kill the scheduler."""
    try:
        sweep(runtime)
    except Exception:  # noqa: BLE001 - logged; the next tick retries from the database
        log.exception("reminder sweep failed; the next one will retry")


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=ZoneInfo(runtime.settings.timezone))
    scheduler.add_job(
        sweep_job,
        "interval",
        seconds=SWEEP_SECONDS,
        args=(runtime,),
        id=JOB_ID,
        replace_existing=True,
        coalesce=True,  # after a pause, one sweep, not one per missed minute
        max_instances=1,  # a slow sweep is never overlapped by the next tick
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        next_run_time=datetime.now(ZoneInfo(runtime.settings.timezone)),  # catch up at start
    )
    return scheduler


def start_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """Start the sweep in a background thread; the caller shuts it down (``scheduler.shutdown()``)."""
    if not runtime.courier.carriers():
        log.warning("no chat platform configured: reminders and messages stay in the outbox until one is "
                    "(`incubot outbox` lists them)")
    scheduler = build_scheduler(runtime)
    scheduler.start()
    log.info("scheduler started: sweep every %d s (time zone %s)", SWEEP_SECONDS, runtime.settings.timezone)
    return scheduler


def run_clock(runtime: Runtime, stop: threading.Event | None = None) -> int:
    """``incubot clock``: only the scheduler, in its own process, until SIGINT/SIGTERM."""
    stop = stop or threading.Event()
    scheduler = start_scheduler(runtime)

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
    return 0


class StdoutSender:
    """What would go out, printed for the operator when no chat platform is configured.

    A preview, not a platform: ``carries = False``, so the courier never counts a message
    as delivered through it; it stays pending until Slack or Mattermost is set up.
    """

    platform = "stdout"
    carries = False

    def __init__(self, out: TextIO | None = None, t: Translator | None = None) -> None:
        self.out = out
        self.t = t or Translator()
        self._count = 0
        self._lock = threading.Lock()

    def person_address(self, session: Session, person: Person) -> str | None:
        return person.name

    def channel_address(self, session: Session, startup: Startup | None) -> str | None:
        return self.t("gestionnaires") if startup is None else startup.name

    def post_direct(self, user: str, reply: Reply, *, key: str | None = None) -> Posted:
        return self._print(self.t("→ message direct pour {user}", user=user), reply)

    def post_channel(self, channel: str, reply: Reply, *, key: str | None = None) -> Posted:
        return self._print(self.t("→ canal {channel}", channel=channel), reply)

    def update(self, channel: str, message_id: str, reply: Reply, *, key: str | None = None) -> None:
        self._print(self.t("→ mise à jour du message {id} ({channel})", id=message_id, channel=channel), reply)

    def _print(self, header: str, reply: Reply) -> Posted:
        with self._lock:
            self._count += 1
            out = self.out or sys.stdout
            print(f"{header}\n{render_reply(reply, t=self.t)}\n", file=out, flush=True)
            return Posted(header, str(self._count))
