"""Factories: the database, the services handed to handlers, the courier, the bot.

Nothing is built at import time; ``bot.cli`` reads the settings once and calls these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.background import BackgroundDelivery
from bot.config import Settings
from bot.delivery import Courier, Sender
from bot.inbox import InboxWorkers
from handlers.core import Bot
from handlers.services import Services, system_clock
from storage.db import make_engine, session_factory, upgrade


@dataclass
class Runtime:
    """Everything a running incubot holds: settings, engine, services, courier, bot."""

    settings: Settings
    engine: Engine
    services: Services
    courier: Courier
    bot: Bot

    background: BackgroundDelivery | None = None
    inbox: InboxWorkers | None = None

    def inbox_workers(self, *, threads: int = 2, niceness: int = 0,
                      before_each: Callable[[], None] = lambda: None) -> InboxWorkers:
        """The workers of the inbox (requests acked before their work is done); the first call builds them.

        ``incubot serve`` resumes them at start and drains them on SIGTERM (``bot/server.py``).
        """
        if self.inbox is None:
            self.inbox = InboxWorkers(self, threads=threads, niceness=niceness, before_each=before_each)
        return self.inbox

    def add_sender(self, sender: Sender) -> None:
        self.courier.add(sender)

    def deliver_in_background(self, *, niceness: int = 0) -> BackgroundDelivery:
        """From now on, what a request puts in the outbox is sent by background threads (one pass per platform).

        A platform whose requests must answer fast (Slack's 3-second ack) calls this; it
        applies to the whole process, so no request of any platform waits for a Web API.
        Idempotent: the first call decides.
        """
        if self.background is None:
            self.background = BackgroundDelivery(self.courier.flush_platform, self.courier.platforms,
                                                 niceness=niceness)
            self.services.deliver = self.background.kick
        return self.background


def _pool(url: str) -> dict[str, int]:
    """PostgreSQL: enough pooled connections for a burst of acks (each stores one inbox row) next to the
    workers and the courier — past the pool, SQLAlchemy opens and closes a connection per request,
    a backend started each time, which is what made 200 simultaneous clicks wait seconds for their ack."""
    return {"pool_size": 20, "max_overflow": 20} if url.startswith("postgresql") else {}


def build_runtime(settings: Settings, *, clock: Callable[[], datetime] = system_clock,
                  migrate: bool = True, engine: Engine | None = None) -> Runtime:
    engine = engine or make_engine(settings.database_url, **_pool(settings.database_url))
    if migrate:
        upgrade(engine)
    sessions = session_factory(engine)
    services = Services(sessions=sessions, tz=settings.tz, language=settings.language, clock=clock)
    courier = Courier(sessions, [], clock)

    def deliver_now() -> None:
        courier.flush()

    services.deliver = deliver_now
    return Runtime(settings, engine, services, courier, Bot(services))
