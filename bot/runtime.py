"""What every platform is given: the settings, the database, the services, the courier, the bot.

Built once by the composition root (:func:`bot.compose.compose`) and passed explicitly; a
platform reads it and never changes it (the dataclass is frozen: no attribute patched in
after the fact, no service swapped for the whole process).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.background import BackgroundDelivery
from bot.config import Settings
from bot.delivery import Courier
from bot.inbox import AcksFirst, InboxWorkers
from handlers.core import Bot
from handlers.services import Services


@dataclass(frozen=True)
class Runtime:
    """The core of one running incubot, shared by its platforms, ``serve``, ``clock`` and the CLI."""

    settings: Settings
    engine: Engine
    services: Services
    courier: Courier
    bot: Bot
    # What a platform acked before doing it (Slack's commands and clicks): stored, then processed
    # by these workers; ``serve`` resumes them at start and drains them on SIGTERM.
    inbox: InboxWorkers
    # Counts the acks in flight so the inbox workers yield to them (bot/inbox.py).
    acks: AcksFirst
    # The courier's background threads, when a platform acks before answering (None: each
    # request sends its outbox itself, once its unit of work has committed).
    background: BackgroundDelivery | None = None
