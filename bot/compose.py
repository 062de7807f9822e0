"""The composition root: settings → engine → services → bot → courier → platforms, built once.

Nothing is built at import time and nothing is wired by side effect: :func:`compose` makes
every object of a running incubot in one place, in this order, and hands back an
:class:`Incubot`. ``incubot serve`` mounts its routes and starts its listeners; ``incubot
clock`` only uses its platforms' senders (no HTTP route is built); the CLI and the tests
compose the platforms they need (``plugs=``).

Adding a platform: its folder under ``bot/platforms/`` exporting ``PLUG`` (a
:class:`bot.port.Plug`), and one line in :data:`PLATFORMS`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.engine import Engine
from starlette.routing import BaseRoute

from bot.background import BackgroundDelivery
from bot.config import Settings
from bot.delivery import Courier, default_documents
from bot.inbox import AcksFirst, Admission, InboxWorkers, JoinableSessions
from bot.platforms import matrix, mattermost, slack
from bot.port import Platform, Plug
from bot.runtime import Runtime
from handlers.core import Bot
from handlers.i18n import Translator
from handlers.registry import register_all
from handlers.services import Services, system_clock
from storage.db import make_engine, session_factory, upgrade

# Every platform incubot knows, in the order their routes are mounted. A platform is on when
# its settings are (``Plug.enabled``).
PLATFORMS: tuple[Plug, ...] = (
    slack.PLUG,
    mattermost.PLUG,
    matrix.PLUG,
)

WORK_THREADS = 2  # the inbox workers: the work after the acks runs on a few threads, never in an ack
WORK_SLOTS = 2 * (os.cpu_count() or 1)  # requests in a unit of work at once (bot.inbox.Admission)
WORK_NICENESS = 10  # the work after the acks and the background deliveries yield the CPU to the acks

# "inline": each request sends what it put in the outbox once its unit of work has committed;
# "background": background threads send it (the request only kicks them); "manual": nothing is
# sent until someone calls ``courier.flush()`` (tests, tools).
Delivery = Literal["inline", "background", "manual"]


@dataclass(frozen=True)
class Incubot:
    """One composed incubot: its runtime and the platforms built on it."""

    runtime: Runtime
    platforms: tuple[Platform, ...]

    def platform(self, name: str) -> Platform:
        """The platform called ``name`` (KeyError if it is not composed)."""
        for platform in self.platforms:
            if platform.name == name:
                return platform
        raise KeyError(name)

    def routes(self) -> list[BaseRoute]:
        """The HTTP routes of every platform (``incubot serve`` mounts them next to /healthz and /stats)."""
        return [route for platform in self.platforms for route in platform.routes()]

    def start(self) -> None:
        """Resume what a previous run acknowledged and did not finish, then start the platforms' listeners."""
        if self.runtime.inbox.processors:  # no platform stores requests: nothing to resume
            self.runtime.inbox.start()
        for platform in self.platforms:
            platform.start()

    def stop(self, timeout: float) -> bool:
        """Stop listening, let what was acknowledged finish, within ``timeout`` s; True if all was drained.

        What is left (an inbox row, an outbox message) stays in the database for the next start.
        """
        stop_by = time.monotonic() + timeout

        def left() -> float:
            return max(0.0, stop_by - time.monotonic())

        drained = all([platform.stop(left()) for platform in self.platforms])
        if self.runtime.inbox.processors:
            drained = self.runtime.inbox.drain(left()) and drained
        if self.runtime.background is not None:  # the courier's current pass; the outbox keeps the rest
            try:
                self.runtime.background.executor.join(left())
            except TimeoutError:
                drained = False
        return drained


def _pool(url: str) -> dict[str, int]:
    """PostgreSQL: enough pooled connections for a burst of acks (each stores one inbox row) next to the
    workers and the courier — past the pool, SQLAlchemy opens and closes a connection per request,
    a backend started each time, which is what made 200 simultaneous clicks wait seconds for their ack."""
    return {"pool_size": 20, "max_overflow": 20} if url.startswith("postgresql") else {}


def compose(settings: Settings, *, clock: Callable[[], datetime] = system_clock, migrate: bool = True,
            engine: Engine | None = None, plugs: Sequence[Plug] | None = None,
            delivery: Delivery | None = None, documents_apart: bool = False) -> Incubot:
    """Build a whole incubot from ``settings``, once, in order.

    ``plugs``: the platforms to build (default: those of :data:`PLATFORMS` that ``settings``
    enable; ``()`` for none, as the CLI's reports and imports want). ``delivery``: how the
    outbox goes out (default: in the background if a platform acks before it answers, else
    inline). ``documents_apart``: the files messages carry (PDF) are rendered in a child process —
    what a long-running ``serve`` wants, so the PDF library never stays in its memory.
    """
    engine = engine or make_engine(settings.database_url, **_pool(settings.database_url))
    if migrate:
        upgrade(engine)
    chosen = [plug for plug in PLATFORMS if plug.enabled(settings)] if plugs is None else list(plugs)
    if delivery is None:
        delivery = "background" if any(plug.deliver_in_background for plug in chosen) else "inline"

    sessions = JoinableSessions(session_factory(engine))
    courier = Courier(sessions, [], clock, documents=default_documents(
        Translator(settings.language, settings.tz, settings.typography), apart=documents_apart))
    background = None
    deliver: Callable[[], None]
    if delivery == "background":
        background = BackgroundDelivery(courier.flush_platform, courier.platforms, niceness=WORK_NICENESS)
        deliver = background.kick
    elif delivery == "inline":
        def deliver() -> None:
            courier.flush()
    else:
        def deliver() -> None:
            pass
    services = Services(sessions=sessions, tz=settings.tz, language=settings.language,
                        typography=settings.typography, clock=clock, deliver=deliver, admit=Admission(WORK_SLOTS))
    acks = AcksFirst()
    inbox = InboxWorkers(engine, services, threads=WORK_THREADS, niceness=WORK_NICENESS, before_each=acks.wait)
    runtime = Runtime(settings, engine, services, courier, Bot(services, register_all()), inbox, acks,
                      background)

    platforms = tuple(plug.build(runtime) for plug in chosen)
    for platform in platforms:
        courier.add(platform.sender)
    return Incubot(runtime, platforms)

