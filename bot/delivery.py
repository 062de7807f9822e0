"""The courier: sends what the outbox holds, through every configured platform.

Handlers and the scheduler only *enqueue* (``handlers.notify``); the courier
resolves neutral targets to platform addresses and calls each platform's
:class:`Sender`. It is written once for all platforms: a platform only provides
a ``Sender`` (post a direct message, post in a channel, update a message).

Targets: ``person:<id>`` (direct message on every platform where the person has
an id), ``managers`` (the convention's managers channel, or each manager
directly), ``startup:<id>`` (the startup's channel), ``subject:<ref>`` (update in
place every message posted about a reference).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from handlers.types import Reply
from storage import outbox, reference
from storage.db import SessionFactory, unit_of_work
from storage.models import Convention, OutboxMessage, Person, Startup

log = logging.getLogger("incubot.delivery")


@dataclass(frozen=True)
class Posted:
    channel: str
    message_id: str


class Sender(Protocol):
    """What one platform must provide to deliver messages."""

    platform: str

    def person_address(self, person: Person) -> str | None:
        """The platform's user id of ``person``, or None if they are not on it."""

    def channel_address(self, convention: Convention | None, startup: Startup | None) -> str | None:
        """The managers' channel (startup None) or the startup's channel on this platform."""

    def post_direct(self, user: str, reply: Reply) -> Posted: ...

    def post_channel(self, channel: str, reply: Reply) -> Posted: ...

    def update(self, channel: str, message_id: str, reply: Reply) -> None: ...


class PlatformAddresses:
    """``person_address`` and ``channel_address`` for a sender whose ``platform`` names the columns.

    People, startups and the convention keep one id per platform (``slack_id``,
    ``channel_mattermost``, ``managers_channel_slack``…): a sender reads its own.
    """

    platform: str

    def person_address(self, person: Person) -> str | None:
        return getattr(person, f"{self.platform}_id", None) or None

    def channel_address(self, convention: Convention | None, startup: Startup | None) -> str | None:
        if startup is not None:
            return getattr(startup, f"channel_{self.platform}", None) or None
        if convention is None:
            return None
        return getattr(convention, f"managers_channel_{self.platform}", None) or None


class NoAddress(Exception):
    """Nobody could be reached for this target on any configured platform."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Courier:
    def __init__(self, sessions: SessionFactory, senders: Sequence[Sender],
                 clock: Callable[[], datetime], worker: str | None = None) -> None:
        self.sessions = sessions
        self.senders = list(senders)
        self.clock = clock
        self.worker = worker or worker_name()

    def add(self, sender: Sender) -> None:
        self.senders.append(sender)

    def flush(self, *, now: datetime | None = None, limit: int = 200) -> int:
        """Send every due message; returns how many were sent."""
        now = now or self.clock()
        with unit_of_work(self.sessions) as session:
            ids = outbox.due_ids(session=session, now=now, limit=limit)
        sent = 0
        for message_id in ids:
            with unit_of_work(self.sessions) as session:
                message = outbox.claim(session=session, message_id=message_id, now=now, worker=self.worker)
            if message is None:
                continue  # another worker has it
            try:
                self.send(message, now=now)
            except NoAddress as exc:
                log.warning("outbox %s (%s → %s): %s", message.id, message.kind, message.target, exc)
                with unit_of_work(self.sessions) as session:
                    outbox.mark_sent(session=session, message_id=message_id, now=now, worker=self.worker)
                continue
            except Exception as exc:  # noqa: BLE001 - the message stays in the outbox for a retry
                log.exception("outbox %s (%s → %s) failed; will retry", message.id, message.kind, message.target)
                with unit_of_work(self.sessions) as session:
                    outbox.mark_failed(session=session, message_id=message_id, now=now, worker=self.worker,
                                       error=f"{type(exc).__name__}: {exc}")
                continue
            with unit_of_work(self.sessions) as session:
                outbox.mark_sent(session=session, message_id=message_id, now=now, worker=self.worker)
            sent += 1
        return sent

    # ------------------------------------------------------------------ one message

    def send(self, message: OutboxMessage, *, now: datetime) -> None:
        payload = json.loads(message.payload)
        reply = Reply.from_dict(payload["reply"])
        subject: str | None = payload.get("subject")
        kind, _, key = message.target.partition(":")
        if kind == "subject":
            self._update(key, reply)
            return
        posted: list[tuple[Sender, Posted, str | None]] = []
        with unit_of_work(self.sessions) as session:
            convention = reference.current_convention(session=session)
            if kind == "person":
                person = reference.get_person(session=session, person_id=key)
                recipients = [person] if person else []
                channel_of: Callable[[Sender], str | None] = lambda s: None  # noqa: E731
            elif kind == "startup":
                startup = reference.get_startup(session=session, startup_id=key)
                recipients = []
                channel_of = lambda s: s.channel_address(convention, startup)  # noqa: E731
            elif kind == "managers":
                recipients = list(reference.managers(session=session))
                channel_of = lambda s: s.channel_address(convention, None)  # noqa: E731
            else:
                raise NoAddress(f"unknown target {message.target!r}")
        for sender in self.senders:
            channel = channel_of(sender)
            if channel:
                posted.append((sender, sender.post_channel(channel, reply), None))
                continue
            for person in recipients:
                address = sender.person_address(person)
                if address:
                    posted.append((sender, sender.post_direct(address, reply), person.id))
        if not posted:
            raise NoAddress(f"nobody reachable for {message.target}")
        if subject:
            with unit_of_work(self.sessions) as session:
                for sender, where, person_id in posted:
                    outbox.record_posted(session=session, subject=subject, platform=sender.platform,
                                         channel=where.channel, message_id=where.message_id,
                                         person_id=person_id, now=now)

    def _update(self, subject: str, reply: Reply) -> None:
        with unit_of_work(self.sessions) as session:
            copies = list(outbox.posted_for(session=session, subject=subject))
        by_platform = {s.platform: s for s in self.senders}
        for copy in copies:
            sender = by_platform.get(copy.platform)
            if sender is not None:
                sender.update(copy.channel, copy.message_id, reply)
