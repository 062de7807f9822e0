"""The one place the command line builds what runs, through the composition root (bot/compose.py).

Everything else in ``bot.cli`` receives a runtime; when the composition changes, only this file does.
"""

from __future__ import annotations

from bot.compose import compose
from bot.config import Settings
from bot.platforms.console import PLATFORM, Console, plug
from bot.runtime import Runtime


def runtime_for(settings: Settings, *, sends: bool = False, long_running: bool = False) -> Runtime:
    """The runtime; with the configured platforms' senders only for the commands that send (the scheduler's):
    the others leave what they enqueue in the outbox for ``serve`` / ``clock``. ``long_running``
    (``clock``): the files its messages carry are rendered in a child process, as ``serve`` does."""
    return compose(settings, plugs=None if sends else (), documents_apart=long_running).runtime


def console_for(settings: Settings, person: str, *, color: bool) -> tuple[Runtime, Console]:
    """The runtime with the terminal as its only platform, and that terminal."""
    incubot = compose(settings, plugs=[plug(person, color=color)])
    console = incubot.platform(PLATFORM)
    assert isinstance(console, Console)
    return incubot.runtime, console
