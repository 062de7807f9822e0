"""What Slack sees: neutral replies and forms as Block Kit, and modal values back.

Pure functions, no Slack client: ``adapter.py`` beside this file calls them. Every text goes through
:func:`handlers.markup.render`; Slack's three control characters (``&``, ``<``, ``>``)
are escaped everywhere in mrkdwn, so a person's ``<!channel>``, ``<@U…>`` or
``<https://evil|bank>`` is shown as typed and never interpreted. Handlers write no
Slack markup, so escaping our own text as well costs nothing and keeps reference data
(startup names, suppliers) just as safe.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from handlers.markup import render
from handlers.types import Fact, Form, Input, Reply

# Slack's limits (Block Kit reference): exceeding any of them makes the whole call fail.
SECTION_TEXT_MAX = 3000
FIELDS_PER_SECTION = 10
FIELD_TEXT_MAX = 2000
BUTTONS_PER_ACTIONS = 25
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100
MODAL_TITLE_MAX = 24
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
PLACEHOLDER_MAX = 150
INPUT_MAX_LENGTH = 3000
METADATA_MAX = 3000

# action_id = neutral action + "#" + position: Slack wants action ids unique in a message,
# and a list (``en-attente``) may carry several "quote.validate" buttons.
ACTION_SEPARATOR = "#"


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the only three characters Slack interprets as control."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What a person typed, from Slack's escaped message or command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn(text: str) -> str:
    """Neutral markup → Slack mrkdwn: ``**x**`` → ``*x*``, everything escaped once."""
    return render(escape(text), escape=lambda s: s, bold=lambda s: f"*{s}*")


def plain(text: str) -> str:
    """Neutral markup → plain_text (Slack shows plain_text as is: no escaping, no bold)."""
    return render(text, escape=lambda s: s, bold=lambda s: s)


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(plain(text) or " ", limit), "emoji": True}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(text: str, limit: int) -> Iterator[str]:
    """Split on line boundaries so no section exceeds Slack's limit."""
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                yield current
                current = ""
            yield line[:limit]
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            yield current
            current = line
        else:
            current = candidate
    if current.strip():
        yield current


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def action_id(action: str, position: int) -> str:
    return f"{action}{ACTION_SEPARATOR}{position}"


def neutral_action(slack_action_id: str) -> str:
    return slack_action_id.split(ACTION_SEPARATOR, 1)[0]


def _fact_field(fact: Fact) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(f"*{mrkdwn(fact.label)}*\n{mrkdwn(fact.value)}", FIELD_TEXT_MAX)}


def reply_blocks(reply: Reply, *, max_blocks: int = MESSAGE_BLOCKS_MAX) -> list[dict[str, Any]]:
    """A reply as blocks: its text as sections, facts as fields, buttons as an actions block."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
        for chunk in _chunks(mrkdwn(reply.text), SECTION_TEXT_MAX)
    ]
    for facts in _batches(reply.facts, FIELDS_PER_SECTION):
        blocks.append({"type": "section", "fields": [_fact_field(f) for f in facts]})
    buttons = []
    for position, button in enumerate(reply.buttons):
        element: dict[str, Any] = {
            "type": "button",
            "text": _plain_text(button.label, BUTTON_TEXT_MAX),
            "action_id": action_id(button.action, position),
            "value": button.value[:BUTTON_VALUE_MAX],
        }
        if button.style in ("primary", "danger"):
            element["style"] = button.style
        buttons.append(element)
    for elements in _batches(buttons, BUTTONS_PER_ACTIONS):
        blocks.append({"type": "actions", "elements": list(elements)})
    if len(blocks) > max_blocks:  # keep the buttons: they are what the reader acts on
        actions = [b for b in blocks if b["type"] == "actions"]
        blocks = [b for b in blocks if b["type"] != "actions"][: max_blocks - len(actions)] + actions
    return blocks


def fallback_text(reply: Reply) -> str:
    """The ``text`` of a message: shown in notifications and by clients without blocks."""
    return _cut(mrkdwn(reply.text) or " ", 3000)


def message(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / chat.update / respond()."""
    return {"text": fallback_text(reply), "blocks": reply_blocks(reply)}


