"""The neutral text markup and its rendering, shared by every adapter.

Handlers write ``**bold**`` and wrap anything a person typed with :func:`user`.
Each adapter calls :func:`render` with its own escape and bold functions, so user
text is escaped for Slack mrkdwn, Mattermost markdown or the terminal, and never
interpreted (no ``@channel``, no spoofed link).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_OPEN, _CLOSE = "\ue000", "\ue001"
_USER_SPAN = re.compile(f"{_OPEN}(.*?){_CLOSE}", re.DOTALL)
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_SLOT = "\ue002"
_SLOTS = re.compile(f"{_SLOT}(\\d+){_SLOT}")
MAX_INPUT_CHARS = 4000


def clean_input(text: str, *, max_chars: int = MAX_INPUT_CHARS) -> str:
    """Text from a person, made safe to keep: no control or private-use characters, bounded."""
    kept = []
    for ch in text[: max_chars * 2]:
        cat = unicodedata.category(ch)
        if ch in "\n\t":
            kept.append(ch)
        elif cat in ("Cc", "Cf", "Co", "Cs"):
            continue
        else:
            kept.append(ch)
    return "".join(kept)[:max_chars]


def user(text: str | None) -> str:
    """Mark text typed by a person so every renderer escapes it."""
    return f"{_OPEN}{clean_input(text or '')}{_CLOSE}"


def render(text: str, *, escape: Callable[[str], str], bold: Callable[[str], str]) -> str:
    """Apply ``bold`` to ``**…**`` of our own text and ``escape`` to user spans."""
    spans: list[str] = []

    def park(match: re.Match[str]) -> str:
        spans.append(escape(match.group(1)))
        return f"{_SLOT}{len(spans) - 1}{_SLOT}"

    parked = _USER_SPAN.sub(park, text)
    styled = _BOLD.sub(lambda m: bold(m.group(1)), parked)
    return _SLOTS.sub(lambda m: spans[int(m.group(1))], styled)


def plain(text: str) -> str:
    """The text with markup removed (logs, CSV, notifications previews)."""
    return render(text, escape=lambda s: s, bold=lambda s: s)
