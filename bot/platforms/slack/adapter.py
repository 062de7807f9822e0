"""Slack: translate Slack's requests into neutral ones and neutral replies into Block Kit.

No rule lives here: every request becomes a call to ``runtime.bot`` (``message``,
``action``, ``submit``), and every answer is rendered by ``render.py`` beside this file.
:func:`build` makes the :class:`SlackPlatform` (a :class:`bot.port.Platform`):

- HTTP mode: its ``routes()`` are ``POST /slack/events`` (commands, interactivity,
  events) for the Starlette app of ``incubot serve``. Bolt's synchronous ``dispatch``
  runs in Starlette's thread pool so it never blocks the event loop.
- Socket Mode (``SLACK_APP_TOKEN``): no route; ``start()`` connects the WebSocket, ``stop()`` closes it.
- Its ``sender`` (:class:`SlackSender`) posts direct messages and updates them in place.

Slack wants an ack within 3 s, and never resends a command or a click. So everything acked
before its work is done — commands, events (DMs, mentions, App Home), button clicks — is
first **stored** in the inbox (``storage/inbox.py``, one short transaction, keyed so that a
replay or Slack's retry of an event is a no-op), then acked, then processed by the inbox
workers (``bot/inbox.py``: a few threads that yield to requests waiting for their ack,
:class:`bot.inbox.AcksFirst`). A worker rebuilds what it needs from the stored request (the
``response_url`` of the answer, the clicked message), so after a restart the work is done
once and its answer still goes out. A modal submission is the exception: it is decided
*before* the ack (its field errors travel in the ack, ``response_action: errors``), in one
transaction with its inbox row (a replayed submission changes nothing); its confirmation is
sent after. A command that only reads (``budget``, ``aide``, ``en-attente``…: ``Bot.reads_only``) is
answered in its ack when it is alone (no other ack in flight, none begun in the 20 ms before) — at
once, nothing to store, nothing lost if the answer never leaves; in a burst it is stored and
answered after like any other: the acks go first, each answer at most half a second late. Requests
Slack never sends (not UTF-8, not JSON, missing fields) get 400 before Bolt parses them; a bad
signature 401. A command or a click, verified and parsed there, is stored and acked by
:class:`SlackEndpoint` itself (its ack is empty: Bolt's dispatch would only check and parse it
again); events and modals go through Bolt. Rendering and
Web API calls come after the ack. With Slack on, the outbox is delivered by background threads
(the composition root decides it: ``PLUG.deliver_in_background``), so a rate-limited Web API
never holds a request of any platform.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.background import TrackedExecutor
from bot.config import ConfigError, Settings
from bot.delivery import PlatformAddresses, Posted
from bot.inbox import AcksFirst, InboxWorkers
from bot.platforms.slack import render
from bot.port import Plug
from bot.runtime import Runtime
from handlers.types import Action, Button, Form, Reply, Request, Submission
from storage import inbox
from storage.models import InboxStatus

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
# A button that opens a form, for commands typed where Slack gives no trigger_id (DMs, mentions).
OPEN_FORM_ACTION = "incubot.open_form"
LISTENER_THREADS = 4  # Bolt's own pool: with process_before_response it only runs lazy listeners (none)
# The work after an ack (handlers, answers, Web API calls) runs on the inbox workers' few threads
# (runtime.inbox): listeners only store and ack, and a burst of slow commands never queues an ack behind them.
MAX_RETRY_AFTER = 60.0

log = logging.getLogger("incubot.slack")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


# --------------------------------------------------------------------------- Web API client


class _SleepInjected(RetryHandler):
    """Retry handlers whose pause is injected: tests record the pause, they do not take it."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, max_retry_count: int = 1) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep


