"""Mattermost: translation between Mattermost's payloads and the neutral types.

:func:`build` makes the :class:`MattermostPlatform` (a :class:`bot.port.Platform`) when
``MATTERMOST_URL`` and ``MATTERMOST_BOT_TOKEN`` are set. Its three routes, mounted by
``incubot serve``:

- ``POST /mattermost/command``: the slash command (form-encoded; its token is checked
  in constant time) → :meth:`Bot.message`; the reply goes back ephemeral in the
  command response (a normal bot cannot post ephemeral messages through the API). A
  reply that carries a form opens a dialog with the command's ``trigger_id``.
- ``POST /mattermost/actions``: a button click (JSON, **not** signed by Mattermost):
  the ``context`` the bot sealed with ``INCUBOT_SECRET`` must verify, else 401 and
  nothing changes → :meth:`Bot.action`; answered with the post's update and an
  ephemeral text, or a dialog.
- ``POST /mattermost/dialogs``: a dialog submission; its ``state`` is sealed, bound
  to the user it was opened for and carries a nonce consumed by the submission that is
  taken (the same submission again changes nothing) → :meth:`Bot.submit`; field errors
  go back as ``{"errors": …}`` (the nonce is not consumed).

These three are answered once their work is done (no inbox needed: acknowledged means
done). A body that is not UTF-8 or not JSON, or lacks a field, gets 400.

:class:`MattermostSender` is the courier's sender: direct messages, channel posts and
in-place updates through :mod:`bot.platforms.mattermost.client`. No rule lives here: who may
do what, and every sentence, come from ``handlers``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.delivery import PlatformAddresses, Posted
from bot.platforms.mattermost.client import MattermostClient, MattermostError
from bot.port import Plug
from bot.runtime import Runtime
from bot.signing import seal, token_matches, unseal
from handlers.markup import plain, render
from handlers.types import Action, Button, Form, Input, Reply, Request, Submission
from storage import inbox
from storage.db import unit_of_work
from storage.models import InboxStatus

log = logging.getLogger("incubot.mattermost")

PLATFORM = "mattermost"
ACTIONS_PATH = "/mattermost/actions"
DIALOGS_PATH = "/mattermost/dialogs"
DIALOG_MAX_AGE = timedelta(hours=24)
# Limits the Mattermost server enforces on dialogs.
TITLE_MAX = 24
DISPLAY_NAME_MAX = 24
HELP_TEXT_MAX = 150
TEXT_MAX = 150
TEXTAREA_MAX = 3000
MESSAGE_MAX = 16000  # a post holds 16383 characters
SHORT_FIELD = 40  # a field this short shares its line with the next one

# --------------------------------------------------------------------------- text

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])", re.MULTILINE)
ZWJ = "\u200d"


def escape(text: str) -> str:
    """User text made inert in Mattermost markdown: shown as typed, never interpreted.

    Markdown specials are backslash-escaped (no link, image, code, emphasis, HTML,
    table or heading), list/heading markers at a line start too, and a zero-width
    joiner after each ``@`` stops ``@channel``, ``@all``, ``@here`` and mentions.
    """
    text = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return text.replace("@", "@" + ZWJ)


def bold(text: str) -> str:
    return f"**{text}**"


def markdown(text: str) -> str:
    """Our markup as Mattermost markdown, user spans escaped."""
    return render(text, escape=escape, bold=bold)


def text_only(text: str) -> str:
    """Our markup as plain text for places Mattermost shows unrendered (titles, labels, options,
    notification fallback): no escaping to show, but mentions are still broken."""
    return render(text, escape=lambda s: s.replace("@", "@" + ZWJ), bold=lambda s: s)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def _json_object(request: HttpRequest) -> dict[str, Any] | JSONResponse:
    """The request's JSON object, or the 400 answer to send instead."""
    try:
        payload = json.loads(await request.body())
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested deeper than the parser goes
        return JSONResponse({"error": "JSON expected"}, status_code=400)
    if not isinstance(payload, dict):
        return JSONResponse({"error": "JSON object expected"}, status_code=400)
    return payload


# --------------------------------------------------------------------------- rendering


