"""Tchap (Matrix) on mautrix-python: one :class:`~bot.platforms.matrix.platform.MatrixPlatform`
satisfying :class:`bot.port.Platform` (no routes: the bot syncs; ``start``/``stop`` run the
sync loop on its own thread and asyncio loop). mautrix stays inside this folder."""

from __future__ import annotations

from typing import Any


def build(runtime: Any) -> Any:
    from bot.platforms.matrix.platform import build as build_platform  # mautrix is an optional extra

    return build_platform(runtime)
