"""Chat drivers: drive the bot as people do, and read what each person sees.

A dialogue test is written once against :class:`ChatDriver` and runs on every
platform (the ``chat`` fixture is parametrised): the neutral driver, the transcript
stub of ``tests/stub.py``, calls :class:`handlers.core.Bot` directly; the Slack and
Mattermost drivers send the platforms' real, signed request formats to ``incubot
serve``'s ASGI app and read a fake Web API. Same dialogue, same expectations: no flow
is written twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session
from starlette.routing import BaseRoute

from bot.compose import Incubot, compose
from bot.config import Settings
from bot.delivery import Posted
from bot.port import Plug
from bot.runtime import Runtime
from handlers.core import Bot
from handlers.markup import plain
from handlers.types import Reply, Request
from storage.models import Person, Startup


@dataclass(frozen=True)
class SeenFile:
    """A file that came with a message, as the person downloads it."""

    name: str
    data: bytes


@dataclass
class Seen:
    """A message as a person sees it: plain text (facts included), button labels and the files it carries."""

    text: str
    buttons: list[str] = field(default_factory=list)
    files: list[SeenFile] = field(default_factory=list)

    def __contains__(self, needle: str) -> bool:
        return needle in self.text


class ChatDriver(Protocol):
    platform: str
    runtime: Runtime  # the bot behind the platform: a test sweeps the reminders with it

    def say(self, who: str, text: str) -> Seen:
        """``who`` (a person id) types ``text`` (``/incubot …`` or a DM); what they see back."""

    def click(self, who: str, ref: str, label: str, *, channel: str | None = None) -> Seen:
        """``who`` clicks ``label`` on the latest message about ``ref`` in their inbox (or, with ``channel``,
        posted in that channel: ``"managers"`` is the managers' channel); what they see back."""

    def fill(self, who: str, values: Mapping[str, str]) -> Seen:
        """``who`` submits the form last opened for them; what they see (errors included)."""

    def inbox(self, who: str) -> list[Seen]:
        """Direct messages ``who`` received, oldest first, as they are now (after updates)."""

    def managers_channel(self) -> list[Seen]:
        """Messages posted to the managers (channel or direct)."""


def seen(reply: Reply | None) -> Seen:
    if reply is None:
        return Seen("")
    lines = [plain(reply.text)] + [f"{plain(f.label)} : {plain(f.value)}" for f in reply.facts]
    return Seen("\n".join(lines), [b.label for b in reply.buttons], [SeenFile(f.filename, f.data) for f in reply.files])


class RecordingSender:
    """A platform with no wire: its sender keeps every posted message and applies updates in place.

    It satisfies :class:`bot.port.Platform` (no route, nothing to start), so a test composes it
    like any platform: ``compose(settings, plugs=[sender.plug()])``.
    """

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.name = platform
        self.posts: dict[tuple[str, str], Reply] = {}
        self.order: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ the port

    @property
    def sender(self) -> RecordingSender:
        return self

    def routes(self) -> list[BaseRoute]:
        return []

    def start(self) -> None:
        pass

    def stop(self, timeout: float) -> bool:
        return True

    def plug(self) -> Plug:
        """This platform, for ``compose(plugs=…)``."""
        return Plug(self.name, enabled=lambda _settings: True, build=lambda _runtime: self)

    # ------------------------------------------------------------------ the sender

    def person_address(self, session: Session, person: Person) -> str | None:
        return person.id

    def channel_address(self, session: Session, startup: Startup | None) -> str | None:
        return "managers" if startup is None else f"startup:{startup.id}"

    def post_direct(self, user: str, reply: Reply, *, key: str | None = None) -> Posted:
        return self.post_channel(f"dm:{user}", reply)

    def post_channel(self, channel: str, reply: Reply, *, key: str | None = None) -> Posted:
        key = (channel, str(next(self._ids)))
        self.posts[key] = reply
        self.order.append(key)
        return Posted(*key)

    def update(self, channel: str, message_id: str, reply: Reply, *, key: str | None = None) -> None:
        assert (channel, message_id) in self.posts, "update of a message never posted"
        self.posts[(channel, message_id)] = reply

    def messages(self, channel: str) -> list[Reply]:
        return [self.posts[k] for k in self.order if k[0] == channel]


def say(bot: Bot, person: str, text: str) -> str:
    """What ``person`` reads (plain text) after typing ``text`` in the terminal."""
    return plain(bot.message(Request("console", person, text)).text)


def composed(engine: Any, clock: Any = None, *platforms: RecordingSender, settings: Settings | None = None,
             **options: Any) -> Incubot:
    """incubot on the test's database, with only ``platforms`` (none by default) — what a test composes."""
    settings = settings or Settings(database_url=engine.url.render_as_string(hide_password=False))
    if clock is not None:
        options["clock"] = clock
    options.setdefault("plugs", [p.plug() for p in platforms])
    return compose(settings, engine=engine, migrate=False, **options)


def runtime_of(engine: Any, clock: Any = None, *platforms: RecordingSender, settings: Settings | None = None,
               **options: Any) -> Runtime:
    """The runtime of :func:`composed` (most tests talk to the bot or the courier only)."""
    return composed(engine, clock, *platforms, settings=settings, **options).runtime