# --------------------------------------------------------------------------- modals


def _element(field: Input) -> dict[str, Any]:
    if field.kind == "select" or field.choices:
        options = [
            {"text": _plain_text(c.label, OPTION_TEXT_MAX), "value": c.value[:150]} for c in field.choices[:OPTIONS_MAX]
        ]
        element: dict[str, Any] = {"type": "static_select", "action_id": field.name, "options": options}
        initial = next((o for o in options if o["value"] == field.initial), None)
        if initial is not None:
            element["initial_option"] = initial
    else:
        element = {
            "type": "plain_text_input",
            "action_id": field.name,
            "multiline": field.kind == "textarea",
            "max_length": max(1, min(field.max_length, INPUT_MAX_LENGTH)),
        }
        if field.initial:
            element["initial_value"] = field.initial
    if field.placeholder:
        element["placeholder"] = _plain_text(field.placeholder, PLACEHOLDER_MAX)
    return element


def modal(form: Form, *, cancel_label: str, origin: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A form as a modal; each input's block_id is its name, so field errors map back to it."""
    blocks = []
    for field in form.inputs:
        block: dict[str, Any] = {
            "type": "input",
            "block_id": field.name,
            "label": _plain_text(field.label, 2000),
            "element": _element(field),
            "optional": not field.required,
        }
        if field.hint:
            block["hint"] = _plain_text(field.hint, 2000)
        blocks.append(block)
    metadata = json.dumps({"callback": form.callback, "value": form.value, **(origin or {})}, ensure_ascii=False)
    if len(metadata) > METADATA_MAX:
        metadata = json.dumps({"callback": form.callback, "value": form.value}, ensure_ascii=False)
    return {
        "type": "modal",
        "callback_id": form.callback[:255],
        "title": _plain_text(form.title, MODAL_TITLE_MAX),
        "submit": _plain_text(form.submit_label, MODAL_TITLE_MAX),
        "close": _plain_text(cancel_label, MODAL_TITLE_MAX),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def modal_metadata(view: Mapping[str, Any]) -> dict[str, str]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    data.setdefault("callback", view.get("callback_id", ""))
    data.setdefault("value", "")
    return {k: str(v) for k, v in data.items()}


def submitted_values(view: Mapping[str, Any]) -> dict[str, str]:
    """``view.state.values`` → {input name: text or selected value}."""
    values: dict[str, str] = {}
    for block_id, elements in ((view.get("state") or {}).get("values") or {}).items():
        for element in elements.values():
            if element.get("type") in ("static_select", "external_select", "radio_buttons"):
                values[block_id] = ((element.get("selected_option") or {}).get("value")) or ""
            else:
                values[block_id] = element.get("value") or ""
    return values


def field_errors(errors: Mapping[str, str], view: Mapping[str, Any]) -> dict[str, str]:
    """Errors keyed by block_id; Slack refuses the whole answer if a key is not a block of the view."""
    block_ids = [b.get("block_id") for b in view.get("blocks", ()) if b.get("type") == "input"]
    out: dict[str, str] = {}
    for name, text in errors.items():
        key = name if name in block_ids else (block_ids[0] if block_ids else name)
        out[key] = (f"{out[key]} " if key in out else "") + _cut(plain(text), 2000)
    return out


# --------------------------------------------------------------------------- App Home


def home_view(sections: Sequence[tuple[str, Reply]]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for title, reply in sections:
        if blocks:
            blocks.append({"type": "divider"})
        blocks.append({"type": "header", "text": _plain_text(title, 150)})
        blocks += reply_blocks(reply, max_blocks=(HOME_BLOCKS_MAX - 2 * len(sections)) // max(1, len(sections)))
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS_MAX]}