@dataclass
class Renderer:
    """Neutral replies as Mattermost posts, command responses and dialogs; seals what comes back."""

    secret: str
    public_url: str
    clock: Callable[[], datetime]

    def _stamp(self) -> str:
        return str(int(self.clock().timestamp()))

    # ------------------------------------------------------------ messages

    def attachments(self, reply: Reply) -> list[dict[str, Any]]:
        if not reply.facts and not reply.buttons:
            return []
        attachment: dict[str, Any] = {"fallback": _fit(text_only(reply.text), 300)}
        if reply.facts:
            attachment["fields"] = [
                {"title": text_only(f.label), "value": markdown(f.value), "short": len(plain(f.value)) <= SHORT_FIELD}
                for f in reply.facts
            ]
        if reply.buttons:
            attachment["actions"] = [self.button(b, i) for i, b in enumerate(reply.buttons)]
        return [attachment]

    def button(self, button: Button, index: int) -> dict[str, Any]:
        context = seal(self.secret, "action",
                       {"action": button.action, "value": button.value, "ref": button.value, "ts": self._stamp()})
        return {
            # Mattermost puts the id in a URL path: letters and digits only.
            "id": re.sub(r"[^A-Za-z0-9]", "", button.action) + str(index),
            "name": text_only(button.label),
            "type": "button",
            "style": button.style if button.style in ("primary", "danger") else "default",
            "integration": {"url": self.public_url + ACTIONS_PATH, "context": context},
        }

    def post(self, reply: Reply) -> dict[str, Any]:
        """``message`` and ``props`` of a post (also the ``update`` of a click's answer)."""
        return {"message": _fit(markdown(reply.text), MESSAGE_MAX), "props": {"attachments": self.attachments(reply)}}

    def command_response(self, reply: Reply) -> dict[str, Any]:
        body: dict[str, Any] = {"response_type": "in_channel" if reply.public else "ephemeral",
                                "text": _fit(markdown(reply.text), MESSAGE_MAX)}
        attachments = self.attachments(reply)
        if attachments:
            body["attachments"] = attachments
        return body

    def ephemeral_text(self, reply: Reply) -> str:
        lines = [markdown(reply.text)] + [f"**{markdown(f.label)}** : {markdown(f.value)}" for f in reply.facts]
        return _fit("\n".join(lines), MESSAGE_MAX)

    # ------------------------------------------------------------ dialogs

    def dialog(self, form: Form, *, user_id: str, response_url: str = "", channel_id: str = "",
               post_id: str = "") -> dict[str, Any]:
        state = seal(self.secret, "dialog", {
            "callback": form.callback, "value": form.value, "user": user_id, "ts": self._stamp(),
            "response_url": response_url, "channel": channel_id, "post": post_id,
            # consumed by the submission that is taken: the same submission again changes nothing
            "nonce": uuid.uuid4().hex,
        })
        return {
            "callback_id": form.callback,
            "title": _fit(text_only(form.title), TITLE_MAX),
            "submit_label": _fit(text_only(form.submit_label), 40),
            "notify_on_cancel": True,
            "state": json.dumps(state, separators=(",", ":")),
            "elements": [self.element(i) for i in form.inputs],
        }

    def element(self, field: Input) -> dict[str, Any]:
        label = text_only(field.label)
        display = _fit(label, DISPLAY_NAME_MAX)
        help_parts = [label] if display != label else []
        if field.hint:
            help_parts.append(text_only(field.hint))
        kind = field.kind if field.kind in ("textarea", "select") else "text"
        element: dict[str, Any] = {"display_name": display, "name": field.name, "type": kind,
                                   "optional": not field.required}
        if help_parts:
            element["help_text"] = _fit(" — ".join(help_parts), HELP_TEXT_MAX)
        if field.placeholder:
            element["placeholder"] = _fit(text_only(field.placeholder), 150)
        if field.initial:
            element["default"] = field.initial
        if kind == "select":
            element["options"] = [{"text": _fit(text_only(c.label), 150), "value": c.value} for c in field.choices]
        else:
            element["max_length"] = min(field.max_length, TEXTAREA_MAX if kind == "textarea" else TEXT_MAX)
        return element

    def dialog_state(self, raw: object, *, user_id: str) -> dict[str, str] | None:
        """The sealed state of a submission, if it verifies, is the submitter's, and is recent."""
        if not isinstance(raw, str):
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        state = unseal(self.secret, "dialog", data)
        if state is None or not user_id or state.get("user") != user_id:
            return None
        try:
            age = self.clock().timestamp() - int(state.get("ts", ""))
        except ValueError:
            return None
        if age > DIALOG_MAX_AGE.total_seconds():
            return None
        return state


# --------------------------------------------------------------------------- courier sender


