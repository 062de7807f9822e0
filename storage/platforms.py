"""The chat platforms incubot knows by name, and what their ids look like.

This is data, not platform code: the ``platform`` column of every stored row takes one
of these names, and the reference file (``handlers/importer.py``) reads, for each chat
platform listed in :data:`CHAT_PLATFORMS`, a person's ``<name>_id`` key and a ``<name>``
key in ``channel`` / ``managers_channel`` — checked against the shapes below. Adding a
platform to the reference file is one line in :data:`CHAT_PLATFORMS`; how the platform
talks lives in its own folder under ``bot/platforms/``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class PlatformName(enum.StrEnum):
    SLACK = "slack"
    MATTERMOST = "mattermost"
    MATRIX = "matrix"
    CONSOLE = "console"  # the terminal and the CLI: people are named by their person id, no account


@dataclass(frozen=True)
class ChatPlatform:
    """What a user id and a channel id look like on one platform (a full match of the pattern)."""

    name: PlatformName
    user: re.Pattern[str]
    user_example: str
    channel: re.Pattern[str]
    channel_example: str
    max_length: int = 64

    @property
    def account_key(self) -> str:
        """The person's key in the reference file (``slack_id``, ``matrix_id``…)."""
        return f"{self.name}_id"


# A Matrix server name: a DNS name or an IP literal, an optional port (Matrix spec, appendices).
_MATRIX_SERVER = r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"

CHAT_PLATFORMS: tuple[ChatPlatform, ...] = (
    # Slack member ids start with U or W, conversation ids with C, G or D: upper-case letters and digits.
    ChatPlatform(PlatformName.SLACK, re.compile(r"[UW][A-Z0-9]{2,}"), "U01CAMILLE",
                 re.compile(r"[CGD][A-Z0-9]{2,}"), "C0PILOTAGE"),
    # Mattermost ids are 26 lower-case letters and digits; channel names are accepted too.
    ChatPlatform(PlatformName.MATTERMOST, re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*"), "8xk3…",
                 re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*"), "pilotage-channel-id"),
    # Matrix user ids are @localpart:server (historical localparts allow more than lower case); room ids are
    # !opaque:server, or from room version 12 on !<43 characters of URL-safe base64> with no server.
    ChatPlatform(PlatformName.MATRIX, re.compile(r"@[!-9;-~]+:" + _MATRIX_SERVER),
                 "@claire.petit-culture.gouv.fr:agent.tchap.example.org",
                 re.compile(r"!(?:[!-9;-~]+:" + _MATRIX_SERVER + r"|[A-Za-z0-9_-]{43})"),
                 "!AbCdEfGh:agent.tchap.example.org", max_length=255),
)

MAX_ID_LENGTH = 255  # the columns' length: Matrix ids may be 255 characters long (Slack, Mattermost: 64)


def chat_platform(name: str) -> ChatPlatform | None:
    return next((p for p in CHAT_PLATFORMS if p.name == name), None)
