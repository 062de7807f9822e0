"""Mattermost (slash command, interactive buttons, dialogs): ``PLUG`` builds its :class:`MattermostPlatform`."""

from bot.platforms.mattermost.adapter import PLUG, MattermostPlatform, MattermostSender, Renderer, build
from bot.platforms.mattermost.client import MattermostClient, MattermostError

__all__ = ["PLUG", "MattermostClient", "MattermostError", "MattermostPlatform", "MattermostSender", "Renderer",
           "build"]