class RetryAfterHandler(_SleepInjected, RateLimitErrorRetryHandler):
    """429 → wait what ``Retry-After`` says (bounded), then send again: no message lost to a rate limit."""

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        text = (header[0] if isinstance(header, list) and header else header) or "1"
        try:
            seconds = float(str(text))
        except ValueError:
            seconds = 1.0
        self.sleep(min(max(seconds, 0.0), MAX_RETRY_AFTER))
        state.increment_current_attempt()


class ServerErrorHandler(_SleepInjected, ServerErrorRetryHandler):
    """500/503 → back off (slack-sdk's interval calculator) and send again."""

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self.sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


def build_client(settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> WebClient:
    """The Web API client, on ``SLACK_API_URL``, retrying rate limits and server errors (pausing with ``sleep``)."""
    # slack-sdk joins method names to the base URL: without its final "/", ".../api" + "chat.update" loses "api".
    base_url = settings.slack_api_url.rstrip("/") + "/"
    client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=15)
    client.retry_handlers.append(RetryAfterHandler(max_retry_count=3, sleep=sleep))
    client.retry_handlers.append(ServerErrorHandler(max_retry_count=2, sleep=sleep))
    return client


# --------------------------------------------------------------------------- courier sender


class SlackSender(PlatformAddresses):
    """The courier's Slack side: direct messages, channel posts, updates in place."""

    platform = PLATFORM

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post_direct(self, user: str, reply: Reply, *, key: str | None = None) -> Posted:
        opened = self.client.conversations_open(users=user)
        return self.post_channel(opened["channel"]["id"], reply)

    def post_channel(self, channel: str, reply: Reply, *, key: str | None = None) -> Posted:
        if reply.files:
            return self._post_with_files(channel, reply)
        posted = self.client.chat_postMessage(channel=channel, **render.message(reply))
        return Posted(posted["channel"], posted["ts"])

    def _post_with_files(self, channel: str, reply: Reply) -> Posted:
        """The message and its files as one file share (upload v2: an upload URL per file, the bytes POSTed
        there, then ``files.completeUploadExternal`` with the message's blocks). Nothing shows before the
        last call, so a failure on the way leaves nothing behind and the outbox's retry posts it once."""
        message = render.message(reply)
        done = self.client.files_upload_v2(
            file_uploads=[{"content": f.data, "filename": f.filename, "title": f.filename} for f in reply.files],
            channel=channel, blocks=json.dumps(message["blocks"]))
        files = done.get("files") or []
        shares = (files[0].get("shares") or {}) if files else {}
        for where in (shares.get("private") or {}, shares.get("public") or {}):
            for share_channel, posts in where.items():
                if posts:
                    return Posted(share_channel, str(posts[0]["ts"]))
        # Slack may share the file a moment later: the file id stands for the message (never updated in place).
        return Posted(channel, f"file:{files[0]['id']}" if files else "")

    def update(self, channel: str, message_id: str, reply: Reply, *, key: str | None = None) -> None:
        self.client.chat_update(channel=channel, ts=message_id, **render.message(reply))


# --------------------------------------------------------------------------- the Bolt app


