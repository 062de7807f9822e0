"""The port: what the core needs of a chat platform, and nothing more.

A platform (Slack, Mattermost, Tchap/Matrix, the terminal) is one folder under
``bot/platforms/`` that exports ``PLUG``, a :class:`Plug` whose ``build(runtime)`` makes
one object satisfying :class:`Platform`; the composition root (``bot/compose.py``,
one line in ``PLATFORMS``) builds it when ``PLUG.enabled(settings)``, adds its sender to
the courier, and ``incubot serve`` / ``incubot clock`` pick what they run from it:

- ``routes()``: the HTTP routes ``incubot serve`` mounts (Slack's events endpoint,
  Mattermost's command/action/dialog endpoints); empty for a platform that listens on
  its own connection (Slack Socket Mode, Matrix sync);
- ``start()`` / ``stop(timeout)``: that long-running listener, if any (a no-op for a
  platform that only has routes);
- ``sender``: how the courier (``bot/delivery.py``) posts a direct message, posts in a
  channel and updates a message in place — the only way anything is *sent*;
- inside the folder, how an outcome is presented (ephemeral where the platform can,
  otherwise a direct message; a form as a modal, a dialog or step-by-step questions).

Everything a platform receives goes to the neutral entry points of
:class:`handlers.core.Bot` (``message``, ``action``, ``submit``) as neutral requests
(``handlers/types.py``); nothing in ``handlers/`` or ``storage/`` knows a platform.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.config import Settings
    from bot.delivery import Sender
    from bot.runtime import Runtime


@runtime_checkable
class Platform(Protocol):
    """One chat platform as the core sees it."""

    name: str  # "slack" | "mattermost" | "matrix" | "console": the platform column of every stored row

    @property
    def sender(self) -> Sender:
        """What the courier calls to deliver the outbox's messages on this platform."""
        ...

    def routes(self) -> Sequence[BaseRoute]:
        """The HTTP routes this platform answers on (``[]`` if it has none)."""
        ...

    def start(self) -> None:
        """Start listening on the platform's own connection, if it has one (idempotent)."""
        ...

    def stop(self, timeout: float) -> bool:
        """Stop listening and finish what was acknowledged, within ``timeout`` seconds; True if drained."""
        ...


@dataclass(frozen=True)
class Plug:
    """How the composition root builds one platform: what each platform folder exports as ``PLUG``.

    ``enabled(settings)`` says whether the platform is configured; ``build(runtime)`` makes its
    :class:`Platform` (nothing registered anywhere as a side effect: the composition root adds
    its sender to the courier and mounts its routes). ``deliver_in_background``: the platform
    acks before it answers (Slack's 3-second deadline), so the process sends the outbox from
    background threads — decided once, when the process is composed.
    """

    name: str
    enabled: Callable[[Settings], bool]
    build: Callable[[Runtime], Platform]
    deliver_in_background: bool = False
