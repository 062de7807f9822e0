"""The courier: sends what the outbox holds, through every configured platform.

Handlers and the scheduler only *enqueue* (``handlers.notify``); the courier
resolves neutral targets to platform addresses and calls each platform's
:class:`Sender`. It is written once for all platforms: a platform only provides
a ``Sender`` (post a direct message, post in a channel, update a message).

Targets: ``person:<id>`` (direct message on every platform where the person has
an id), ``managers`` (the convention's managers channel, or each manager
directly), ``startup:<id>`` (the startup's channel), ``subject:<ref>`` (update in
place every message posted about a reference, on each platform the copies it
posted there; an update waits for an earlier message about the same reference
still to go on that platform).

Delivery is per platform: each platform has its own row per message
(``outbox_delivery``), its own pass (:meth:`Courier.flush_platform`, one thread per
platform in :class:`bot.background.BackgroundDelivery`), its own retries and
backoff. So with Slack answering 500, a Mattermost direct message still leaves at
once. A platform where nobody can be reached *skips* the message; skipped
everywhere, it is ``undeliverable`` (logged, listed by ``incubot outbox``), never
"sent". A message that exhausts its retries on a platform is ``failed``: one ERROR
line (kind, target, platform, last error) and one alert to the managers per
platform and per hour, counting the failures, sent through the *other* platforms.
A sender with ``carries = False`` (the stdout preview) delivers nothing: with no
other platform, messages stay pending until one is configured.

Files: a message's payload names its files; the courier hands the sender a :class:`Reply` whose
``files`` hold the bytes — kept in ``outbox_file`` when the message was enqueued, or a document
(``handlers.attachments``) made on the first platform that sends it and kept for the others and
for the retries. A platform that fails to upload a file fails the message there, which is retried
like any other; the other platforms are not held.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlmodel import Session

from handlers.i18n import Translator
from handlers.types import Attachment, Reply
from storage import outbox, reference
from storage.db import SessionFactory, unit_of_work
from storage.models import OutboxMessage, OutboxStatus, Person, Startup

log = logging.getLogger("incubot.delivery")


@dataclass(frozen=True)
class Posted:
    channel: str
    message_id: str


class Sender(Protocol):
    """What one platform must provide to deliver messages."""

    platform: str

    def person_address(self, session: Session, person: Person) -> str | None:
        """The platform's user id of ``person``, or None if they are not on it."""

    def channel_address(self, session: Session, startup: Startup | None) -> str | None:
        """The managers' channel (startup None) or the startup's channel on this platform."""

    # ``key``: the same for every try of one message to one address (the outbox's), so a platform that
    # can make a repeated send a no-op does (Matrix: the events' transaction ids); others ignore it.
    def post_direct(self, user: str, reply: Reply, *, key: str | None = None) -> Posted: ...

    def post_channel(self, channel: str, reply: Reply, *, key: str | None = None) -> Posted: ...

    def update(self, channel: str, message_id: str, reply: Reply, *, key: str | None = None) -> None: ...


class PlatformAddresses:
    """``person_address`` and ``channel_address`` for a sender of a chat platform, read from storage:
    the person's ``platform_account`` and the startup's (or the managers') ``channel`` on ``platform``."""

    platform: str

    def person_address(self, session: Session, person: Person) -> str | None:
        return reference.person_address(session=session, platform=self.platform, person_id=person.id)

    def channel_address(self, session: Session, startup: Startup | None) -> str | None:
        return reference.channel_address(session=session, platform=self.platform,
                                         startup_id=startup.id if startup is not None else None)


# What makes a document for a message: (session, kind, key) → a function rendering its bytes once
# the session is closed (handlers.attachments.make with the configured translator).
Documents = Callable[[Session, str, str], Callable[[], bytes]]


