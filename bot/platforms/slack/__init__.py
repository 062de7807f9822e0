"""Slack (HTTP events or Socket Mode, Block Kit): ``PLUG`` builds its :class:`SlackPlatform`."""

from bot.platforms.slack.adapter import PLUG, SlackPlatform, SlackSender, build

__all__ = ["PLUG", "SlackPlatform", "SlackSender", "build"]