class MattermostSender(PlatformAddresses):
    """How the courier reaches people and channels on Mattermost."""

    platform = PLATFORM

    def __init__(self, client: MattermostClient, renderer: Renderer) -> None:
        self.client = client
        self.renderer = renderer

    def post_direct(self, user: str, reply: Reply, *, key: str | None = None) -> Posted:
        return self.post_channel(self.client.direct_channel(user), reply)

    def post_channel(self, channel: str, reply: Reply, *, key: str | None = None) -> Posted:
        body = self.renderer.post(reply)
        # The files first: until the post names them they show nowhere, so a failed upload leaves
        # nothing behind and the outbox's retry posts the message once.
        file_ids = [self.client.upload_file(channel, f.filename, f.data, f.mime) for f in reply.files]
        post = self.client.create_post(channel, body["message"], body["props"], file_ids=file_ids or None)
        return Posted(channel, str(post["id"]))

    def update(self, channel: str, message_id: str, reply: Reply, *, key: str | None = None) -> None:
        body = self.renderer.post(reply)
        self.client.patch_post(message_id, body["message"], body["props"])


# --------------------------------------------------------------------------- HTTP routes


def _denied(reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=401)


@dataclass
class Adapter:
    runtime: Runtime
    client: MattermostClient
    renderer: Renderer

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.runtime.settings.mattermost_command_tokens

    def _open(self, form: Form, trigger_id: str, **where: str) -> bool:
        if not trigger_id:
            log.error("cannot open dialog %s: no trigger_id", form.callback)
            return False
        try:
            self.client.open_dialog(trigger_id, self.renderer.public_url + DIALOGS_PATH,
                                    self.renderer.dialog(form, **where))
        except MattermostError:
            log.exception("cannot open dialog %s", form.callback)
            return False
        return True

    def _failed(self) -> str:
        # The sentence the core uses for an unexpected error (translated there).
        return self.runtime.services.t("Désolé, une erreur inattendue s'est produite ; rien n'a été modifié. "
                                       "L'équipe technique a été prévenue.")

    # ------------------------------------------------------------ slash command

    async def command(self, request: HttpRequest) -> JSONResponse:
        # Mattermost posts application/x-www-form-urlencoded: the stdlib parses it.
        try:
            form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True,
                                  errors="strict"))
        except UnicodeDecodeError:
            return JSONResponse({"error": "the body is not UTF-8"}, status_code=400)
        header = request.headers.get("authorization", "")
        header_token = header[len("token "):].strip() if header.lower().startswith("token ") else None
        if not (token_matches(header_token, self.tokens) or token_matches(form.get("token"), self.tokens)):
            log.warning("slash command refused: no valid command token (client %s)", request.client)
            return _denied("invalid command token")
        user_id = str(form.get("user_id") or "")
        if not user_id:
            return JSONResponse({"error": "user_id missing"}, status_code=400)
        neutral = Request(PLATFORM, user_id, str(form.get("text") or ""),
                          channel_id=str(form.get("channel_id") or "") or None)
        reply = await run_in_threadpool(self.runtime.bot.message, neutral)
        if reply.form is not None:
            opened = await run_in_threadpool(
                self._open, reply.form, str(form.get("trigger_id") or ""), user_id=user_id,
                response_url=str(form.get("response_url") or ""), channel_id=str(form.get("channel_id") or ""))
            if not opened:
                reply = Reply(self._failed())
        return JSONResponse(self.renderer.command_response(reply))

    # ------------------------------------------------------------ button click

    async def action(self, request: HttpRequest) -> JSONResponse:
        payload = await _json_object(request)
        if isinstance(payload, JSONResponse):
            return payload
        context = unseal(self.renderer.secret, "action", payload.get("context"))
        user_id = payload.get("user_id")
        if context is None or "action" not in context or "value" not in context:
            log.warning("button click refused: missing or forged context (user %s, post %s)",
                        user_id, payload.get("post_id"))
            return _denied("invalid context signature")
        if not isinstance(user_id, str) or not user_id:
            return JSONResponse({"error": "user_id missing"}, status_code=400)
        reply = await run_in_threadpool(
            self.runtime.bot.action, Action(PLATFORM, user_id, context["action"], context["value"]))
        # No "update" in the answer: a decision patches every copy of its request through the outbox, once.
        body: dict[str, Any] = {}
        if reply.form is not None:
            opened = await run_in_threadpool(
                self._open, reply.form, str(payload.get("trigger_id") or ""), user_id=user_id,
                channel_id=str(payload.get("channel_id") or ""), post_id=str(payload.get("post_id") or ""))
            if not opened:
                reply = Reply(self._failed())
        if not reply.silent:
            body["ephemeral_text"] = self.renderer.ephemeral_text(reply)
        return JSONResponse(body)

    # ------------------------------------------------------------ dialog submission

    async def dialog(self, request: HttpRequest) -> JSONResponse:
        payload = await _json_object(request)
        if isinstance(payload, JSONResponse):
            return payload
        user_id = payload.get("user_id")
        state = self.renderer.dialog_state(payload.get("state"), user_id=user_id if isinstance(user_id, str) else "")
        if state is None:
            log.warning("dialog submission refused: missing, forged, stale or someone else's state (user %s)",
                        user_id)
            return _denied("invalid dialog state")
        assert isinstance(user_id, str)
        if payload.get("cancelled"):
            return JSONResponse({})
        raw = payload.get("submission")
        if raw is not None and not isinstance(raw, dict):
            return JSONResponse({"error": "submission must be an object"}, status_code=400)
        values = {str(k): "" if v is None else str(v) for k, v in (raw or {}).items()}
        submission = Submission(PLATFORM, user_id, state["callback"], state["value"], values)
        result = await run_in_threadpool(self._submit_once, state, submission)
        if result is None:
            log.info("dialog %s: the same submission again (replay): nothing changed", state["callback"])
            return JSONResponse({})
        if result.errors:
            return JSONResponse({"errors": {name: text_only(message) for name, message in result.errors.items()}})
        await run_in_threadpool(self._after_submission, state, user_id, result)
        return JSONResponse({})

    def _submit_once(self, state: Mapping[str, str], submission: Submission) -> Reply | None:
        """``runtime.bot.submit`` if this dialog's nonce is not consumed yet; None for a replay.

        The nonce is consumed (an inbox row) before the submission is handled, so two identical
        submissions at once make one; an answer with field errors gives it back (the corrected
        form is submitted with the same state).
        """
        key = "dialog:" + (state.get("nonce") or state["ts"] + ":" + state["user"] + ":" + state["callback"])
        services = self.runtime.services
        with unit_of_work(services.sessions) as session:
            consumed = inbox.put(session=session, platform=PLATFORM, key=key, kind="mattermost.dialog",
                                 payload={"callback": state["callback"]}, now=services.clock(),
                                 status=InboxStatus.DONE)
        if consumed is None:
            return None
        result = self.runtime.bot.submit(submission)
        if result.errors:
            with unit_of_work(services.sessions) as session:
                inbox.release_key(session=session, platform=PLATFORM, key=key)
        return result

    def _after_submission(self, state: Mapping[str, str], user_id: str, reply: Reply) -> None:
        """Show the outcome: ephemeral through the command's response_url, else in the clicked post's thread
        (the clicked post itself is patched by the outbox, with every other copy of the request)."""
        try:
            if reply.silent:
                return
            if state.get("response_url"):
                try:
                    self.client.respond(state["response_url"], self.renderer.command_response(reply))
                    return
                except MattermostError:  # expired (30 min) or refused: a direct message still tells them
                    log.warning("dialog %s: response_url failed; answering by direct message", state.get("callback"))
                    state = {**state, "post": "", "channel": ""}
            body = self.renderer.post(reply)
            if state.get("post") and state.get("channel"):
                self.client.create_post(state["channel"], body["message"], body["props"], root_id=state["post"])
            else:
                self.client.create_post(self.client.direct_channel(user_id), body["message"], body["props"])
        except MattermostError:
            # The change is committed; only its confirmation is lost, and the courier's messages still go.
            log.exception("dialog %s: could not show the outcome to %s", state.get("callback"), user_id)