@dataclass(eq=False)
class SlackPlatform:
    """Slack as the core sees it (a :class:`bot.port.Platform`): the Bolt app, its client, the sender."""

    runtime: Runtime
    client: WebClient
    sender: SlackSender
    listeners: TrackedExecutor
    socket_mode: bool = False
    name: str = PLATFORM
    _socket: SocketModeHandler | None = field(default=None, init=False, repr=False)

    @property
    def inbox(self) -> InboxWorkers:
        return self.runtime.inbox

    @property
    def acks(self) -> AcksFirst:
        return self.runtime.acks

    @property
    def work(self) -> TrackedExecutor:
        """The inbox workers' threads (the work after the acks)."""
        return self.inbox.executor

    @cached_property
    def app(self) -> App:
        """The Bolt app, built on first use (building it calls ``auth.test``: ``incubot clock``,
        which only needs the sender, never builds it)."""
        app = build_app(self.runtime.settings, self.client, self.listeners, socket_mode=self.socket_mode)
        app.command(re.compile(r"^/"))(self.on_command)
        app.action(re.compile(r".+"))(self.on_action)
        app.view_submission(re.compile(r".+"))(self.on_submission)
        app.event("message")(self.on_message)
        app.event("app_mention")(self.on_mention)
        app.event("app_home_opened")(self.on_home)
        app.error(self.on_error)
        return app

    # ------------------------------------------------------------------ the port

    def routes(self) -> list[BaseRoute]:
        """``POST /slack/events`` in HTTP mode; none in Socket Mode (everything comes over the WebSocket)."""
        if self.socket_mode:
            return []
        endpoint = SlackEndpoint(self, self.app)  # built now: a configuration error stops `serve` at start
        return [Route(EVENTS_PATH, endpoint.handle, methods=["POST"])]

    def start(self) -> None:
        """Socket Mode: connect the WebSocket (background threads; HTTP keeps serving /healthz, /stats…)."""
        if not self.socket_mode or self._socket is not None:
            return
        self._socket = SocketModeHandler(self.app, self.runtime.settings.slack_app_token)
        self._socket.connect()
        log.info("slack: socket mode connected")

    def stop(self, timeout: float) -> bool:
        """Close the WebSocket, then let the listeners finish storing what they acked."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        try:
            self.listeners.join(timeout)
        except TimeoutError:
            return False
        return True

    def join(self, timeout: float = 30.0) -> None:
        """Wait until listeners, the work after acks and deliveries have finished (tests)."""
        background = self.runtime.background
        for _ in range(3):  # a listener hands work over, which kicks a delivery, which finishes last
            self.listeners.join(timeout)
            self.work.join(timeout)
            if background is not None:
                background.executor.join(timeout)

    def register(self) -> None:
        """What each kind of stored request does: decide (through ``runtime.bot``), then answer."""
        self.inbox.register("slack.command", self._decide_command, self._answer_command)
        self.inbox.register("slack.message", self._decide_event, self._answer_event)
        self.inbox.register("slack.mention", self._decide_event, self._answer_event)
        self.inbox.register("slack.home", self._decide_home, self._answer_home)
        self.inbox.register("slack.action", self._decide_action, self._answer_action)
        self.inbox.register("slack.open_form", self._decide_open_form, self._answer_open_form)
        self.inbox.register("slack.submission", lambda _payload: None, self._answer_submission)

    # ------------------------------------------------------------------ helpers

    @property
    def t(self) -> Callable[..., str]:
        return self.runtime.services.t

    @staticmethod
    def request_key(request: BoltRequest, body: dict[str, Any]) -> str:
        """What makes a request a replay of another: Slack's timestamp and the raw body, hashed.

        An event is keyed by its ``event_id`` instead (Slack's retries of an event differ in headers).
        """
        stamp = (request.headers.get("x-slack-request-timestamp") or [""])[0]
        raw = request.raw_body or json.dumps(body, sort_keys=True, ensure_ascii=False)
        return replay_key(body, stamp, raw)

    def _store(self, kind: str, request: BoltRequest, body: dict[str, Any], payload: dict[str, Any]) -> None:
        self.store(kind, self.request_key(request, body), payload)

    def acked(self, kind: str, key: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """What the ack of a command or a click carries: a read's answer (:meth:`answered_now`, nothing
        stored), or None once the request is stored — one trip off the event loop for both."""
        if kind == "slack.command":
            answer = self.answered_now(payload["body"])
            if answer is not None:
                return answer
        self.store(kind, key, payload)
        return None

    def store(self, kind: str, key: str, payload: dict[str, Any]) -> None:
        """Store before the ack (one short transaction); a replay stores nothing and is acked all the same."""
        if self.inbox.store(PLATFORM, key, kind, payload) is None:
            log.info("slack: %s already received (replay or retry): ignored", kind)

    @staticmethod
    def stored_now(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """(kind, payload) of a request that is only stored before its empty ack — a slash command or a
        click — so the endpoint can store it without a trip through Bolt; None for everything else."""
        if body.get("command") and body.get("user_id"):
            return "slack.command", {"body": body}
        if body.get("type") == "block_actions" and body.get("actions"):
            return SlackPlatform.click_kind(body), {"body": {k: v for k, v in body.items() if k != "message"}}
        return None

    @staticmethod
    def click_kind(body: dict[str, Any]) -> str:
        clicked = body["actions"][0]
        if render.neutral_action(clicked.get("action_id", "")) == OPEN_FORM_ACTION:
            return "slack.open_form"
        return "slack.action"

    @staticmethod
    def _respond(payload: dict[str, Any]) -> Respond:
        return Respond(response_url=payload["body"].get("response_url"))

    def _open_form(self, client: WebClient, trigger_id: str | None, form: Form, origin: dict[str, str]) -> bool:
        if not trigger_id:
            return False
        try:
            client.views_open(trigger_id=trigger_id,
                              view=render.modal(form, cancel_label=self.t("Annuler"), origin=origin))
        except SlackApiError as exc:  # the trigger expires after 3 s
            log.warning("views.open failed: %s", exc.response.get("error") if exc.response else exc)
            return False
        return True

    def _form_button(self, reply: Reply, command: str) -> Reply:
        """Where Slack gives no trigger_id, a button opens the form (its click brings one)."""
        return Reply(reply.text, reply.facts,
                     (Button(reply.form.title if reply.form else self.t("Ouvrir le formulaire"),
                             OPEN_FORM_ACTION, command[:2000], "primary"),),
                     None, reply.public)

    def _dm(self, client: WebClient, user: str, reply: Reply) -> None:
        client.chat_postMessage(channel=user, **render.message(reply))

    # ------------------------------------------------------------------ slash command

    def on_command(self, ack: Callable[..., None], body: dict[str, Any], request: BoltRequest) -> None:
        kind, payload = self.stored_now(body) or ("slack.command", {"body": body})
        ack(**(self.acked(kind, self.request_key(request, body), payload) or {}))

    def answered_now(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The answer of a command that only reads (``budget``, ``aide``…: ``Bot.reads_only``), to send in
        the ack itself — at once, with nothing stored, and nothing lost if it never leaves; None for a
        command whose work is stored and done after the ack."""
        text = render.unescape(body.get("text") or "")
        if not self.acks.alone() or not self.runtime.bot.reads_only(text):  # in a burst, the acks go first
            return None
        reply = self.runtime.bot.message(Request(PLATFORM, body["user_id"], text, body.get("channel_id")))
        return None if reply.form is not None else self._command_message(reply)

    @staticmethod
    def _command_message(reply: Reply) -> dict[str, Any]:
        return {**render.message(reply), "response_type": "in_channel" if reply.public else "ephemeral"}

    def _decide_command(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = payload["body"]
        text = render.unescape(body.get("text") or "")
        reply = self.runtime.bot.message(Request(PLATFORM, body["user_id"], text, body.get("channel_id")))
        return reply.to_dict()

    def _answer_command(self, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        body, reply = payload["body"], Reply.from_dict(answer)
        if reply.form is not None:
            if self._open_form(self.client, body.get("trigger_id"), reply.form,
                               {"channel": body.get("channel_id") or ""}):
                return
            reply = self._form_button(reply, render.unescape(body.get("text") or ""))
        self._respond(payload)(**self._command_message(reply))

    # ------------------------------------------------------------------ events

    def on_message(self, event: dict[str, Any], body: dict[str, Any], request: BoltRequest) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        self._store("slack.message", request, body, {"event": event, "direct": True})

    def on_mention(self, event: dict[str, Any], body: dict[str, Any], request: BoltRequest) -> None:
        if event.get("bot_id") or not event.get("user"):
            return
        self._store("slack.mention", request, body, {"event": event, "direct": False})

    def _decide_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        event = payload["event"]
        text = event.get("text") or ""
        if not payload["direct"]:
            text = _MENTION.sub(" ", text, count=1).strip()
        text = render.unescape(text)
        reply = self.runtime.bot.message(Request(PLATFORM, event["user"], text, event["channel"]))
        if reply.form is not None:
            reply = self._form_button(reply, text)
        return reply.to_dict()

    def _answer_event(self, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        event, reply = payload["event"], Reply.from_dict(answer)
        user, channel = event["user"], event["channel"]
        if payload["direct"]:
            self.client.chat_postMessage(channel=channel, **render.message(reply))
        elif reply.public:
            self.client.chat_postMessage(channel=channel, thread_ts=event.get("thread_ts") or event.get("ts"),
                                         **render.message(reply))
        else:
            self.client.chat_postEphemeral(channel=channel, user=user, **render.message(reply))

    def on_home(self, event: dict[str, Any], body: dict[str, Any], request: BoltRequest) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        self._store("slack.home", request, body, {"user": event["user"]})

    def home_sections(self, user: str) -> list[tuple[str, Reply]]:
        """What waits for me, the budget, the next committee: the same commands as in chat."""
        sections: list[tuple[str, Reply]] = []
        for title, command in ((self.t("Ce qui vous attend"), "en-attente"),
                               (self.t("Budget"), "budget"),
                               (self.t("Prochain comité"), "comite")):
            reply = self.runtime.bot.message(Request(PLATFORM, user, command))
            if sections and reply.text == sections[-1][1].text:  # a stranger: one explanation is enough
                continue
            sections.append((title, reply))
        return sections

    def publish_home(self, client: WebClient, user: str) -> None:
        client.views_publish(user_id=user, view=render.home_view(self.home_sections(user)))

    def _decide_home(self, payload: dict[str, Any]) -> list[list[Any]]:
        return [[title, reply.to_dict()] for title, reply in self.home_sections(payload["user"])]

    def _answer_home(self, payload: dict[str, Any], answer: list[list[Any]]) -> None:
        sections = [(str(title), Reply.from_dict(reply)) for title, reply in answer]
        self.client.views_publish(user_id=payload["user"], view=render.home_view(sections))

    # ------------------------------------------------------------------ buttons

    def on_action(self, ack: Callable[..., None], body: dict[str, Any], request: BoltRequest) -> None:
        # Slack never resends a click: it is stored before the ack (durable), decided after, by a worker —
        # so a burst of clicks is acked in milliseconds and none is lost to a restart.
        kind, payload = self.stored_now(body) or (self.click_kind(body), {"body": body})
        self._store(kind, request, body, payload)
        ack()

    @staticmethod
    def _clicked(body: dict[str, Any]) -> tuple[str, str, str]:
        clicked = body["actions"][0]
        return body["user"]["id"], render.neutral_action(clicked.get("action_id", "")), clicked.get("value") or ""

    def _decide_action(self, payload: dict[str, Any]) -> dict[str, Any]:
        user, action, value = self._clicked(payload["body"])
        return self.runtime.bot.action(Action(PLATFORM, user, action, value)).to_dict()

    def _answer_action(self, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        self._show_click_result(payload["body"], self._respond(payload), self.client, Reply.from_dict(answer))

    def _decide_open_form(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = payload["body"]
        user, _action, command = self._clicked(body)
        return self.runtime.bot.message(Request(PLATFORM, user, command, self._channel_of(body) or None)).to_dict()

    def _answer_open_form(self, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        body, reply = payload["body"], Reply.from_dict(answer)
        user, channel = body["user"]["id"], self._channel_of(body)
        if reply.form is not None and self._open_form(self.client, body.get("trigger_id"), reply.form,
                                                      {"channel": channel}):
            return
        self._tell(self.client, body, self._respond(payload), user, reply)

    @staticmethod
    def _channel_of(body: dict[str, Any]) -> str:
        container = body.get("container") or {}
        return str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")

    def _show_click_result(self, body: dict[str, Any], respond: Callable[..., Any], client: WebClient,
                           reply: Reply) -> None:
        """What the clicker is told. The clicked message itself is never changed here: a decision
        updates every copy of its request through the outbox (one ``chat.update`` per copy)."""
        user, channel = body["user"]["id"], self._channel_of(body)
        container = body.get("container") or {}
        if reply.form is not None and not self._open_form(client, body.get("trigger_id"), reply.form,
                                                          {"channel": channel}):
            self._tell(client, body, respond, user,
                       Reply(self.t("Le formulaire n'a pas pu s'ouvrir : cliquez à nouveau.")))
        if container.get("type") == "view" and reply.form is None:  # a button of the App Home: show it anew
            self.publish_home(client, user)
        if reply.silent:
            return
        if container.get("is_ephemeral") and body.get("response_url"):
            # A button in an ephemeral answer (« en attente »): what the click did takes that answer's place.
            respond(**render.message(reply), replace_original=True)
        else:
            self._tell(client, body, respond, user, reply)

    def _tell(self, client: WebClient, body: dict[str, Any], respond: Callable[..., Any], user: str,
              reply: Reply) -> None:
        """Only the clicker sees it: ephemeral where the click happened, else a direct message."""
        if body.get("response_url"):
            respond(**render.message(reply), response_type="ephemeral", replace_original=False)
        else:
            self._dm(client, user, reply)

    # ------------------------------------------------------------------ modals

    def on_submission(self, ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any],
                      request: BoltRequest) -> None:
        """Decided before the ack (its field errors travel in the ack), in one transaction with its inbox
        row: a replayed submission finds the row and changes nothing; the confirmation is sent after."""
        user = body["user"]["id"]
        meta = render.modal_metadata(view)
        key = self.request_key(request, body)
        with self.inbox.joined() as session:
            now = self.runtime.services.clock()
            item_id = inbox.put(session=session, platform=PLATFORM, key=key, kind="slack.submission", payload={},
                                now=now, status=InboxStatus.DONE)
            if item_id is None:
                log.info("slack: view_submission already received (replay): ignored")
                result = None
            else:
                session.keep()  # a refusal rolls the handler's work back, not our row
                result = self.runtime.bot.submit(
                    Submission(PLATFORM, user, meta["callback"], meta["value"], render.submitted_values(view)))
                if result.errors:
                    session.rollback_all()  # nothing stored: the corrected form is submitted again
                elif not result.silent:
                    answer = {"channel": meta.get("channel") or "", "user": user, "answer": result.to_dict()}
                    item_id = inbox.answer_later(session=session, item_id=item_id, platform=PLATFORM, key=key,
                                                 kind="slack.submission", payload=answer, now=now)
                else:
                    item_id = None
        if result is not None and result.errors:
            ack(response_action="errors", errors=render.field_errors(result.errors, view))
            return
        ack()  # the modal closes when this listener returns: posting the reply comes after
        # Nothing to update here: the courier updates every copy of the subject.
        self.runtime.services.deliver()
        if item_id is not None:
            self.inbox.kick(item_id)

    def _answer_submission(self, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        self._ephemeral(self.client, payload["channel"], payload["user"], Reply.from_dict(answer))

    def _ephemeral(self, client: WebClient, channel: str, user: str, reply: Reply) -> None:
        """Only ``user`` sees it, where the form came from; a direct message where the bot may not post."""
        if channel:
            try:
                client.chat_postEphemeral(channel=channel, user=user, **render.message(reply))
                return
            except SlackApiError as exc:  # not_in_channel, channel_not_found: the bot is not there
                log.info("ephemeral in %s refused (%s): direct message instead", channel,
                         exc.response.get("error") if exc.response else exc)
        self._dm(client, user, reply)

    def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("slack listener failed (type=%s)", body.get("type") or body.get("command"), exc_info=error)


class _ClientGiven(logging.Filter):
    """Bolt warns that ``SLACK_BOT_TOKEN`` is unused when a client is given: it is the client's token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def check_token(settings: Settings, client: WebClient) -> None:
    """``auth.test`` once at start: a token Slack refuses stops the start with one sentence (ConfigError);
    Slack unreachable or failing (network, 5xx) does not — the other platforms start, Bolt asks
    ``auth.test`` again with the first request, and the outbox keeps what Slack cannot take yet."""
    try:
        client.auth_test()
    except SlackApiError as exc:
        if exc.response.status_code < 500:
            error = exc.response.get("error") or exc.response.status_code
            raise ConfigError(settings.t(
                "Slack refuse SLACK_BOT_TOKEN ({error}) : mettez le jeton « Bot User OAuth Token » de l'application "
                "Slack (xoxb-…), puis relancez.", error=error)) from None
        log.warning("slack: auth.test answered %s at start; starting anyway", exc.response.status_code)
    except OSError as exc:  # urllib's URLError, a timeout, a refused connection
        log.warning("slack: unreachable at start (%s); starting anyway, Slack will be tried again", exc)


def build_app(settings: Settings, client: WebClient, executor: TrackedExecutor, *, socket_mode: bool) -> App:
    """The Bolt app. Built by this factory only, after :func:`check_token` (Bolt's own check at
    construction would stop the whole process on any failure, with a traceback)."""
    if not socket_mode and not settings.slack_signing_secret:
        raise ConfigError(settings.t("Slack en HTTP a besoin de SLACK_SIGNING_SECRET pour vérifier les requêtes."))
    check_token(settings, client)
    bolt_log = logging.getLogger("incubot.slack.bolt")
    if not any(isinstance(f, _ClientGiven) for f in bolt_log.filters):
        bolt_log.addFilter(_ClientGiven())
    return App(
        token=settings.slack_bot_token,
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # In Socket Mode nothing arrives over HTTP: the WebSocket is authenticated by the app token.
        request_verification_enabled=not socket_mode,
        # Listeners store the request in the inbox, ack and return: the ack goes out as soon as the
        # listener returns, without Bolt's 10 ms ack polling and without a hop through its thread pool.
        process_before_response=True,
        listener_executor=executor,
        logger=bolt_log,
        name="incubot",
        token_verification_enabled=False,  # check_token did it; Bolt's authorization asks again when needed
    )


def build(runtime: Runtime, *, sleep: Callable[[float], None] = time.sleep) -> SlackPlatform:
    """Slack on ``runtime``: its client (pausing with ``sleep`` between retries), sender and inbox processors."""
    settings = runtime.settings
    client = build_client(settings, sleep=sleep)
    slack = SlackPlatform(runtime, client, SlackSender(client), TrackedExecutor(LISTENER_THREADS, "incubot-slack"),
                          socket_mode=settings.slack_socket_mode)
    slack.register()
    return slack


PLUG = Plug(PLATFORM, enabled=lambda settings: settings.slack_enabled, build=build, deliver_in_background=True)


class SlackEndpoint:
    def __init__(self, slack: SlackPlatform, app: App) -> None:
        self.slack = slack
        self.app = app
        self.verifier = SignatureVerifier(slack.runtime.settings.slack_signing_secret or "")

    async def handle(self, request: HTTPRequest) -> Response:
        body = await request.body()  # bounded by bot/limits.py before anything reads it
        checked = self.verified(body, request.headers)
        if isinstance(checked, Response):
            return checked
        text, parsed = checked
        self.slack.acks.enter()
        try:
            # A command or a click is only stored before its empty ack: verified and parsed once, just
            # above, it needs nothing of Bolt's dispatch (a second signature check, a second parse,
            # middleware, listener matching) — the ack is one HMAC and one INSERT.
            direct = SlackPlatform.stored_now(parsed) if isinstance(parsed, dict) else None
            if direct is not None:
                key = replay_key(parsed, request.headers.get("x-slack-request-timestamp", ""), text)
                answer = await run_in_threadpool(self.slack.acked, direct[0], key, direct[1])
                return Response(status_code=200) if answer is None else JSONResponse(answer)
            # Bolt is synchronous (signature check, listeners): keep it off the event loop.
            bolt_response = await run_in_threadpool(self.app.dispatch, to_bolt_request(request, body))
        finally:
            self.slack.acks.leave()
        return to_starlette_response(bolt_response)

    def verified(self, raw: bytes, headers: Mapping[str, str]) -> Response | tuple[str, Any]:
        """401 for a bad signature, 400 for what Slack never sends; else the body as text and parsed.

        Checked here because Bolt parses a body (JSON, ``payload=``) before its signature check
        and its listeners trust the shapes: a malformed request would be a 500 with a traceback.
        """
        stamp = headers.get("x-slack-request-timestamp", "")
        if stamp and not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return _bad("X-Slack-Request-Timestamp is not an integer")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _bad("the body is not UTF-8")
        if not stamp or not self.verifier.is_valid(text, stamp, headers.get("x-slack-signature", "")):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            body = _parse(text, headers.get("content-type", ""))
        except (ValueError, RecursionError):
            return _bad("the body is not what Slack sends (form or JSON)")
        reason = _shape_problem(body)
        return (text, body) if reason is None else _bad(reason)


def replay_key(body: dict[str, Any], stamp: str, raw: str) -> str:
    """What makes a request a replay of another: Slack's timestamp and the raw body, hashed; an event
    by its ``event_id`` (Slack's retries of an event differ in headers)."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    return "sha256:" + hashlib.sha256(f"{stamp}:{raw}".encode()).hexdigest()


def _bad(reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=400)


def _parse(text: str, content_type: str) -> Any:
    if content_type.startswith("application/json") or (not content_type and text.lstrip().startswith("{")):
        return json.loads(text)  # too deep: RecursionError, a 400
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return json.loads(form["payload"])
    return form


def _shape_problem(body: Any) -> str | None:
    """Why ``body`` is not a request our listeners can read, or None."""
    if not isinstance(body, dict):
        return "a JSON object is expected"
    if "command" in body:  # a slash command
        if not all(isinstance(body.get(k), str) and body.get(k) for k in ("command", "user_id")):
            return "a slash command needs command and user_id"
        return None
    kind = body.get("type")
    if kind in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action"):
        user = body.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
            return "user.id is missing"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict) \
                or not isinstance(actions[0].get("action_id", ""), str) \
                or not isinstance(actions[0].get("value", ""), str):
            return "actions is empty or malformed"
        for key in ("container", "channel"):
            if body.get(key) is not None and not isinstance(body[key], dict):
                return f"{key} is malformed"
    if kind == "view_submission":
        view = body.get("view")
        state = view.get("state", {}) if isinstance(view, dict) else None
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str) \
                or not isinstance(view.get("private_metadata", ""), str) \
                or not isinstance(state, dict) or not isinstance(state.get("values", {}), dict):
            return "view is missing or malformed"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event is missing or malformed"
        for key in ("user", "channel", "text", "ts", "thread_ts", "channel_type", "tab", "subtype", "bot_id"):
            if event.get(key) is not None and not isinstance(event[key], str):
                return f"event.{key} is malformed"
        if body.get("event_id") is not None and not isinstance(body["event_id"], str):
            return "event_id is malformed"
    if kind is None and "command" not in body and "ssl_check" not in body:
        return "not a Slack request"
    return None