def _send_key(message: OutboxMessage, address: str) -> str:
    """The same for every try of ``message`` to ``address``: its unique (kind, target, occurrence) — not its
    id, which a database restored from a backup gives again."""
    return f"{message.kind}|{message.target}|{message.occurrence}|{address}"


def default_documents(t: Translator | None = None, *, apart: bool = False) -> Documents:
    """:func:`handlers.attachments.make` speaking ``t`` (French by default); ``apart``: rendered in a
    child process (``incubot serve``: the PDF library never stays in its memory)."""
    from handlers import attachments

    translator = t or Translator()
    return lambda session, kind, key: attachments.make(session, kind, key, t=translator, apart=apart)


class NoAddress(Exception):
    """Nobody could be reached for this target on any configured platform (:meth:`Courier.send`)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


DELIVERY_FAILED = "alert.delivery_failed"
FAILURES_PER_PASS = 3  # failures in a row that end a platform's pass: a down platform costs 3 calls a pass
ALERT_DELAY = timedelta(minutes=5)  # the alert about a platform waits this long, counting what else gives up


class Courier:
    """Sends the outbox through each configured platform, each platform on its own.

    :meth:`flush_platform` is one platform's pass: give the due messages their row on that
    platform, claim each, send, record the outcome. :meth:`flush` runs every platform's pass
    side by side (a thread each when there are several), so a platform that is slow or down
    never delays another. A failed send waits :func:`storage.outbox.backoff` on its platform;
    ``FAILURES_PER_PASS`` failures in a row end the platform's pass (it is probably down: the
    next pass tries again), so one bad message does not hold the others back;
    after ``max_attempts`` it is failed, logged at ERROR, and the managers get one alert per
    platform and per hour, through the other platforms.
    """

    def __init__(self, sessions: SessionFactory, senders: Sequence[Sender],
                 clock: Callable[[], datetime], worker: str | None = None,
                 *, max_attempts: int = outbox.MAX_ATTEMPTS, documents: Documents | None = None) -> None:
        self.sessions = sessions
        self.senders = list(senders)
        self.clock = clock
        self.worker = worker or worker_name()
        self.max_attempts = max_attempts
        self.documents = documents or default_documents()

    def add(self, sender: Sender) -> None:
        self.senders.append(sender)

    def carriers(self) -> list[Sender]:
        """The senders that deliver (a preview sender, ``carries = False``, only shows); one per platform."""
        found: dict[str, Sender] = {}
        for sender in self.senders:
            if getattr(sender, "carries", True):
                found.setdefault(sender.platform, sender)
        return list(found.values())

    def platforms(self) -> list[str]:
        return [s.platform for s in self.carriers()]

    def flush(self, *, now: datetime | None = None, limit: int = 200) -> int:
        """One pass on every platform, side by side; returns how many deliveries were sent."""
        now = now or self.clock()
        carriers = self.carriers()
        if len(carriers) <= 1:
            return sum(self.flush_platform(s.platform, now=now, limit=limit) for s in carriers)
        counts: dict[str, int] = {}

        def one(platform: str) -> None:
            try:
                counts[platform] = self.flush_platform(platform, now=now, limit=limit)
            except Exception:  # noqa: BLE001 - the outbox keeps the messages; the next pass retries
                log.exception("delivery on %s failed; the outbox will retry", platform)

        threads = [threading.Thread(target=one, args=(s.platform,), name=f"incubot-flush-{s.platform}")
                   for s in carriers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(counts.values())

    def flush_platform(self, platform: str, *, now: datetime | None = None, limit: int = 200) -> int:
        """Send what is due on ``platform``; returns how many deliveries were sent."""
        now = now or self.clock()
        sender = next((s for s in self.carriers() if s.platform == platform), None)
        if sender is None:
            return 0
        platforms = self.platforms()
        with unit_of_work(self.sessions) as session:
            outbox.fan_out(session=session, platform=platform, now=now, limit=limit)
            ids = outbox.due_on(session=session, platform=platform, now=now, limit=limit)
        sent = failures = 0
        for message_id in ids:
            with unit_of_work(self.sessions) as session:
                message = self._claim(session, message_id, platform, now)
            if message is None:
                continue  # another worker has it, or it waits for an earlier message about its subject
            try:
                posted = self.send_on(sender, message, now=now)
            except Exception as exc:  # noqa: BLE001 - the message stays in the outbox for a retry
                self._failed(message, platform, platforms, now, " ".join(f"{type(exc).__name__}: {exc}".split()))
                failures += 1
                if failures >= FAILURES_PER_PASS:
                    break  # the platform is probably down: the rest of its pass waits for the next one
                continue
            failures = 0
            with unit_of_work(self.sessions) as session:
                subject = _payload(message).get("subject")
                if subject and posted:
                    for where, person_id in posted:
                        outbox.record_posted(session=session, subject=subject, platform=platform,
                                             channel=where.channel, message_id=where.message_id,
                                             person_id=person_id, now=now)
                status = OutboxStatus.SENT.value if posted is not None else OutboxStatus.SKIPPED.value
                outcome = outbox.finish(session=session, message_id=message_id, platform=platform, now=now,
                                        worker=self.worker, status=status, platforms=platforms)
            if outcome is not None and outcome.delivery == OutboxStatus.SENT.value:
                sent += 1
            if outcome is not None and outcome.message == OutboxStatus.UNDELIVERABLE.value:
                log.warning("outbox %s (%s → %s): nobody to reach on %s; marked undeliverable "
                            "(see `incubot outbox`)", message.id, message.kind, message.target, ", ".join(platforms))
        return sent

    def _claim(self, session: Session, message_id: int, platform: str, now: datetime) -> OutboxMessage | None:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            return None
        kind, _, subject = message.target.partition(":")
        if kind == "subject" and outbox.earlier_about_subject_waiting(
                session=session, message_id=message_id, platform=platform, subject=subject):
            return None
        return outbox.claim(session=session, message_id=message_id, platform=platform, now=now, worker=self.worker)

    def _failed(self, message: OutboxMessage, platform: str, platforms: Sequence[str], now: datetime,
                error: str) -> None:
        assert message.id is not None
        with unit_of_work(self.sessions) as session:
            outcome = outbox.finish(session=session, message_id=message.id, platform=platform, now=now,
                                    worker=self.worker, status=OutboxStatus.FAILED.value,
                                    platforms=platforms, error=error, max_attempts=self.max_attempts)
            if outcome is None or outcome.delivery != OutboxStatus.FAILED.value:
                log.warning("outbox %s (%s → %s) on %s failed (try %d), will retry: %s", message.id, message.kind,
                            message.target, platform, outcome.attempts if outcome else 0, error)
                return
            log.error("outbox %s gave up after %d tries: kind=%s target=%s platform=%s last error: %s",
                      message.id, outcome.attempts, message.kind, message.target, platform, error)
            if message.kind == DELIVERY_FAILED:
                return  # never an alert about an alert
            hour = now.astimezone(UTC).strftime("%Y-%m-%dT%H")
            text = (f"⚠️ **Messages non remis sur {platform}** : {{count}} message(s) abandonné(s) après "
                    f"{outcome.attempts} essais depuis {now.astimezone(UTC):%H:%M} UTC "
                    f"(le premier : {message.kind} → {message.target} : {error[:200]}).\n"
                    "La liste : « incubot outbox » ; pour les renvoyer : « incubot outbox retry --all-failed ».")
            outbox.enqueue_grouped(session=session, messages=[outbox.NewMessage(
                DELIVERY_FAILED, "managers", f"{platform}@{hour}",
                {"reply": Reply(text).to_dict(), "subject": None, "avoid": [platform], "counted": True},
                now + ALERT_DELAY)])

    # ------------------------------------------------------------------ one message on one platform

    def send(self, message: OutboxMessage, *, now: datetime) -> None:
        """Send ``message`` on every platform now, outside the outbox's bookkeeping (tests, tools)."""
        if not any(self.send_on(sender, message, now=now) for sender in self.carriers()):
            raise NoAddress(f"nobody reachable for {message.target}")

    def send_on(self, sender: Sender, message: OutboxMessage, *,
                now: datetime) -> list[tuple[Posted, str | None]] | None:
        """Post or update ``message`` on ``sender``'s platform: where it was posted (and to whom), or
        None when there is nobody to reach (or nothing to update) there."""
        payload = _payload(message)
        if sender.platform in payload.get("avoid", ()):
            return None
        reply = Reply.from_dict({**payload["reply"], "files": ()})  # their bytes: below, if it is posted
        if payload.get("counted"):
            count = message.repeats + 1
            if count < int(payload.get("at_least", 1)):
                return []  # a summary with nothing to add: done, nothing posted
            reply = replace(reply, text=reply.text.replace("{count}", str(count)))
        kind, _, key = message.target.partition(":")
        if kind == "subject":
            return self._update(sender, message, key, reply)
        with unit_of_work(self.sessions) as session:
            addresses: list[tuple[str, str]] = []  # (user id, person id)
            channel: str | None = None
            if kind == "person":
                person = reference.get_person(session=session, person_id=key)
                recipients = [person] if person else []
            elif kind == "startup":
                startup = reference.get_startup(session=session, startup_id=key)
                channel = sender.channel_address(session, startup) if startup else None
                recipients = []
            elif kind == "managers":
                channel = sender.channel_address(session, None)
                recipients = [] if channel else list(reference.managers(session=session))
            else:
                log.warning("outbox %s: unknown target %r", message.id, message.target)
                return None
            for person in recipients:
                address = sender.person_address(session, person)
                if address:
                    addresses.append((address, person.id))
        if (channel or addresses) and payload["reply"].get("files"):
            reply = replace(reply, files=self._files(message, payload["reply"]["files"], now))
        if channel:
            return [(sender.post_channel(channel, reply, key=_send_key(message, channel)), None)]
        posted: list[tuple[Posted, str | None]] = [
            (sender.post_direct(address, reply, key=_send_key(message, address)), person_id)
            for address, person_id in addresses]
        return posted or None

    def _files(self, message: OutboxMessage, entries: Sequence[dict[str, Any]],
               now: datetime) -> tuple[Attachment, ...]:
        """The files of ``message`` with their bytes: kept when it was enqueued, or its documents made
        now (read in one short transaction, rendered outside it) and kept for the next platform or try."""
        files = []
        for n, entry in enumerate(entries):
            key = outbox.file_key(message.id, n, entry)
            render = None
            with unit_of_work(self.sessions) as session:
                data = outbox.file_data(session=session, key=key)
                if data is None and entry.get("document"):
                    kind, ref = entry["document"]
                    render = self.documents(session, str(kind), str(ref))
            if render is not None:
                made = render()
                with unit_of_work(self.sessions) as session:
                    data = outbox.keep_file(session=session, key=key, data=made, now=now)
            if data is None:
                raise LookupError(f"outbox {message.id}: the bytes of {entry.get('filename')!r} are missing")
            files.append(Attachment(str(entry["filename"]), str(entry["mime"]), data))
        return tuple(files)

    def _update(self, sender: Sender, message: OutboxMessage, subject: str,
                reply: Reply) -> list[tuple[Posted, str | None]] | None:
        with unit_of_work(self.sessions) as session:
            copies = [c for c in outbox.posted_for(session=session, subject=subject) if c.platform == sender.platform]
        for copy in copies:
            sender.update(copy.channel, copy.message_id, reply, key=_send_key(message, copy.message_id))
        return [] if copies else None


def _payload(message: OutboxMessage) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(message.payload)
    return payload