@dataclass(eq=False)
class MattermostPlatform:
    """Mattermost as the core sees it (a :class:`bot.port.Platform`): three routes and the sender."""

    adapter: Adapter
    sender: MattermostSender
    name: str = PLATFORM

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/mattermost/command", self.adapter.command, methods=["POST"]),
            Route(ACTIONS_PATH, self.adapter.action, methods=["POST"]),
            Route(DIALOGS_PATH, self.adapter.dialog, methods=["POST"]),
        ]

    def start(self) -> None:
        """Nothing to start: Mattermost calls the routes."""

    def stop(self, timeout: float) -> bool:
        """Nothing to stop: uvicorn finishes the requests in flight (each is done when it is answered)."""
        return True


def build(runtime: Runtime, *, client: MattermostClient | None = None) -> MattermostPlatform:
    """Mattermost on ``runtime`` (``client``: a given REST client, e.g. one whose retries do not sleep)."""
    settings = runtime.settings
    if not (settings.mattermost_url and settings.mattermost_bot_token and settings.secret):
        raise ValueError("Mattermost needs MATTERMOST_URL, MATTERMOST_BOT_TOKEN and INCUBOT_SECRET")
    client = client or MattermostClient(settings.mattermost_url, settings.mattermost_bot_token)
    renderer = Renderer(settings.secret, settings.effective_public_url, runtime.services.clock)
    return MattermostPlatform(Adapter(runtime, client, renderer), MattermostSender(client, renderer))


PLUG = Plug(PLATFORM, enabled=lambda settings: settings.mattermost_enabled, build=build)
