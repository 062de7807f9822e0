"""What handlers are given: sessions, the clock, the language, and a way to deliver.

Built once by ``bot.compose.compose`` from the settings and passed explicitly;
tests build their own with a fixed clock and a fake deliverer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from handlers.i18n import Translator
from storage.db import SessionFactory


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    sessions: SessionFactory
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    language: str = "fr"
    typography: str = "plain"  # "fine": French no-break spaces (handlers/i18n.py)
    clock: Callable[[], datetime] = system_clock
    # Sends what the last unit of work put in the outbox; chosen once by the composition root.
    deliver: Callable[[], None] = lambda: None
    # A turn for one request's unit of work (``Bot`` takes one per request): the composition root
    # bounds how many run at once; here, no bound.
    admit: Callable[[], contextlib.AbstractContextManager[object]] = contextlib.nullcontext
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("incubot"))

    def __post_init__(self) -> None:
        self.t = Translator(self.language, self.tz, self.typography)

    def now(self) -> datetime:
        """Now, in the configured time zone."""
        return self.clock().astimezone(self.tz)

    def today(self) -> date:
        return self.now().date()
