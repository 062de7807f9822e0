"""Neutral replies as Matrix message contents: an HTML body and a plain-text body.

No Matrix client shows buttons: a reply's buttons become reactions the bot puts on its own
message — ✅ for the one that approves, ❌ for the one that refuses, keycaps 1️⃣… when there are
others — with a legend line saying what each does. ``m.mentions`` is always present and empty:
nothing the bot posts pings anyone (``@room`` typed by a person included).
"""

from __future__ import annotations

import html
from typing import Any

from handlers.markup import render
from handlers.types import Button, Reply
from storage.chat_state import Choice

APPROVE, REFUSE = "✅", "❌"
KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")


def normal_key(key: str) -> str:
    """A reaction key as the bot offers it: ``✅️`` (with the emoji variation selector) is ``✅``."""
    return key.replace("\ufe0f", "") if key.replace("\ufe0f", "") in (APPROVE, REFUSE) else key


def choices(reply: Reply) -> list[Choice]:
    buttons: tuple[Button, ...] = reply.buttons
    styles = [b.style for b in buttons]
    if styles in (["primary", "danger"], ["primary"], ["danger"]):
        keys = [APPROVE if s == "primary" else REFUSE for s in styles]
    else:
        keys = list(KEYCAPS[: len(buttons)])
    return [Choice(key, b.label, b.action, b.value) for key, b in zip(keys, buttons, strict=False)]


def _html_user(text: str) -> str:
    return html.escape(text, quote=False)


def html_text(text: str) -> str:
    return render(html.escape(text, quote=False), escape=lambda s: s,
                  bold=lambda s: f"<strong>{s}</strong>").replace("\n", "<br>")


def plain_text(text: str) -> str:
    return render(text, escape=lambda s: s, bold=lambda s: s)


def content(reply: Reply, legend: str = "") -> dict[str, Any]:
    """``m.text`` content of ``reply``: body, HTML body, no mention."""
    lines_plain = [plain_text(reply.text)] + [f"{plain_text(f.label)} : {plain_text(f.value)}" for f in reply.facts]
    lines_html = [html_text(reply.text)] + [f"<strong>{html_text(f.label)}</strong> : {html_text(f.value)}"
                                             for f in reply.facts]
    offered = choices(reply)
    if offered and legend:
        text = legend + " " + " · ".join(f"{c.key} {plain_text(c.label)}" for c in offered)
        lines_plain.append(text)
        lines_html.append(f"<em>{html.escape(text, quote=False)}</em>")
    return {"msgtype": "m.text", "body": "\n".join(lines_plain), "format": "org.matrix.custom.html",
            "formatted_body": "<br>".join(lines_html), "m.mentions": {}}
