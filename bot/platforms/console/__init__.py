"""The terminal (``incubot shell``): the same handlers, buttons as numbers, forms as questions.

Not in ``bot.compose.PLATFORMS`` (no setting turns it on): ``incubot shell`` composes it
with :func:`plug`, for one person at a keyboard.
"""

from bot.platforms.console.adapter import PLATFORM, Console, enable_line_editing, history_file, plug, render_reply

__all__ = ["PLATFORM", "Console", "enable_line_editing", "history_file", "plug", "render_reply"]
