"""Tchap (Matrix) on mautrix-python: ``PLUG`` builds one :class:`MatrixPlatform` satisfying
:class:`bot.port.Platform` (no routes: the bot syncs; ``start``/``stop`` run the sync loop on its
own thread and asyncio loop). mautrix is imported inside ``link.py`` only, when the loop starts."""

from __future__ import annotations

from bot.platforms.matrix.platform import PLUG, MatrixPlatform, MatrixSender, build

__all__ = ["PLUG", "MatrixPlatform", "MatrixSender", "build"]
